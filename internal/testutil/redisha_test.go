package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestStartSentinelFailsOver: a write through the Sentinel-aware client
// reaches the primary and its replica; after SIGKILL of the primary the
// sentinels promote the replica, the client follows it, and the write is
// still there.
func TestStartSentinelFailsOver(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	s := StartSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := s.Primary(ctx)
	if err != nil || first != s.Nodes[0] {
		t.Fatalf("Primary = %q, %v; want the first node %s", first, err, s.Nodes[0])
	}
	client := OpenRedis(t, s.RedisConfig())
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through sentinel: %v", err)
	}
	if _, err := s.WaitReplicated(ctx); err != nil {
		t.Fatalf("WaitReplicated: %v", err)
	}

	killed, err := s.KillPrimary(ctx)
	if err != nil || killed != first {
		t.Fatalf("KillPrimary = %q, %v; want %s", killed, err, first)
	}
	start := time.Now()
	now, err := s.WaitPrimaryChange(ctx, killed)
	if err != nil {
		t.Fatalf("no failover: %v", err)
	}
	if now != s.Nodes[1] {
		t.Fatalf("new primary %s, want the replica %s", now, s.Nodes[1])
	}
	t.Logf("sentinels promoted %s %.1fs after the kill", now, time.Since(start).Seconds())
	err = poll(ctx, 50*time.Millisecond, func() error {
		v, err := client.Get(ctx, "k").Result()
		if err != nil {
			return err
		}
		if v != "v" {
			return errStop{fmt.Errorf("GET k = %q after failover, want v", v)}
		}
		return client.Set(ctx, "k2", "v2", 0).Err()
	})
	if err != nil {
		t.Fatalf("client after failover: %v", err)
	}
}

// TestStartRedisCluster: keys written through the cluster client spread
// over every primary, and the per-node helpers see them.
func TestStartRedisCluster(t *testing.T) {
	t.Parallel()
	c := StartRedisCluster(t, 3)
	if len(c.Addrs) != 3 || len(c.Primaries) != 3 {
		t.Fatalf("%d nodes, %d primaries; want 3 and 3", len(c.Addrs), len(c.Primaries))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := OpenRedis(t, c.RedisConfig())
	for i := range 100 {
		if err := client.Set(ctx, fmt.Sprintf("k{%d}", i), i, 0).Err(); err != nil {
			t.Fatalf("SET: %v", err)
		}
	}
	perNode, err := c.KeysPerPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for addr, n := range perNode {
		if n == 0 {
			t.Errorf("primary %s holds no key: %v", addr, perNode)
		}
		total += n
	}
	if total != 100 {
		t.Errorf("%d keys over the primaries, want 100", total)
	}
	slot, err := c.KeySlot(ctx, "anything{7}")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.CountKeysInSlot(ctx, slot); err != nil || n != 1 {
		t.Errorf("COUNTKEYSINSLOT of k{7}'s slot %d = %d, %v; want 1", slot, n, err)
	}
}

// TestStartRedisClusterWithReplicas: six nodes, three of them replicas.
func TestStartRedisClusterWithReplicas(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("six nodes")
	}
	c := StartRedisClusterWithReplicas(t, 3, 1)
	if len(c.Addrs) != 6 || len(c.Primaries) != 3 {
		t.Fatalf("%d nodes, %d primaries; want 6 and 3", len(c.Addrs), len(c.Primaries))
	}
}
