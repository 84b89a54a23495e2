package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/config"
	"github.com/redis/go-redis/v9"
)

// Sentinel timings of StartSentinel: a primary that does not answer for
// down-after is subjectively down; with a quorum of 2 of 3 sentinels it is
// failed over, usually within 2–4 s of dying. The failover timeout is short
// so that a failed election is retried quickly (after twice the timeout).
const (
	sentinelDownAfter       = 1000 * time.Millisecond
	sentinelFailoverTimeout = 3000 * time.Millisecond
	sentinelQuorum          = 2
	sentinelCount           = 3
)

// SentinelAuth secures a Sentinel deployment the way the official Valkey
// chart does: clients use an ACL user of their own on the data nodes, and
// the sentinels turn their default user off and accept only the user
// "sentinel" with a password of its own, from clients and from each other.
// Replication and the sentinels' monitoring use the data nodes' default
// user, with an internal password.
type SentinelAuth struct {
	// Username and Password are the clients' ACL user on the data nodes.
	Username, Password string
	// Permissions are that user's ACL rules; empty means all keys and all
	// commands ("~* &* +@all").
	Permissions string
	// SentinelPassword is the password of the sentinels' "sentinel" user.
	SentinelPassword string
}

// sentinelUser is the sentinels' own ACL user under SentinelAuth.
const sentinelUser = "sentinel"

// internalPassword protects the data nodes' default user under
// SentinelAuth; replicas and sentinels log in with it.
const internalPassword = "easel-test-internal-password"

// Sentinel is a running Redis Sentinel deployment: a primary, one replica
// (--replicaof) and three sentinels (quorum 2) on loopback ports, started
// by StartSentinel and stopped by t.Cleanup.
type Sentinel struct {
	// MasterName is the name the sentinels monitor the primary under
	// (EASEL_REDIS_SENTINEL_MASTER).
	MasterName string
	// Addrs are the sentinels' host:port addresses
	// (EASEL_REDIS_SENTINEL_ADDRS).
	Addrs []string
	// Nodes are the data nodes' addresses, the initial primary first.
	Nodes []string
	// Auth is how the deployment is secured; the zero value: not at all.
	Auth SentinelAuth

	mu    sync.Mutex
	procs map[string]*haProc // data nodes by address
}

// StartSentinel starts a primary, a replica of it and three sentinels
// monitoring it (quorum 2, down-after-milliseconds 1000, failover-timeout
// 3000), each in its own directory under t.TempDir, and returns once the
// replica is in sync and every sentinel knows the replica and the two other
// sentinels, so that a failover can happen at once. Skips (or fails, see
// Require) when redis-server is not installed; it runs the sentinels with
// redis-sentinel when Debian's package is installed, else with
// `redis-server --sentinel` (the same program).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return StartSentinelWith(t, SentinelAuth{})
}

// StartSentinelWith is StartSentinel with the deployment secured as auth
// says; with the zero SentinelAuth nothing is.
func StartSentinelWith(t testing.TB, auth SentinelAuth) *Sentinel {
	t.Helper()
	bin := Require(t, "redis-server")
	sentinelBin, sentinelArgs := bin, []string{"--sentinel"}
	if p, err := cluster.LookPath("redis-sentinel"); err == nil {
		sentinelBin, sentinelArgs = p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := t.TempDir()
	s := &Sentinel{MasterName: "easel-primary", Auth: auth, procs: map[string]*haProc{}}

	primary := startHA(ctx, t, bin, filepath.Join(root, "primary"), func(port int, dir string) ([]string, error) {
		return s.nodeArgs(port, dir), nil
	})
	replica := startHA(ctx, t, bin, filepath.Join(root, "replica"), func(port int, dir string) ([]string, error) {
		return append(s.nodeArgs(port, dir), "--replicaof", "127.0.0.1", portOf(primary.addr)), nil
	})
	s.Nodes = []string{primary.addr, replica.addr}
	s.procs[primary.addr], s.procs[replica.addr] = primary, replica

	for i := range sentinelCount {
		dir := filepath.Join(root, "sentinel-"+strconv.Itoa(i+1))
		p := startHA(ctx, t, sentinelBin, dir, func(port int, dir string) ([]string, error) {
			conf := filepath.Join(dir, "sentinel.conf")
			// Sentinel rewrites its configuration file (its ID, the
			// sentinels and replicas it found), so it must be a writable
			// file of its own.
			if err := os.WriteFile(conf, []byte(s.sentinelConf(port, dir, primary.addr)), 0o600); err != nil {
				return nil, fmt.Errorf("writing sentinel.conf: %w", err)
			}
			return append([]string{conf}, sentinelArgs...), nil
		})
		s.Addrs = append(s.Addrs, p.addr)
	}
	if err := s.waitSettled(ctx); err != nil {
		t.Fatalf("sentinel setup did not settle: %v (logs in %s)", err, root)
	}
	return s
}

// secured reports whether the deployment uses SentinelAuth.
func (s *Sentinel) secured() bool { return s.Auth != SentinelAuth{} }

// nodeArgs are a data node's arguments, with the ACL of SentinelAuth.
func (s *Sentinel) nodeArgs(port int, dir string) []string {
	args := redisNodeArgs(port, dir)
	if s.secured() {
		perms := strings.Fields(s.Auth.Permissions)
		if len(perms) == 0 {
			perms = []string{"~*", "&*", "+@all"}
		}
		args = append(args, "--requirepass", internalPassword, "--masterauth", internalPassword,
			"--user", s.Auth.Username, "on", ">"+s.Auth.Password)
		args = append(args, perms...)
	}
	return args
}

func (s *Sentinel) sentinelConf(port int, dir, primary string) string {
	m := s.MasterName
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
dir %s
sentinel resolve-hostnames no
sentinel monitor %s 127.0.0.1 %s %d
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
sentinel parallel-syncs %s 1
`, port, dir, m, portOf(primary), sentinelQuorum,
		m, sentinelDownAfter.Milliseconds(), m, sentinelFailoverTimeout.Milliseconds(), m)
	if s.secured() {
		conf += fmt.Sprintf(`sentinel auth-pass %s %s
user default off
user %s on >%s ~* &* +@all
sentinel sentinel-user %s
sentinel sentinel-pass %s
`, m, internalPassword, sentinelUser, s.Auth.SentinelPassword, sentinelUser, s.Auth.SentinelPassword)
	}
	return conf
}

// nodeLogin is how the helpers log in to a data node.
func (s *Sentinel) nodeLogin() login {
	if s.secured() {
		return login{pass: internalPassword}
	}
	return login{}
}

// sentinelLogin is how the helpers log in to a sentinel.
func (s *Sentinel) sentinelLogin() login {
	if s.secured() {
		return login{user: sentinelUser, pass: s.Auth.SentinelPassword}
	}
	return login{}
}

// waitSettled waits until the replica's link is up and every sentinel sees
// the primary, one replica and the other sentinels.
func (s *Sentinel) waitSettled(ctx context.Context) error {
	return poll(ctx, 50*time.Millisecond, func() error {
		info, err := infoFields(ctx, s.Nodes[1], s.nodeLogin(), "replication")
		if err != nil {
			return err
		}
		if info["master_link_status"] != "up" {
			return fmt.Errorf("replica %s: master_link_status %q", s.Nodes[1], info["master_link_status"])
		}
		for _, a := range s.Addrs {
			m, err := withSentinel(a, s.sentinelLogin(), func(c *redis.SentinelClient) (map[string]string, error) {
				return c.Master(ctx, s.MasterName).Result()
			})
			if err != nil {
				return fmt.Errorf("sentinel %s: %w", a, err)
			}
			if m["flags"] != "master" || m["num-slaves"] != "1" || m["num-other-sentinels"] != strconv.Itoa(sentinelCount-1) {
				return fmt.Errorf("sentinel %s: flags %q, %s replicas, %s other sentinels", a, m["flags"], m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return nil
	})
}

// RedisConfig returns the configuration that reaches this deployment
// through its sentinels, as easel would load it, with the credentials of
// Auth.
func (s *Sentinel) RedisConfig() config.Redis {
	cfg := config.Redis{SentinelMaster: s.MasterName, SentinelAddrs: append([]string(nil), s.Addrs...), Prefix: "easel"}
	if s.secured() {
		cfg.Username, cfg.Password = s.Auth.Username, s.Auth.Password
		cfg.SentinelUsername, cfg.SentinelPassword = sentinelUser, s.Auth.SentinelPassword
	}
	return cfg
}

// Env returns the EASEL_* settings of an easel replica using this
// deployment (on top of EASEL_SESSION_STORE=redis and the session keys).
func (s *Sentinel) Env() []string {
	cfg := s.RedisConfig()
	env := []string{
		"EASEL_REDIS_SENTINEL_MASTER=" + cfg.SentinelMaster,
		"EASEL_REDIS_SENTINEL_ADDRS=" + strings.Join(cfg.SentinelAddrs, ","),
	}
	if s.secured() {
		env = append(env,
			"EASEL_REDIS_USERNAME="+cfg.Username, "EASEL_REDIS_PASSWORD="+cfg.Password,
			"EASEL_REDIS_SENTINEL_USERNAME="+cfg.SentinelUsername, "EASEL_REDIS_SENTINEL_PASSWORD="+cfg.SentinelPassword)
	}
	return env
}

// Primary asks the sentinels which node is the primary now and returns the
// address a majority of those that answer report.
func (s *Sentinel) Primary(ctx context.Context) (string, error) {
	votes := map[string]int{}
	var errs []error
	for _, a := range s.Addrs {
		addr, err := withSentinel(a, s.sentinelLogin(), func(c *redis.SentinelClient) ([]string, error) {
			return c.GetMasterAddrByName(ctx, s.MasterName).Result()
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sentinel %s: %w", a, err))
			continue
		}
		votes[addr[0]+":"+addr[1]]++
	}
	for addr, n := range votes {
		if n > len(s.Addrs)/2 {
			return addr, nil
		}
	}
	return "", fmt.Errorf("no majority of sentinels agrees on the primary (votes %v): %w", votes, errors.Join(errs...))
}

// WaitPrimaryChange waits until a majority of sentinels report a primary
// other than old, and returns it.
func (s *Sentinel) WaitPrimaryChange(ctx context.Context, old string) (string, error) {
	var now string
	err := poll(ctx, 20*time.Millisecond, func() error {
		p, err := s.Primary(ctx)
		if err != nil {
			return err
		}
		if p == old {
			return fmt.Errorf("primary is still %s", old)
		}
		now = p
		return nil
	})
	return now, err
}

// KillPrimary sends SIGKILL to the node the sentinels report as primary,
// as a crashed host or an OOM kill would end it, waits for it to exit and
// returns its address.
func (s *Sentinel) KillPrimary(ctx context.Context) (string, error) {
	addr, err := s.Primary(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	p := s.procs[addr]
	s.mu.Unlock()
	if p == nil {
		return "", fmt.Errorf("the primary %s is not a node of this deployment", addr)
	}
	p.Kill()
	return addr, nil
}

// WaitReplicated reads the primary's replication offset and waits until
// every live replica has processed the stream up to it. When it returns
// nil, every write the primary acknowledged before the call is on the
// replicas and survives a failover: what `WAIT <replicas> <timeout>` would
// confirm for each of those writes, without writing anything. It returns
// the offset.
func (s *Sentinel) WaitReplicated(ctx context.Context) (int64, error) {
	primary, err := s.Primary(ctx)
	if err != nil {
		return 0, err
	}
	info, err := infoFields(ctx, primary, s.nodeLogin(), "replication")
	if err != nil {
		return 0, err
	}
	target, err := strconv.ParseInt(info["master_repl_offset"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("primary %s: master_repl_offset %q: %w", primary, info["master_repl_offset"], err)
	}
	err = poll(ctx, 5*time.Millisecond, func() error {
		for _, n := range s.Nodes {
			if n == primary || !s.alive(n) {
				continue
			}
			ri, err := infoFields(ctx, n, s.nodeLogin(), "replication")
			if err != nil {
				return err
			}
			got, _ := strconv.ParseInt(ri["slave_repl_offset"], 10, 64)
			if got < target {
				return fmt.Errorf("replica %s at offset %d of %d", n, got, target)
			}
		}
		return nil
	})
	return target, err
}

func (s *Sentinel) alive(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[addr]
	return p != nil && !p.Exited()
}
