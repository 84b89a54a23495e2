package testutil

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

func TestStartRedis(t *testing.T) {
	t.Parallel()
	addr, stop := StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cluster.Ping(ctx, addr); err != nil {
		t.Fatalf("ping %s: %v", addr, err)
	}
	stop()
	stop() // idempotent
	if err := cluster.Ping(ctx, addr); err == nil {
		t.Fatalf("redis on %s still answers after stop", addr)
	}
}

func TestStartRedisTwiceUsesDistinctPorts(t *testing.T) {
	t.Parallel()
	a, _ := StartRedis(t)
	b, _ := StartRedis(t)
	if a == b {
		t.Fatalf("two servers on the same address %s", a)
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		binary string
	}{
		{"in PATH", "sh"},
		{"in /usr/sbin", "redis-server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if p := Require(t, tc.binary); p == "" {
				t.Fatalf("Require(%q) returned an empty path", tc.binary)
			}
		})
	}
}

func TestRequireMissingSkips(t *testing.T) {
	// Not parallel: it sets an environment variable.
	t.Setenv(RequireDepsEnv, "")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t, "easel-no-such-binary-xyz")
		t.Fatal("Require returned for a missing binary")
	})
	if !skipped {
		t.Fatal("Require did not skip for a missing binary")
	}
}

func TestStartNginx(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "backend")
		_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(backend.Close)
	url := StartNginx(t, cluster.RoundRobin, strings.TrimPrefix(backend.URL, "http://"))
	resp, err := http.Get(url + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Served-By") != "backend" || string(body) != "127.0.0.1" {
		t.Fatalf("through nginx: %s, X-Served-By %q, X-Forwarded-For %q", resp.Status, resp.Header.Get("X-Served-By"), body)
	}
}
