package cluster

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// backends starts n httptest servers that answer with their index.
func backends(t *testing.T, n int) []Upstream {
	t.Helper()
	var ups []Upstream
	for i := 0; i < n; i++ {
		name := string(rune('a' + i))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", name)
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		ups = append(ups, Upstream{Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	return ups
}

func requireBinary(t *testing.T, name string) {
	t.Helper()
	if _, err := LookPath(name); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// servedBy GETs url from local address src (nil: any) and returns the body.
func servedBy(t *testing.T, url string, src net.IP) string {
	t.Helper()
	d := &net.Dialer{}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestNginxRoundRobinAndReload(t *testing.T) {
	t.Parallel()
	requireBinary(t, "nginx")
	ups := backends(t, 3)
	ctx := context.Background()
	n, err := StartNginx(ctx, t.TempDir(), RoundRobin, ups)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })

	seen := map[string]int{}
	for i := 0; i < 30; i++ {
		seen[servedBy(t, n.URL(), nil)]++
	}
	if len(seen) != 3 {
		t.Fatalf("round robin reached %v, want all of a, b, c", seen)
	}

	ups[0].Down, ups[1].Down = true, true
	if err := n.Reload(ctx, ups); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if got := servedBy(t, n.URL(), nil); got != "c" {
			t.Fatalf("after taking a and b down, request %d went to %q", i, got)
		}
	}
}

func TestNginxIPHash(t *testing.T) {
	t.Parallel()
	requireBinary(t, "nginx")
	ups := backends(t, 3)
	n, err := StartNginx(context.Background(), t.TempDir(), IPHash, ups)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })

	tests := []struct {
		name    string
		src     func(i int) net.IP
		minSeen int
		maxSeen int
	}{
		// ip_hash keys on the first three octets: one /24 is one client.
		{"same /24", func(i int) net.IP { return net.IPv4(127, 0, 0, byte(2+i)) }, 1, 1},
		{"distinct /24s", func(i int) net.IP { return net.IPv4(127, 0, byte(1+i), 1) }, 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 30; i++ {
				src := tc.src(i)
				first := servedBy(t, n.URL(), src)
				if again := servedBy(t, n.URL(), src); again != first {
					t.Fatalf("%v went to %s, then to %s", src, first, again)
				}
				seen[first] = true
			}
			if len(seen) < tc.minSeen || len(seen) > tc.maxSeen {
				t.Fatalf("reached %d replicas, want %d..%d", len(seen), tc.minSeen, tc.maxSeen)
			}
		})
	}
}

func TestNginxConfigIsValid(t *testing.T) {
	t.Parallel()
	requireBinary(t, "nginx")
	bin, _ := LookPath("nginx")
	for _, b := range []Balance{RoundRobin, IPHash} {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.Mkdir(dir+"/tmp", 0o755); err != nil {
				t.Fatal(err)
			}
			n := &Nginx{Addr: "127.0.0.1:1", Dir: dir, balance: b, gen: 1}
			if err := n.writeConfig([]Upstream{{Addr: "127.0.0.1:2"}, {Addr: "127.0.0.1:3", Down: true}}); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-t", "-p", dir+"/", "-c", n.confPath(), "-e", dir+"/error.log").CombinedOutput()
			if err != nil {
				t.Fatalf("nginx -t: %v\n%s", err, out)
			}
		})
	}
}
