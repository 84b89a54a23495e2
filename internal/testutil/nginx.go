package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

// StartNginx starts nginx on a free 127.0.0.1 port in front of the given
// upstream host:port addresses, balanced as balance says, with its
// configuration, logs and temp paths in t.TempDir, and returns its base URL
// (http://127.0.0.1:PORT). It is stopped by t.Cleanup. Skips (or fails, see
// Require) when nginx is not installed.
func StartNginx(t testing.TB, balance cluster.Balance, upstreams ...string) string {
	t.Helper()
	Require(t, "nginx")
	if len(upstreams) == 0 {
		t.Fatal("StartNginx needs at least one upstream")
	}
	ups := make([]cluster.Upstream, len(upstreams))
	for i, a := range upstreams {
		ups[i] = cluster.Upstream{Addr: a}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.StartNginx(ctx, t.TempDir(), balance, ups)
	if err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Logf("stopping nginx: %v", err)
		}
	})
	return n.URL()
}
