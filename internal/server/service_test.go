package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
)

// TestEveryResponseIsLabelled: the consistency headers and the security
// headers are on every kind of response, errors included.
func TestEveryResponseIsLabelled(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "labelled", nil)
	b := newBrowser(t)
	for path, wantSession := range map[string]string{
		"/": "new", "/image": "new", "/api/v1/workspace": "new", "/healthz": "none", "/readyz": "none",
		"/metrics": "none", "/blobs/nope": "none", "/no/such/page": "none", "/api/openapi.yaml": "none", "/static/easel.css": "none",
	} {
		p := newBrowser(t).get(srv.URL + path)
		if p.header.Get("X-Served-By") != "labelled" || p.header.Get("X-Session") != wantSession {
			t.Errorf("%s: X-Served-By %q X-Session %q, want labelled %s", path, p.header.Get("X-Served-By"), p.header.Get("X-Session"), wantSession)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: security headers missing", path)
		}
		if p.status >= 500 {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	b.get(srv.URL + "/")
	m := b.get(srv.URL + "/metrics").body
	for _, want := range []string{`easel_sessions_total{result="new"}`, `easel_http_requests_total{code="200",method="GET",route="/"}`, "easel_store_operation_duration_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestGracefulShutdown: after the signal, /readyz fails at once while
// requests are still served for the drain delay; then Run returns.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	env := map[string]string{"EASEL_DRAIN_DELAY": "500ms", "EASEL_SHUTDOWN_TIMEOUT": "2s", "EASEL_POD_NAME": "drainer"}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	b := newBrowser(t)
	if p := b.get(url + "/readyz"); p.status != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", p.status)
	}
	cancel()
	time.Sleep(100 * time.Millisecond)
	if p := b.get(url + "/readyz"); p.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", p.status)
	}
	if p := b.get(url + "/"); p.status != http.StatusOK {
		t.Errorf("a page while draining: %d, want 200 (requests still arrive while endpoints update)", p.status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain delay and shutdown")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}
