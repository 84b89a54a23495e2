// Package store connects to easel's shared state: it builds one go-redis
// UniversalClient (standalone, Sentinel or Cluster, with TLS and ACL users)
// from configuration, and says whether that state is reachable.
//
// Keys follow one layout, so that every multi-key operation of one owner
// stays in one Redis Cluster hash slot: PREFIX:{kind:id}:field.
package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/redis/go-redis/v9"
)

// ErrUnavailable marks a failure to reach the shared state (Redis down, a
// failover in progress, a timeout). Handlers answer it with 503 and a
// Retry-After hint; it never means "not found".
var ErrUnavailable = errors.New("shared state unavailable")

// Unavailable wraps err so that errors.Is(err, ErrUnavailable) holds. It is
// where every store failure is classified: Redis' OOM answer (a write at
// maxmemory under the noeviction policy) is no outage but a full store,
// and becomes a *Full (507 with a retry hint) instead.
func Unavailable(op string, err error) error {
	if IsOOM(err) {
		return &Full{Op: op, Cause: err}
	}
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

// Open builds a client from cfg. It does not dial; Ping does.
func Open(cfg config.Redis) (redis.UniversalClient, error) {
	opts := &redis.UniversalOptions{
		Username: cfg.Username,
		Password: cfg.Password,
		// Fail fast while Redis is down: a user waits for a 503 with a retry
		// hint rather than for a long chain of dial attempts.
		DialTimeout:     time.Second,
		DialerRetries:   1,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		MaxRetries:      2,
		MinRetryBackoff: 50 * time.Millisecond,
		MaxRetryBackoff: 500 * time.Millisecond,
		ClientName:      "easel",
	}
	switch {
	case cfg.URL != "":
		u, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("parsing redis URL: %w", err)
		}
		opts.Addrs = []string{u.Addr}
		opts.DB = u.DB
		opts.TLSConfig = u.TLSConfig
		if opts.Username == "" {
			opts.Username = u.Username
		}
		if opts.Password == "" {
			opts.Password = u.Password
		}
	case cfg.SentinelMaster != "":
		opts.MasterName = cfg.SentinelMaster
		opts.Addrs = cfg.SentinelAddrs
		opts.SentinelUsername, opts.SentinelPassword = cfg.Username, cfg.Password
		if cfg.SentinelUsername != "" || cfg.SentinelPassword != "" {
			// Sentinels with an ACL of their own (the official Valkey
			// chart's "sentinel" user) refuse the data nodes' user.
			opts.SentinelUsername, opts.SentinelPassword = cfg.SentinelUsername, cfg.SentinelPassword
		}
	case len(cfg.ClusterAddrs) > 0:
		opts.Addrs = cfg.ClusterAddrs
		opts.IsClusterMode = true
	default:
		return nil, errors.New("no redis connection configured")
	}
	if cfg.TLS && opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return redis.NewUniversalClient(opts), nil
}

// RouteLogs sends go-redis' own log lines (connection pool warnings) to log
// instead of stderr. go-redis keeps its logger in a package variable, so
// only main calls this, once.
func RouteLogs(log *slog.Logger) {
	redis.SetLogger(slogPrintf{log})
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// Pinger reports whether the shared state answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// RedisPinger pings a go-redis client.
type RedisPinger struct{ Client redis.UniversalClient }

// Ping sends PING and wraps a failure as ErrUnavailable.
func (p RedisPinger) Ping(ctx context.Context) error {
	if err := p.Client.Ping(ctx).Err(); err != nil {
		return Unavailable("ping", err)
	}
	return nil
}

// OneServer reports whether every key client reaches lives on one server
// (standalone Redis, or the primary Sentinel names), so that one script may
// touch keys of different hash slots. On Redis Cluster it may not.
func OneServer(client redis.UniversalClient) bool {
	_, cluster := client.(*redis.ClusterClient)
	return !cluster
}
