package redisha

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/probe"
	"github.com/easelhq/easel/internal/testutil"
)

// TestClusterProbe runs the probe with 50 users through nginx against two
// easel processes sharing a Redis Cluster of three primaries with a replica
// each. Every flow (upload, two edits, a composite job, download) must be
// consistent, both replicas must serve, and the keys must spread over every
// primary: sessions, workspaces, blobs and renders are hash-tagged by their
// own IDs, so they land in all slots.
func TestClusterProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping real Redis HA deployments in -short mode")
	}
	rc := testutil.StartRedisClusterWithReplicas(t, 3, 1)
	c := startEasel(t, 2, rc.Env())
	rec := newRecorder(t, c.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cfg := probe.DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits = rec.URL, 50, 2, 2
	// Composites run as jobs in the {jobs} slot, claimed by whichever
	// replica polls first.
	cfg.ExpectedReplicas, cfg.Download, cfg.Composite = 2, true, true
	res, err := probe.Run(ctx, cfg, probe.Options{})
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	var table bytes.Buffer
	_ = probe.WriteText(&table, res)
	t.Logf("probe:\n%s", table.String())

	if res.Flows != 100 || res.Consistency != 100 || res.Broken != 0 {
		t.Errorf("%d flows, consistency %.2f%%, %d broken; want 100 flows, all consistent: %v %v",
			res.Flows, res.Consistency, res.Broken, res.Errors, res.Examples)
	}
	if len(res.Replicas) != 2 {
		t.Errorf("requests reached %v, want both replicas", res.Replicas)
	}
	xs := rec.exchanges()
	for _, e := range xs {
		if e.failed() {
			t.Errorf("%s %s: status %d %s", e.method, e.path, e.status, e.err)
		}
	}
	t.Logf("responses: %v", census(xs))

	perNode, err := rc.KeysPerPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for addr, n := range perNode {
		if n == 0 {
			t.Errorf("primary %s holds no key: %v", addr, perNode)
		}
	}
	t.Logf("keys per primary (DBSIZE): %v", perNode)
}
