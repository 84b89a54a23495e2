package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/testutil"
)

// durableRedis is a redis-server that writes every change to its append-only
// file, so that it can be stopped and started again on the same port with
// its data intact: a Redis restart, not a Redis wipe.
type durableRedis struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startDurableRedis(t *testing.T) *durableRedis {
	r := &durableRedis{t: t, bin: testutil.Require(t, "redis-server"), dir: t.TempDir()}
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r.port = port
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *durableRedis) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

func (r *durableRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for cluster.Ping(ctx, r.addr()) != nil {
		if ctx.Err() != nil {
			r.t.Fatalf("redis-server on %s did not answer", r.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *durableRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// TestRedisOutage: with Redis gone, /readyz fails and stateful requests get
// 503 with Retry-After (never a 500, a panic or an emptied session); when
// Redis is back, the same process serves the same session again.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	r := startDurableRedis(t)
	srv := newReplica(t, "replica", redisEnv(r.addr()))
	b := newBrowser(t)
	img := testPNG(t, 16, 16, 5)
	csrf := b.csrf(srv.URL)
	if p := b.uploadForm(srv.URL+"/image", img, map[string]string{"csrf_token": csrf}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}

	r.stop()
	if p := b.get(srv.URL + "/readyz"); p.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", p.status)
	}
	if p := b.get(srv.URL + "/healthz"); p.status != http.StatusOK {
		t.Errorf("/healthz with Redis down: %d, want 200 (the process is fine)", p.status)
	}
	for _, path := range []string{"/image", "/", "/api/v1/workspace"} {
		p := b.get(srv.URL + path)
		if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" {
			t.Errorf("GET %s with Redis down: %d Retry-After %q, want 503 with a retry hint", path, p.status, p.header.Get("Retry-After"))
		}
	}
	// The replica still holds a copy of the session, so the upload's CSRF
	// check passes; storing the image is what needs Redis.
	p := b.uploadForm(srv.URL+"/api/v1/image", testPNG(t, 4, 4, 1), nil, map[string]string{"X-CSRF-Token": csrf})
	if p.status != http.StatusServiceUnavailable {
		t.Errorf("upload with Redis down: %d, want 503", p.status)
	}

	r.start()
	deadline := time.Now().Add(10 * time.Second)
	for b.get(srv.URL+"/readyz").status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p = b.get(srv.URL + "/image")
	if p.header.Get("X-Session") != "hit" || pageDigest(p.body) != sha(img) {
		t.Fatalf("after the outage: X-Session %q digest %q, want the session and image from before (%s)",
			p.header.Get("X-Session"), pageDigest(p.body), fmt.Sprint(sha(img)[:8]))
	}
}
