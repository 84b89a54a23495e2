package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Session stores accepted by Options.Store; they are easel's
// EASEL_SESSION_STORE values.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// Options describe a local cluster.
type Options struct {
	// Binary is the easel executable (see BuildEasel).
	Binary string
	// Dir receives every file of the cluster: configs, logs, pid files.
	Dir string
	// Replicas is the number of easel processes to start; at least 1.
	Replicas int
	// Store is StoreMemory (each replica its own sessions) or StoreRedis
	// (one redis-server shared by all).
	Store string
	// Balance is how nginx spreads requests.
	Balance Balance
	// SessionKeys are shared by all replicas; default: one random key.
	SessionKeys []string
	// DrainDelay is EASEL_DRAIN_DELAY; default 200 ms, so that a rolling
	// restart is quick.
	DrainDelay time.Duration
	// ShutdownTimeout is EASEL_SHUTDOWN_TIMEOUT; default 5 s.
	ShutdownTimeout time.Duration
	// Env holds extra KEY=VALUE settings for every replica.
	Env []string
	// Logger receives one record per cluster operation; nil discards.
	Logger *slog.Logger
}

// Cluster is a running local cluster: redis-server (with the Redis store),
// easel replicas and nginx in front. Its methods are safe for concurrent use
// while a probe runs against URL.
type Cluster struct {
	opts   Options
	logger *slog.Logger
	env    []string
	redis  *Redis
	nginx  *Nginx

	mu       sync.Mutex
	replicas []*Replica // in upstream order
	nextID   int
	stopOnce sync.Once
	stopErr  error
}

// Start starts a cluster as opts describe and returns when nginx and every
// replica are ready. On error it stops whatever it had started. The caller
// must call Stop (in tests: t.Cleanup(func() { c.Stop() })).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Binary == "" || opts.Dir == "" {
		return nil, errors.New("starting cluster: Binary and Dir are required")
	}
	if opts.Replicas < 1 {
		return nil, errors.New("starting cluster: at least one replica")
	}
	if opts.Store == "" {
		opts.Store = StoreMemory
	}
	if opts.Store != StoreMemory && opts.Store != StoreRedis {
		return nil, fmt.Errorf("starting cluster: store %q: want memory or redis", opts.Store)
	}
	if opts.Balance == "" {
		opts.Balance = RoundRobin
	}
	if opts.DrainDelay == 0 {
		opts.DrainDelay = 200 * time.Millisecond
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.SessionKeys) == 0 {
		key, err := randomKey()
		if err != nil {
			return nil, err
		}
		opts.SessionKeys = []string{key}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cluster dir: %w", err)
	}
	c := &Cluster{opts: opts, logger: opts.Logger}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	settings := map[string]string{
		"EASEL_SESSION_STORE":    c.opts.Store,
		"EASEL_SESSION_KEYS":     strings.Join(c.opts.SessionKeys, ","),
		"EASEL_DRAIN_DELAY":      c.opts.DrainDelay.String(),
		"EASEL_SHUTDOWN_TIMEOUT": c.opts.ShutdownTimeout.String(),
		"EASEL_TRUSTED_PROXIES":  "127.0.0.0/8",
		"EASEL_LOG_FORMAT":       "json",
		// The probe and the benchmarks are one client (one address) playing
		// many users: per-client upload limits would refuse them. Options.Env
		// can turn them back on.
		"EASEL_UPLOADS_PER_MINUTE": "0", "EASEL_UPLOAD_BYTES_PER_HOUR": "0",
		"EASEL_SESSION_UPLOADS_PER_MINUTE": "0", "EASEL_SESSION_UPLOAD_BYTES_PER_HOUR": "0",
	}
	if c.opts.Store == StoreRedis {
		dir := filepath.Join(c.opts.Dir, "redis")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating redis dir: %w", err)
		}
		r, err := StartRedis(ctx, dir)
		if err != nil {
			return err
		}
		c.redis = r
		settings["EASEL_REDIS_URL"] = r.URL()
		c.logger.Info("redis started", "addr", r.Addr)
	}
	c.env = replicaEnv(os.Environ(), settings, c.opts.Env)

	c.mu.Lock()
	defer c.mu.Unlock()
	added, err := c.addReplicas(ctx, c.opts.Replicas)
	c.replicas = append(c.replicas, added...)
	if err != nil {
		return err
	}
	dir := filepath.Join(c.opts.Dir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating nginx dir: %w", err)
	}
	n, err := StartNginx(ctx, dir, c.opts.Balance, c.upstreams(nil))
	if err != nil {
		return err
	}
	c.nginx = n
	c.logger.Info("cluster started", "url", n.URL(), "replicas", len(c.replicas), "store", c.opts.Store, "balance", c.opts.Balance)
	return nil
}

// URL is the address of nginx, where clients (the probe) connect.
func (c *Cluster) URL() string { return c.nginx.URL() }

// Dir is where the cluster keeps its files and logs.
func (c *Cluster) Dir() string { return c.opts.Dir }

// Redis returns the cluster's redis-server, or nil with the memory store.
func (c *Cluster) Redis() *Redis { return c.redis }

// Replicas lists the replicas in nginx's upstream order.
func (c *Cluster) Replicas() []ReplicaInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ReplicaInfo, len(c.replicas))
	for i, r := range c.replicas {
		out[i] = ReplicaInfo{Name: r.Name, Addr: r.Addr, Alive: r.alive()}
	}
	return out
}

// addReplicas starts n new replicas in parallel on fresh ports. It returns
// those that started, and an error if any did not. c.mu must be held.
func (c *Cluster) addReplicas(ctx context.Context, n int) ([]*Replica, error) {
	names := make([]string, n)
	for i := range names {
		c.nextID++
		names[i] = "easel-" + strconv.Itoa(c.nextID)
	}
	out := make([]*Replica, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { out[i], errs[i] = c.launch(ctx, name, "") })
	}
	wg.Wait()
	var started []*Replica
	for _, r := range out {
		if r != nil {
			started = append(started, r)
		}
	}
	return started, errors.Join(errs...)
}

// launch starts replica name on addr, or on a free port when addr is
// empty, retrying a few times when the port turns out to be taken.
func (c *Cluster) launch(ctx context.Context, name, addr string) (*Replica, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		a := addr
		if a == "" {
			port, err := FreePort()
			if err != nil {
				return nil, err
			}
			a = hostPort(port)
		}
		r, err := startReplica(ctx, c.opts.Binary, c.opts.Dir, name, a, c.env)
		if err == nil {
			c.logger.Info("replica ready", "replica", name, "addr", a)
			return r, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, lastErr
}

// upstreams returns nginx's upstream list, with the replicas in down
// marked down. c.mu must be held.
func (c *Cluster) upstreams(down map[*Replica]bool) []Upstream {
	out := make([]Upstream, len(c.replicas))
	for i, r := range c.replicas {
		out[i] = Upstream{Addr: r.Addr, Down: down[r]}
	}
	return out
}

// grace is how long a replica may take to stop after SIGTERM.
func (c *Cluster) grace() time.Duration {
	return c.opts.DrainDelay + c.opts.ShutdownTimeout + 5*time.Second
}

// Scale changes the number of replicas to n (at least 1) at runtime. Killed
// replicas are dropped first. New replicas start, become ready and then join
// nginx's upstream with a reload; removed ones leave the upstream first and
// are then stopped gracefully, as Kubernetes does when it scales a
// Deployment down.
func (c *Cluster) Scale(ctx context.Context, n int) error {
	if n < 1 {
		return errors.New("scaling: at least one replica")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.replicas[:0:0]
	for _, r := range c.replicas {
		if r.alive() {
			live = append(live, r)
		}
	}
	c.replicas = live
	c.logger.Info("scaling", "from", len(live), "to", n)
	switch {
	case n > len(live):
		added, err := c.addReplicas(ctx, n-len(live))
		c.replicas = append(c.replicas, added...)
		if rerr := c.nginx.Reload(ctx, c.upstreams(nil)); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case n < len(live):
		victims := c.replicas[n:]
		down := map[*Replica]bool{}
		for _, r := range victims {
			down[r] = true
		}
		if err := c.nginx.Reload(ctx, c.upstreams(down)); err != nil {
			return err
		}
		errs := make([]error, len(victims))
		var wg sync.WaitGroup
		for i, r := range victims {
			wg.Go(func() { errs[i] = r.terminate(c.grace()) })
		}
		wg.Wait()
		c.replicas = c.replicas[:n:n]
		errs = append(errs, c.nginx.Reload(ctx, c.upstreams(nil)))
		return errors.Join(errs...)
	default:
		return c.nginx.Reload(ctx, c.upstreams(nil))
	}
}

// Kill ends replica name with SIGKILL, without telling nginx: like a
// crashed pod, nginx finds out when connections to it are refused.
func (c *Cluster) Kill(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.replicas {
		if r.Name == name {
			r.kill()
			c.logger.Info("replica killed", "replica", name)
			return nil
		}
	}
	return fmt.Errorf("killing %s: no such replica", name)
}

// RollingRestart restarts every live replica in turn: take it out of
// nginx's upstream (reload), SIGTERM it and wait for it to exit (easel fails
// readiness, waits its drain delay and finishes in-flight requests), start
// its replacement on the same port, wait for /readyz, and put it back. The
// reload that puts one replica back also takes the next one out, because
// every reload makes nginx close its idle client keep-alive connections.
func (c *Cluster) RollingRestart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.replicas {
		if !r.alive() {
			continue
		}
		c.logger.Info("restarting replica", "replica", r.Name)
		if err := c.nginx.Reload(ctx, c.upstreams(map[*Replica]bool{r: true})); err != nil {
			return err
		}
		if err := r.terminate(c.grace()); err != nil {
			return err
		}
		nr, err := c.launch(ctx, r.Name, r.Addr)
		if err != nil {
			return fmt.Errorf("restarting %s: %w", r.Name, err)
		}
		c.replicas[i] = nr
	}
	return c.nginx.Reload(ctx, c.upstreams(nil))
}

// Stop stops nginx, every replica and redis-server, and returns the
// problems it met. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.nginx != nil {
			errs = append(errs, c.nginx.Stop())
		}
		c.mu.Lock()
		replicas := c.replicas
		c.mu.Unlock()
		rerrs := make([]error, len(replicas))
		var wg sync.WaitGroup
		for i, r := range replicas {
			wg.Go(func() { rerrs[i] = r.terminate(c.grace()) })
		}
		wg.Wait()
		errs = append(errs, rerrs...)
		if c.redis != nil {
			errs = append(errs, c.redis.Stop())
		}
		c.stopErr = errors.Join(errs...)
		c.logger.Info("cluster stopped")
	})
	return c.stopErr
}

// randomKey returns a 64-character random session key.
func randomKey() (string, error) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a session key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
