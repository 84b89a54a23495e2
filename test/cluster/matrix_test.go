package clustertest

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
	"github.com/easelhq/easel/internal/testutil"
)

// easelBinary is built once by TestMain for every test of the package.
var easelBinary string

func TestMain(m *testing.M) { os.Exit(testutil.MainWithEasel(m, &easelBinary)) }

// probeShape returns the edits per flow and whether flows download, from
// EASEL_PROBE_EDITS and EASEL_PROBE_DOWNLOAD (default 2 and true), so the
// matrix can run against a service that does not have every route yet.
func probeShape(t *testing.T) (int, bool) {
	t.Helper()
	edits, download := 2, true
	if v := os.Getenv("EASEL_PROBE_EDITS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("EASEL_PROBE_EDITS=%q: %v", v, err)
		}
		edits = n
	}
	if v := os.Getenv("EASEL_PROBE_DOWNLOAD"); v != "" {
		download = v == "1" || v == "true"
	}
	return edits, download
}

// scenario returns the matrix row called name.
func scenario(t *testing.T, name string) Scenario {
	t.Helper()
	edits, download := probeShape(t)
	for _, s := range Matrix(edits, download) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %q", name)
	return Scenario{}
}

// run runs s and logs the probe's table; on failure it keeps the cluster's
// logs in the test's temp dir, which the failure message names.
func run(t *testing.T, s Scenario) *probe.Result {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the local cluster in -short mode")
	}
	testutil.Require(t, "nginx")
	if s.Store == cluster.StoreRedis {
		testutil.Require(t, "redis-server")
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			testutil.DumpClusterLogs(t, dir, 40)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := Run(ctx, easelBinary, dir, s, logger)
	if res != nil {
		var table bytes.Buffer
		_ = probe.WriteText(&table, res)
		t.Logf("%s:\n%s", s.Name, table.String())
	}
	if err != nil {
		t.Fatalf("%v\nharness log:\n%s\nreplica logs in %s", err, logs.String(), filepath.Join(dir, "cluster"))
	}
	return res
}

// checkBalanced asserts that each of n replicas got within tolerance of the
// mean share.
func checkBalanced(t *testing.T, res *probe.Result, n int, tolerance float64) {
	t.Helper()
	if len(res.Replicas) != n {
		t.Errorf("requests reached %d replicas (%v), want %d", len(res.Replicas), res.Replicas, n)
	}
	mean := 1 / float64(n)
	for name, share := range res.Shares {
		if math.Abs(share-mean) > tolerance*mean {
			t.Errorf("%s has %.1f%% of requests; mean %.1f%% ±%.0f%%", name, share*100, mean*100, tolerance*100)
		}
	}
}

func TestMemoryRoundRobinBreaksUsers(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "memory + round robin"))
	if res.Consistency >= 50 {
		t.Errorf("consistency %.2f%%, want below 50%% (the original bug)", res.Consistency)
	}
	if res.Misses == 0 {
		t.Error("no session misses reported")
	}
	checkBalanced(t, res, 3, 0.15)
}

func TestMemoryIPHashDistinctIPs(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "memory + ip_hash, distinct IPs"))
	if res.Consistency != 100 || res.Misses != 0 {
		t.Errorf("consistency %.2f%%, misses %d; want 100%% and none while no replica dies: %v", res.Consistency, res.Misses, res.Examples)
	}
	if len(res.Replicas) < 2 {
		t.Errorf("20 distinct /24s all hashed to %v", res.Replicas)
	}
}

func TestMemoryIPHashKillBreaksItsUsers(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "memory + ip_hash, distinct IPs, kill one"))
	if res.Broken == 0 || res.Consistency >= 100 {
		t.Fatalf("consistency %.2f%% with %d broken flows; killing a sticky replica must break its users' flows", res.Consistency, res.Broken)
	}
	if res.Errors[probe.KindSessionMiss] == 0 {
		t.Errorf("broken flows %v, want session misses among them", res.Errors)
	}
	// Only the killed replica's users lose their session: at most its share
	// of users, each once.
	if res.Broken > res.Users {
		t.Errorf("%d broken flows, but only the killed replica's users (< %d) should lose work", res.Broken, res.Users)
	}
}

func TestMemoryIPHashOneIPPinsOneReplica(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "memory + ip_hash, one IP"))
	if res.Consistency != 100 {
		t.Errorf("consistency %.2f%%, want 100%%: %v", res.Consistency, res.Examples)
	}
	if res.MaxShare() <= 0.9 {
		t.Errorf("largest share %.1f%% (%v), want over 90%%", res.MaxShare()*100, res.Replicas)
	}
}

func TestRedisRoundRobin(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "redis + round robin"))
	if res.Consistency != 100 || res.Misses != 0 {
		t.Errorf("consistency %.2f%%, misses %d; want 100%% and none: %v", res.Consistency, res.Misses, res.Examples)
	}
	checkBalanced(t, res, 3, 0.15)
}

func TestRedisRoundRobinKillLosesNothing(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "redis + round robin, kill one"))
	if res.Consistency != 100 || res.Broken != 0 {
		t.Errorf("consistency %.2f%%, %d broken: %v; want no workspace lost", res.Consistency, res.Broken, res.Examples)
	}
	t.Logf("requests failed at the kill: %d, retried: %d", res.FailedRequests, res.Retries)
}

func TestRedisRollingRestartFailsNothing(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "redis + round robin, rolling restart"))
	if res.Consistency != 100 || res.Broken != 0 {
		t.Errorf("consistency %.2f%%, %d broken: %v", res.Consistency, res.Broken, res.Examples)
	}
	// nginx closes idle client keep-alive connections on every reload; a
	// request racing that close fails on the stale connection, and browsers
	// resend it silently (so does the probe, counting it). Anything else is
	// a failure a user would see.
	if n := res.VisibleFailures(); n != 0 {
		t.Errorf("%d failed requests during a rolling restart (%v: %q), want none", n, res.FailedByKind, res.FailureSamples)
	}
	t.Logf("stale keep-alive connections resent: %d", res.StaleConnectionFailures)
}

func TestRedisScaleUpAndDown(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "redis + round robin, scale 1→3→1"))
	if res.Consistency != 100 || res.Broken != 0 {
		t.Errorf("consistency %.2f%%, %d broken: %v", res.Consistency, res.Broken, res.Examples)
	}
	if len(res.Replicas) < 3 {
		t.Errorf("requests reached %v, want all 3 replicas while scaled up", res.Replicas)
	}
	if n := res.VisibleFailures(); n != 0 {
		t.Errorf("%d failed requests while scaling (%v: %q), want none", n, res.FailedByKind, res.FailureSamples)
	}
	t.Logf("stale keep-alive connections resent: %d", res.StaleConnectionFailures)
}
