package redisha

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/testutil"
)

// easelBinary is built once by TestMain for every test of the package.
var easelBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "easel-redisha-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "creating build dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if easelBinary, err = cluster.BuildEasel(ctx, dir); err != nil {
			fmt.Fprintln(os.Stderr, "building easel:", err)
			return 1
		}
		return m.Run()
	}())
}

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
			dumpLogs(t, dir)
		}
		if err := c.Stop(); err != nil {
			t.Logf("stopping easel: %v", err)
		}
	})
	return c
}

// dumpLogs logs the warnings and errors of every replica and nginx's error
// log, the last 30 lines of each.
func dumpLogs(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") || strings.HasSuffix(path, "access.log") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var keep []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(path, "error.log") || strings.Contains(line, `"level":"WARN"`) ||
				strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
				keep = append(keep, line)
			}
		}
		if len(keep) > 30 {
			keep = keep[len(keep)-30:]
		}
		if len(keep) > 0 {
			t.Logf("%s:\n%s", strings.TrimPrefix(path, dir), strings.Join(keep, "\n"))
		}
		return nil
	})
}
