package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Response headers of the easel contract that the probe reads.
const (
	headerServedBy = "X-Served-By"
	headerSession  = "X-Session"
	headerCSRF     = "X-CSRF-Token"
)

// Values of the X-Session header.
const (
	sessionNew  = "new"
	sessionHit  = "hit"
	sessionMiss = "miss"
)

// maxBody bounds what the probe reads of one response.
const maxBody = 32 << 20

// user is one virtual user: its own cookie jar and its own connections,
// bound to its source address when one is configured.
type user struct {
	id      int
	base    *url.URL
	host    string // Host header override; "" keeps base's
	client  *http.Client
	jar     http.CookieJar
	retries int
	backoff time.Duration
	// busyRetries bounds the retries of answers that say "busy" (a
	// replica's 503, or 429), each after its Retry-After.
	busyRetries int
	rec         *recorder
}

// newUser builds user id with a fresh cookie jar and transport.
func newUser(id int, cfg Config, base *url.URL, rec *recorder) (*user, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("creating cookie jar: %w", err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if len(cfg.SourceIPs) > 0 {
		dialer.LocalAddr = &net.TCPAddr{IP: cfg.SourceIPs[id%len(cfg.SourceIPs)]}
	}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
		DisableKeepAlives:   cfg.Connections == ConnectionsPerRequest,
	}
	if cfg.Host != "" {
		tr.TLSClientConfig = &tls.Config{ServerName: hostname(cfg.Host)}
	}
	return &user{
		id:   id,
		base: base,
		host: cfg.Host,
		client: &http.Client{
			Jar:     jar,
			Timeout: cfg.Timeout,
			// The probe follows redirects itself, to check the 303 and time
			// the GET that follows it as its own step.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     tr,
		},
		jar:         jar,
		retries:     cfg.Retries,
		backoff:     cfg.RetryBackoff,
		busyRetries: cfg.BusyRetries,
		rec:         rec,
	}, nil
}

// close releases the user's idle connections.
func (u *user) close() { u.client.CloseIdleConnections() }

// hasCookie reports whether the user would present a cookie to the service.
func (u *user) hasCookie() bool { return len(u.jar.Cookies(u.base)) > 0 }

// result is the outcome of one logical request, after any retries.
type result struct {
	status   int
	header   http.Header
	body     []byte
	servedBy string
	session  string
	latency  time.Duration // all attempts and pauses, as the user waited
	attempts int
	err      error // transport error of the last attempt, if any
	// hadCookie records whether the user presented a session cookie.
	hadCookie bool
}

// retryable reports whether a browser user would simply try again: the
// connection failed, or the proxy (not a replica, which would have set
// X-Served-By) answered 502, 503 or 504.
func retryable(status int, h http.Header, err error) bool {
	if err != nil {
		return true
	}
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return h.Get(headerServedBy) == ""
	}
	return false
}

// busy reports whether an answer means "not now, retry later": a replica
// (X-Served-By is set) answered 503, such as a full memory budget, or
// anyone answered 429. Nothing was done, so a retry is safe even for an
// edit; easel says when in Retry-After.
func busy(status int, h http.Header) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && h.Get(headerServedBy) != ""
}

// maxRetryAfter caps the pause a Retry-After may ask for.
const maxRetryAfter = 30 * time.Second

// retryAfter is the pause a busy answer asks for: its Retry-After in
// seconds or as an HTTP date, 1 s when absent or unreadable, at most
// maxRetryAfter.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	d := time.Second
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}

// do runs one logical request of step, building a fresh request per
// attempt (bodies cannot be replayed), and retries as retryable says, at
// most u.retries times with doubling backoff, and busy answers (503 from a
// replica, 429) at most u.busyRetries times after their Retry-After. Every
// attempt is recorded.
func (u *user) do(ctx context.Context, step string, build func(context.Context) (*http.Request, error)) result {
	start := time.Now()
	var res result
	res.hadCookie = u.hasCookie()
	netRetries, busyRetries := 0, 0
retrying:
	for attempt := 0; ; attempt++ {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, err := build(httptrace.WithClientTrace(ctx, trace))
		if err != nil {
			res.err = fmt.Errorf("building %s request: %w", step, err)
			res.latency = time.Since(start)
			return res
		}
		if u.host != "" {
			req.Host = u.host
		}
		t0 := time.Now()
		resp, err := u.client.Do(req)
		var status int
		var h http.Header
		var body []byte
		if err == nil {
			status, h = resp.StatusCode, resp.Header
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
			_ = resp.Body.Close()
			if err != nil {
				err = fmt.Errorf("reading %s response: %w", step, err)
			}
		}
		u.rec.attempt(attemptRecord{
			step:     step,
			at:       u.rec.since(t0),
			latency:  time.Since(t0),
			status:   status,
			servedBy: h.Get(headerServedBy),
			session:  h.Get(headerSession),
			failed:   err != nil,
			errKind:  classifyError(err),
			errMsg:   errString(err),
			reused:   reused,
			retry:    attempt > 0,
		})
		res.status, res.header, res.body, res.err = status, h, body, err
		res.attempts = attempt + 1
		if h != nil {
			res.servedBy, res.session = h.Get(headerServedBy), h.Get(headerSession)
		} else {
			res.servedBy, res.session = "", ""
		}
		if ctx.Err() != nil {
			break
		}
		var pause time.Duration
		switch {
		case err == nil && busy(status, h):
			if busyRetries >= u.busyRetries {
				break retrying
			}
			busyRetries++
			pause = retryAfter(h)
		case retryable(status, h, err) && netRetries < u.retries:
			pause = u.backoff << netRetries
			netRetries++
		default:
			break retrying
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.latency = time.Since(start)
	if res.err == nil && res.status == 0 && ctx.Err() != nil {
		res.err = ctx.Err()
	}
	u.rec.step(stepRecord{step: step, latency: res.latency})
	return res
}

// classifyError names a connection-level failure for the report: refused,
// reset (including a broken pipe), eof, closed, timeout or other; "" for no
// error.
//
// "closed" is Go's "use of closed network connection": the transport closed
// the connection (its reader saw the peer close it) while the request was
// being written on it. On a reused keep-alive connection that is the same
// race as a reset or an EOF there: the proxy closed an idle connection (nginx
// does on every reload) just as the request went out.
func classifyError(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

// errString is err's message, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hostname is host without its port.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// get is do for a GET of path (resolved against the base URL).
func (u *user) get(ctx context.Context, step, path string, accept string) result {
	return u.do(ctx, step, func(ctx context.Context) (*http.Request, error) {
		ref, err := url.Parse(path)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", path, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base.ResolveReference(ref).String(), nil)
		if err != nil {
			return nil, err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		return req, nil
	})
}
