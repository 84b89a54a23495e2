package store

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Full is the refusal of new state while the store is (nearly) full: 507
// with a Retry-After. It implements the server's problem.Refusal. Existing
// users' views, edits and downloads are never refused with it by easel
// itself; only Redis' own OOM answer (noeviction at maxmemory) can.
type Full struct {
	// Op is what was refused, for the log.
	Op string
	// Cause is Redis' OOM error, when it was Redis that refused.
	Cause error
}

// FullRetry is the Retry-After of a Full refusal: sessions expire and
// space frees up over minutes, not seconds.
const FullRetry = time.Minute

func (e *Full) Error() string {
	return "the service is full right now and cannot take new images; please try again in a few minutes (your current work is safe)"
}

// HTTPStatus implements problem.Refusal: 507 Insufficient Storage.
func (e *Full) HTTPStatus() int { return http.StatusInsufficientStorage }

// RetryAfter implements problem.Refusal.
func (e *Full) RetryAfter() time.Duration { return FullRetry }

// Unwrap returns Redis' error, if any.
func (e *Full) Unwrap() error { return e.Cause }

// IsOOM reports whether err is Redis' refusal of a write at maxmemory
// ("OOM command not allowed when used memory > 'maxmemory'"), directly or
// from inside a script.
func IsOOM(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// FillWatcher samples how full the Redis primaries are (INFO memory:
// used_memory against maxmemory) in the background, so that requests that
// would create new state can be refused before Redis has to evict anyone's
// state or refuse writes. It is one goroutine per replica; a request reads
// the last sample, plus the bytes this replica admitted since.
type FillWatcher struct {
	client redis.UniversalClient
	high   float64
	log    *slog.Logger
	// observe receives every sample's fill ratio (a metrics gauge).
	observe func(ratio float64)

	mu       sync.Mutex
	used     int64 // of the fullest primary at the last sample
	max      int64 // its maxmemory; 0 when unlimited (or unknown)
	admitted atomic.Int64
}

// NewFillWatcher returns a watcher that calls the store full at high
// (a fraction of maxmemory, e.g. 0.85). client should be a connection of
// its own, so that samples neither wait behind requests nor count as their
// round trips.
func NewFillWatcher(client redis.UniversalClient, high float64, log *slog.Logger, observe func(float64)) *FillWatcher {
	if observe == nil {
		observe = func(float64) {}
	}
	return &FillWatcher{client: client, high: high, log: log, observe: observe}
}

// Run samples every interval until ctx ends.
func (w *FillWatcher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := w.Sample(ctx); err != nil && ctx.Err() == nil {
			// Redis down: requests find out for themselves (503); the last
			// known fill stays in force.
			w.log.Debug("sampling store memory", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample reads INFO memory from every primary (one on standalone and
// Sentinel, each master on Cluster) and keeps the fullest.
func (w *FillWatcher) Sample(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var bestUsed, bestMax int64
	best := -1.0
	take := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return fmt.Errorf("info memory: %w", err)
		}
		used, max := infoInt(info, "used_memory"), infoInt(info, "maxmemory")
		r := 0.0
		if max > 0 {
			r = float64(used) / float64(max)
		}
		mu.Lock()
		defer mu.Unlock()
		if r > best {
			best, bestUsed, bestMax = r, used, max
		}
		return nil
	}
	var err error
	switch c := w.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, take)
	case *redis.Client:
		err = take(ctx, c)
	default:
		return fmt.Errorf("sampling store memory: unsupported client %T", w.client)
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.used, w.max = bestUsed, bestMax
	w.admitted.Store(0)
	w.mu.Unlock()
	w.observe(math.Max(best, 0))
	return nil
}

// Admitted adds n bytes that this replica is about to store, so that a
// burst of uploads between two samples counts at once.
func (w *FillWatcher) Admitted(n int64) { w.admitted.Add(n) }

// Ratio is the fill of the fullest primary: its used_memory at the last
// sample plus what this replica admitted since, over maxmemory; 0 when
// maxmemory is 0 (unlimited: the guard is off).
func (w *FillWatcher) Ratio() float64 {
	w.mu.Lock()
	used, max := w.used, w.max
	w.mu.Unlock()
	if max <= 0 {
		return 0
	}
	return float64(used+w.admitted.Load()) / float64(max)
}

// Check returns a *Full when the store is filled past the high-water mark.
// A mark of 1 or more never refuses (the gauge is still sampled).
func (w *FillWatcher) Check(op string) error {
	if w.high < 1 && w.Ratio() >= w.high {
		return &Full{Op: op}
	}
	return nil
}

// infoInt reads an integer field of an INFO answer; 0 when absent.
func infoInt(info, field string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
