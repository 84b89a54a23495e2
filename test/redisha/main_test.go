package redisha

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/testutil"
)

// easelBinary is built once by TestMain for every test of the package.
var easelBinary string

func TestMain(m *testing.M) { os.Exit(testutil.MainWithEasel(m, &easelBinary)) }

// startEasel starts replicas `easel serve` processes behind nginx (round
// robin) sharing the Redis that redisEnv points to. The harness knows
// standalone Redis only; the session store is switched to redis through
// Env, which the replicas read after the harness's own settings.
func startEasel(t *testing.T, replicas int, redisEnv []string) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping real Redis HA deployments in -short mode")
	}
	testutil.Require(t, "nginx")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{
		Binary:   easelBinary,
		Dir:      dir,
		Replicas: replicas,
		Store:    cluster.StoreMemory,
		Balance:  cluster.RoundRobin,
		Env:      slices.Concat([]string{"EASEL_SESSION_STORE=redis", "EASEL_LOG_LEVEL=warn"}, redisEnv),
	})
	if err != nil {
		t.Fatalf("starting easel: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			testutil.DumpClusterLogs(t, dir, 30)
		}
		if err := c.Stop(); err != nil {
			t.Logf("stopping easel: %v", err)
		}
	})
	return c
}
