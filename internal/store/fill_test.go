package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestFillWatcher: the watcher reads used_memory against maxmemory, is off
// with maxmemory 0, and counts what the replica admitted since a sample.
func TestFillWatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr, _ := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	var seen []float64
	w := store.NewFillWatcher(client, 0.85, slog.New(slog.NewTextHandler(io.Discard, nil)), func(r float64) { seen = append(seen, r) })
	if err := client.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	w.Admitted(1 << 40)
	if r, err := w.Ratio(), w.Check("upload"); r != 0 || err != nil {
		t.Fatalf("maxmemory 0: ratio %v, check %v; want 0 and nil (the guard is off)", r, err)
	}
	if err := client.ConfigSet(ctx, "maxmemory", "64mb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	r := w.Ratio()
	if r <= 0 || r >= 0.5 || w.Check("upload") != nil {
		t.Fatalf("an empty Redis with 64 MiB: ratio %v, want a small positive fraction and no refusal", r)
	}
	if len(seen) != 2 || seen[1] != r {
		t.Errorf("observed %v, want the samples (last %v)", seen, r)
	}
	w.Admitted(60 << 20)
	var full *store.Full
	if err := w.Check("upload"); !errors.As(err, &full) || full.HTTPStatus() != http.StatusInsufficientStorage || full.RetryAfter() <= 0 {
		t.Fatalf("60 MiB admitted since the sample of 64 MiB: %v, want a *store.Full", err)
	}
	if err := w.Sample(ctx); err != nil || w.Check("upload") != nil {
		t.Fatalf("a new sample forgets what was admitted (it is in used_memory now): %v %v", err, w.Check("upload"))
	}
}

// TestUnavailableMapsOOM: Redis' answer to a write at maxmemory under
// noeviction, direct or from a script, is a full store (507), not an outage.
func TestUnavailableMapsOOM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr, _ := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	for k, v := range map[string]string{"maxmemory-policy": "noeviction", "maxmemory": "1"} {
		if err := client.ConfigSet(ctx, k, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	direct := client.Set(ctx, "k", strings.Repeat("x", 1000), 0).Err()
	script := client.Eval(ctx, `return redis.call("SET", KEYS[1], ARGV[1])`, []string{"k2"}, "v").Err()
	for name, err := range map[string]error{"set": direct, "script": script} {
		if !store.IsOOM(err) {
			t.Fatalf("%s at maxmemory: %v, want Redis' OOM error", name, err)
		}
		var full *store.Full
		if got := store.Unavailable("saving", err); !errors.As(got, &full) || errors.Is(got, store.ErrUnavailable) {
			t.Errorf("%s: Unavailable made %v, want a *store.Full", name, got)
		}
	}
	if got := store.Unavailable("saving", errors.New("dial tcp: refused")); !errors.Is(got, store.ErrUnavailable) {
		t.Errorf("a connection error became %v", got)
	}
}

// TestFillWatcherModes: the watcher samples the primary Sentinel names and
// every master of a Redis Cluster, through the client store.Open builds.
func TestFillWatcherModes(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		t.Run(mode.Name, func(t *testing.T) {
			ctx := context.Background()
			client := testutil.OpenRedis(t, mode.Start(t))
			set := func(ctx context.Context, c *redis.Client) error { return c.ConfigSet(ctx, "maxmemory", "64mb").Err() }
			var err error
			if cc, ok := client.(*redis.ClusterClient); ok {
				err = cc.ForEachMaster(ctx, set)
			} else {
				err = set(ctx, client.(*redis.Client))
			}
			if err != nil {
				t.Fatal(err)
			}
			w := store.NewFillWatcher(client, 0.85, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err := w.Sample(ctx); err != nil {
				t.Fatal(err)
			}
			if r := w.Ratio(); r <= 0 || r >= 0.5 {
				t.Errorf("ratio %v, want a small positive fraction of 64 MiB", r)
			}
		})
	}
}
