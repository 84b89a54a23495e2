package testutil

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/config"
	"github.com/redis/go-redis/v9"
)

// RedisCluster is a running Redis Cluster on loopback ports, started by
// StartRedisCluster and stopped by t.Cleanup.
type RedisCluster struct {
	// Addrs are every node's host:port: the seed list easel takes
	// (EASEL_REDIS_CLUSTER_ADDRS).
	Addrs []string
	// Primaries are the nodes that hold slots, in the order of Addrs.
	Primaries []string
}

// StartRedisCluster starts primaries `redis-server --cluster-enabled yes`
// nodes without replicas (at least 3, which `redis-cli --cluster create`
// requires), joins them with `redis-cli --cluster create … --cluster-yes`,
// which spreads the 16384 slots evenly, and returns once every node reports
// cluster_state:ok.
func StartRedisCluster(t testing.TB, primaries int) *RedisCluster {
	t.Helper()
	return StartRedisClusterWithReplicas(t, primaries, 0)
}

// StartRedisClusterWithReplicas is StartRedisCluster with replicas replicas
// per primary (`--cluster-replicas`); it also waits until every replica is
// in sync with its primary.
func StartRedisClusterWithReplicas(t testing.TB, primaries, replicas int) *RedisCluster {
	t.Helper()
	bin := Require(t, "redis-server")
	cli := Require(t, "redis-cli")
	if primaries < 3 || replicas < 0 {
		t.Fatalf("StartRedisCluster: %d primaries and %d replicas each: want at least 3 primaries", primaries, replicas)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := t.TempDir()
	c := &RedisCluster{}
	for i := range primaries * (1 + replicas) {
		p := startHA(ctx, t, bin, filepath.Join(root, "node-"+strconv.Itoa(i+1)), func(port int, dir string) ([]string, error) {
			// The cluster bus gets a free port of its own (cluster-port,
			// Redis 7): the default, port+10000, may be taken or past 65535.
			bus, err := cluster.FreePort()
			if err != nil {
				return nil, err
			}
			return append(redisNodeArgs(port, dir),
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000", "--cluster-port", strconv.Itoa(bus)), nil
		})
		c.Addrs = append(c.Addrs, p.addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := c.waitOK(ctx, primaries); err != nil {
		t.Fatalf("redis cluster did not become ready: %v (logs in %s)", err, root)
	}
	return c
}

// waitOK waits until every node sees a complete, healthy cluster and every
// replica's link to its primary is up, then records the primaries.
func (c *RedisCluster) waitOK(ctx context.Context, primaries int) error {
	return poll(ctx, 50*time.Millisecond, func() error {
		var found []string
		for _, a := range c.Addrs {
			raw, err := withNode(a, login{}, func(n *redis.Client) (string, error) { return n.ClusterInfo(ctx).Result() })
			if err != nil {
				return err
			}
			info := parseInfo(raw)
			if info["cluster_state"] != "ok" || info["cluster_slots_assigned"] != "16384" || info["cluster_known_nodes"] != strconv.Itoa(len(c.Addrs)) {
				return fmt.Errorf("node %s: cluster_state %s, %s slots assigned, %s nodes known", a,
					info["cluster_state"], info["cluster_slots_assigned"], info["cluster_known_nodes"])
			}
			repl, err := infoFields(ctx, a, login{}, "replication")
			if err != nil {
				return err
			}
			switch repl["role"] {
			case "master":
				found = append(found, a)
			case "slave":
				if repl["master_link_status"] != "up" {
					return fmt.Errorf("replica %s: master_link_status %q", a, repl["master_link_status"])
				}
			}
		}
		if len(found) != primaries {
			return fmt.Errorf("%d primaries, want %d", len(found), primaries)
		}
		c.Primaries = found
		return nil
	})
}

// RedisConfig returns the configuration that reaches this cluster, as
// easel would load it.
func (c *RedisCluster) RedisConfig() config.Redis {
	return config.Redis{ClusterAddrs: append([]string(nil), c.Addrs...), Prefix: "easel"}
}

// Env returns the EASEL_* setting of an easel replica using this cluster
// (on top of EASEL_SESSION_STORE=redis and the session keys).
func (c *RedisCluster) Env() []string {
	return []string{"EASEL_REDIS_CLUSTER_ADDRS=" + strings.Join(c.Addrs, ",")}
}

// DBSize returns the number of keys on the node at addr.
func (c *RedisCluster) DBSize(ctx context.Context, addr string) (int64, error) {
	return withNode(addr, login{}, func(n *redis.Client) (int64, error) { return n.DBSize(ctx).Result() })
}

// KeysPerPrimary returns DBSIZE of every primary, by address.
func (c *RedisCluster) KeysPerPrimary(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, a := range c.Primaries {
		n, err := c.DBSize(ctx, a)
		if err != nil {
			return nil, err
		}
		out[a] = n
	}
	return out, nil
}

// KeySlot returns the hash slot of key (CLUSTER KEYSLOT).
func (c *RedisCluster) KeySlot(ctx context.Context, key string) (int64, error) {
	return withNode(c.Addrs[0], login{}, func(n *redis.Client) (int64, error) { return n.ClusterKeySlot(ctx, key).Result() })
}

// SlotOwner returns the address of the primary serving slot (CLUSTER
// SHARDS: the shard whose slot ranges hold slot, and its online master).
func (c *RedisCluster) SlotOwner(ctx context.Context, slot int64) (string, error) {
	shards, err := withNode(c.Addrs[0], login{}, func(n *redis.Client) ([]redis.ClusterShard, error) { return n.ClusterShards(ctx).Result() })
	if err != nil {
		return "", err
	}
	for _, s := range shards {
		if !slices.ContainsFunc(s.Slots, func(r redis.SlotRange) bool { return r.Start <= slot && slot <= r.End }) {
			continue
		}
		for _, n := range s.Nodes {
			if n.Role == "master" && n.Health == "online" {
				return net.JoinHostPort(n.Endpoint, strconv.FormatInt(n.Port, 10)), nil
			}
		}
	}
	return "", fmt.Errorf("no node serves slot %d", slot)
}

// CountKeysInSlot returns CLUSTER COUNTKEYSINSLOT slot, asked of the
// primary serving it (other nodes answer 0).
func (c *RedisCluster) CountKeysInSlot(ctx context.Context, slot int64) (int64, error) {
	owner, err := c.SlotOwner(ctx, slot)
	if err != nil {
		return 0, err
	}
	return withNode(owner, login{}, func(n *redis.Client) (int64, error) { return n.ClusterCountKeysInSlot(ctx, int(slot)).Result() })
}
