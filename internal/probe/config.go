package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/photo"
)

// Flow names accepted by Config.Flow.
const (
	// FlowWeb is the browser flow: GET / (form and CSRF token), POST /image,
	// follow the 303 to GET /image and find the user's image on the page,
	// then edits and checks through the JSON API.
	FlowWeb = "web"
	// FlowAPI is the pure API flow: GET /api/v1/workspace (CSRF token), POST
	// /api/v1/image, GET /api/v1/workspace, edits, checks.
	FlowAPI = "api"
)

// Connection models accepted by Config.Connections.
const (
	// ConnectionsPerUser keeps each user's connections alive between
	// requests, as a browser does. A per-connection balancer (a Kubernetes
	// Service through kube-proxy, an L4 load balancer) then pins every user
	// to one backend, which hides inconsistency between replicas.
	ConnectionsPerUser = "per-user"
	// ConnectionsPerRequest opens a new connection for every request, as
	// many API clients, scripts and short-lived processes do. It makes a
	// per-connection balancer spread one user's requests over backends, so
	// that it shows what a per-request (L7) balancer shows.
	ConnectionsPerRequest = "per-request"
)

// Config says what the probe does. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	// URL is the base URL of the service or of the balancer in front of it.
	URL string
	// Host, when set, is sent as the Host header (and TLS server name)
	// instead of URL's host: for an Ingress rule with a host name, reached
	// through an address that DNS does not know it by.
	Host string
	// Users is the number of concurrent virtual users.
	Users int
	// Iterations is how many flows each user runs; ignored when Duration is
	// set.
	Iterations int
	// Duration, when positive, makes every user start flows until it has
	// passed.
	Duration time.Duration
	// Rate limits how many flows start per second across all users; 0 means
	// no limit.
	Rate float64
	// Edits is the number of edits per flow; 0 skips the edit and workspace
	// steps entirely.
	Edits int
	// Composite adds a built-in composite (a background replacement) after
	// the edits: submitted as a job, polled until it ends (the polls may
	// land on any replica), and checked to be the last edit.
	Composite bool
	// Download adds a final step that downloads the rendered image.
	Download bool
	// Flow is FlowWeb or FlowAPI.
	Flow string
	// Connections is ConnectionsPerUser (keep-alive) or
	// ConnectionsPerRequest (a new connection for every request).
	Connections string
	// SourceIPs are the local addresses users bind their connections to, user
	// i taking SourceIPs[i % len]. Empty means the system's choice.
	SourceIPs []net.IP
	// Retries is how many times a request that fails at the connection level,
	// or gets 502/503/504 from the proxy (no X-Served-By header), is retried.
	Retries int
	// RetryBackoff is the pause before the first retry; it doubles per retry.
	RetryBackoff time.Duration
	// BusyRetries is how many times a request that a replica answers 503
	// (busy: its memory budget is full, say) or that gets 429 is retried,
	// each after the answer's Retry-After (at most 30 s). Such answers are
	// counted apart (Result.Busy, Result.RateLimited), not as failures.
	BusyRetries int
	// Timeout bounds every single request.
	Timeout time.Duration
	// ExpectedReplicas, when positive, is the number of replicas the load
	// should spread over; it makes Imbalance count replicas that served
	// nothing.
	ExpectedReplicas int
	// ImageWidth and ImageHeight are the size of the generated uploads.
	ImageWidth, ImageHeight int
	// Photo makes the uploads photo-like JPEGs (gradients and grain, as a
	// camera's; a 48 MP one is about 13 MiB) instead of small PNGs, and
	// the download a full-size JPEG: a load test with what phones send.
	// One photo is made per run and each flow uploads it with its own
	// comment segment, so that every upload is still a distinct image.
	Photo bool
}

// DefaultConfig returns the defaults of `easel probe`.
func DefaultConfig() Config {
	return Config{
		URL:          "http://127.0.0.1:8080",
		Users:        10,
		Iterations:   5,
		Edits:        2,
		Flow:         FlowWeb,
		Connections:  ConnectionsPerUser,
		Retries:      3,
		RetryBackoff: 100 * time.Millisecond,
		BusyRetries:  8,
		Timeout:      15 * time.Second,
		ImageWidth:   64,
		ImageHeight:  48,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return fmt.Errorf("url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("url %q: want http(s)://host[:port]", c.URL)
	case c.Host != "" && !validHost(c.Host):
		return fmt.Errorf("host %q: want a host name, optionally with :port (no scheme or path)", c.Host)
	case c.Users < 1:
		return errors.New("users must be at least 1")
	case c.Duration <= 0 && c.Iterations < 1:
		return errors.New("iterations must be at least 1 when no duration is given")
	case c.Rate < 0:
		return errors.New("rate must not be negative")
	case c.Edits < 0:
		return errors.New("edits must not be negative")
	case c.Flow != FlowWeb && c.Flow != FlowAPI:
		return fmt.Errorf("flow %q: want %q or %q", c.Flow, FlowWeb, FlowAPI)
	case c.Connections != ConnectionsPerUser && c.Connections != ConnectionsPerRequest:
		return fmt.Errorf("connections %q: want %q or %q", c.Connections, ConnectionsPerUser, ConnectionsPerRequest)
	case c.Retries < 0:
		return errors.New("retries must not be negative")
	case c.BusyRetries < 0:
		return errors.New("busy-retries must not be negative")
	case c.Timeout <= 0:
		return errors.New("timeout must be positive")
	case !c.Photo && (c.ImageWidth < 8 || c.ImageHeight < 8 || c.ImageWidth > 4096 || c.ImageHeight > 4096):
		return errors.New("image size must be between 8 and 4096 pixels per side (up to 16384 with photo)")
	case c.Photo && (c.ImageWidth < 8 || c.ImageHeight < 8 || c.ImageWidth > photo.MaxEdge || c.ImageHeight > photo.MaxEdge):
		return fmt.Errorf("photo size must be between 8 and %d pixels per side", photo.MaxEdge)
	}
	return nil
}

// validHost reports whether h is a bare host[:port].
func validHost(h string) bool {
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.Hostname() != "" && u.User == nil
}

// maxSourceIPs bounds a --source-ips expansion; a user needs at most one.
const maxSourceIPs = 1 << 16

// ParseSourceIPs parses a comma-separated list of IPv4 addresses and
// inclusive ranges, such as "127.0.0.2-127.0.0.60" or
// "127.0.1.1,127.0.2.1,127.0.3.1".
//
// nginx's ip_hash keys on the first three octets of an IPv4 address, so
// users on 127.0.0.2-127.0.0.60 all look like one client to it (the NAT
// case). To give ip_hash distinct clients, list addresses that differ in the
// third octet ("127.0.1.1,127.0.2.1,…"), or use SpreadIPs.
func ParseSourceIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseIPv4(lo)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = parseIPv4(hi); err != nil {
				return nil, err
			}
		}
		if last < first {
			return nil, fmt.Errorf("source ip range %q runs backwards", part)
		}
		if int(last-first)+1+len(out) > maxSourceIPs {
			return nil, fmt.Errorf("source ip range %q has more than %d addresses", part, maxSourceIPs)
		}
		for v := first; ; v++ {
			ip := make(net.IP, 4)
			binary.BigEndian.PutUint32(ip, v)
			out = append(out, ip)
			if v == last {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no source ips given")
	}
	return out, nil
}

// parseIPv4 parses one dotted IPv4 address into a number.
func parseIPv4(s string) (uint32, error) {
	ip := net.ParseIP(strings.TrimSpace(s)).To4()
	if ip == nil {
		return 0, fmt.Errorf("source ip %q is not an IPv4 address", s)
	}
	return binary.BigEndian.Uint32(ip), nil
}

// SpreadIPs returns n loopback addresses 127.0.1.1, 127.0.2.1, … that differ
// in the third octet, so that nginx's ip_hash sees n distinct clients. n is
// capped at 254.
func SpreadIPs(n int) []net.IP {
	n = max(0, min(n, 254))
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, byte(i+1), 1).To4()
	}
	return out
}

// ParseSize parses an image size written "WIDTHxHEIGHT", such as
// "8064x6048".
func ParseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w < 1 || h < 1 {
		return 0, 0, fmt.Errorf("image size %q: want WIDTHxHEIGHT in pixels, such as 8064x6048", s)
	}
	return w, h, nil
}
