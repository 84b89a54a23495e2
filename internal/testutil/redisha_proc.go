package testutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// RedisMode is one way to deploy Redis, for suites that must pass on each.
type RedisMode struct {
	// Name is "standalone", "sentinel" or "cluster".
	Name string
	// Start starts a deployment for t and returns its configuration.
	Start func(t testing.TB) config.Redis
}

// RedisModes lists standalone (one redis-server, by URL), Sentinel (a
// primary, a replica, three sentinels) and Cluster (three primaries). A
// conformance suite runs on each through OpenRedis, the client easel builds.
func RedisModes() []RedisMode {
	return []RedisMode{
		{"standalone", func(t testing.TB) config.Redis {
			addr, _ := StartRedis(t)
			return config.Redis{URL: "redis://" + addr + "/0", Prefix: "easel"}
		}},
		{"sentinel", func(t testing.TB) config.Redis { return StartSentinel(t).RedisConfig() }},
		{"cluster", func(t testing.TB) config.Redis { return StartRedisCluster(t, 3).RedisConfig() }},
	}
}

// OpenRedis builds a client for cfg through store.Open, as easel does, and
// closes it at cleanup.
func OpenRedis(t testing.TB, cfg config.Redis) redis.UniversalClient {
	t.Helper()
	c, err := store.Open(cfg)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// haProc is one redis-server (a data node or a sentinel) started here.
type haProc struct {
	addr string
	*cluster.Process
}

// startHA starts bin with the arguments args returns for a free port, in
// dir, and waits until it answers PING. A process that exits during
// start-up (its port was taken meanwhile) is retried on another port. The
// process is stopped at cleanup; its output goes to dir/server.log.
func startHA(ctx context.Context, t testing.TB, bin, dir string, args func(port int, dir string) ([]string, error)) *haProc {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	var lastErr error
	for range 5 {
		p, err := startHAOnce(ctx, bin, dir, args)
		if err == nil {
			t.Cleanup(func() { _ = p.Stop(syscall.SIGTERM, 5*time.Second) })
			return p
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	t.Fatalf("starting %s in %s: %v", filepath.Base(bin), dir, lastErr)
	return nil
}

func startHAOnce(ctx context.Context, bin, dir string, args func(port int, dir string) ([]string, error)) (*haProc, error) {
	port, err := cluster.FreePort()
	if err != nil {
		return nil, err
	}
	argv, err := args(port, dir)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	defer func() { _ = out.Close() }() // the child keeps its own descriptor
	cmd := exec.Command(bin, argv...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	proc, err := cluster.StartProcess(cmd)
	if err != nil {
		return nil, err
	}
	p := &haProc{addr: "127.0.0.1:" + strconv.Itoa(port), Process: proc}
	err = poll(ctx, 10*time.Millisecond, func() error {
		if p.Exited() {
			return errStop{fmt.Errorf("exited during start-up: %s", strings.TrimSpace(cluster.TailFile(logPath, 1500)))}
		}
		return answers(ctx, p.addr)
	})
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("%s on %s: %w", filepath.Base(bin), p.addr, err)
	}
	return p, nil
}

// errStop ends poll at once.
type errStop struct{ error }

// poll calls f every interval until it returns nil, returns errStop, or ctx
// ends; the error then names f's last complaint.
func poll(ctx context.Context, interval time.Duration, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		var stop errStop
		if errors.As(err, &stop) {
			return stop.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}

// answers reports whether a server listens at addr and answers an inline
// PING, with PONG or with an error such as NOAUTH: either way it is up.
func answers(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "-") {
		return fmt.Errorf("unexpected PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// login is a user and password for the helpers' own connections; the zero
// value logs in as nobody.
type login struct{ user, pass string }

func (l login) options(addr string) *redis.Options {
	return &redis.Options{Addr: addr, Username: l.user, Password: l.pass,
		DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1}
}

// withSentinel runs f with a short-lived client to the sentinel at addr.
func withSentinel[T any](addr string, l login, f func(*redis.SentinelClient) (T, error)) (T, error) {
	c := redis.NewSentinelClient(l.options(addr))
	defer func() { _ = c.Close() }()
	return f(c)
}

// withNode runs f with a short-lived plain client to the node at addr.
func withNode[T any](addr string, l login, f func(*redis.Client) (T, error)) (T, error) {
	c := redis.NewClient(l.options(addr))
	defer func() { _ = c.Close() }()
	v, err := f(c)
	if err != nil {
		return v, fmt.Errorf("node %s: %w", addr, err)
	}
	return v, nil
}

// infoFields returns the key:value lines of INFO section on the node at addr.
func infoFields(ctx context.Context, addr string, l login, section string) (map[string]string, error) {
	s, err := withNode(addr, l, func(c *redis.Client) (string, error) { return c.Info(ctx, section).Result() })
	if err != nil {
		return nil, fmt.Errorf("INFO %s: %w", section, err)
	}
	return parseInfo(s), nil
}

// parseInfo splits the key:value lines of an INFO or CLUSTER INFO reply.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// redisNodeArgs are the arguments of a data node without persistence. A
// replica's full sync starts at once (no diskless-sync delay).
func redisNodeArgs(port int, dir string) []string {
	return []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--repl-diskless-sync-delay", "0", "--loglevel", "notice",
	}
}
