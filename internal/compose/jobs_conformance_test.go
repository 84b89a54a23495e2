package compose

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// newJob returns a queued job for tests.
func newJob(t *testing.T) Job {
	t.Helper()
	id, err := NewJobID()
	if err != nil {
		t.Fatal(err)
	}
	return Job{ID: id, Workspace: "ws1", Request: Request{Mode: ModeAI, Prompt: "p"},
		Base: Snapshot{Edits: nil, Width: 3, Height: 4}}
}

// testJobStore is the conformance suite every JobStore passes. mk returns
// a fresh, empty store; stores from one call of mk share nothing.
func testJobStore(t *testing.T, mk func(t *testing.T) JobStore) {
	ctx := context.Background()
	const lease = 300 * time.Millisecond
	t.Run("create get", func(t *testing.T) {
		s := mk(t)
		j := newJob(t)
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.Get(ctx, j.ID)
		if err != nil || !found {
			t.Fatalf("Get = %v, %v", found, err)
		}
		if got.Status != StatusQueued || got.Workspace != "ws1" || got.Request.Prompt != "p" || got.Base.Height != 4 || got.Created.IsZero() {
			t.Fatalf("Get = %+v", got)
		}
		if _, found, err := s.Get(ctx, "missing"); found || err != nil {
			t.Fatalf("Get(missing) = %v, %v", found, err)
		}
	})
	t.Run("claim order and exclusivity", func(t *testing.T) {
		s := mk(t)
		a, b := newJob(t), newJob(t)
		for _, j := range []Job{a, b} {
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		got, found, err := s.Claim(ctx, "r1", lease, 3, "gone")
		if err != nil || !found || got.ID != a.ID || got.Status != StatusRunning || got.Owner != "r1" || got.Attempts != 1 {
			t.Fatalf("Claim = %+v, %v, %v; want a running, owned by r1", got, found, err)
		}
		if got.LeaseExpiry.Before(time.Now().Add(-time.Second)) {
			t.Fatalf("lease expiry %v is in the past", got.LeaseExpiry)
		}
		got2, found, _ := s.Claim(ctx, "r2", lease, 3, "gone")
		if !found || got2.ID != b.ID {
			t.Fatalf("second Claim = %+v, want b", got2)
		}
		if _, found, _ := s.Claim(ctx, "r3", lease, 3, "gone"); found {
			t.Fatal("third Claim found a job")
		}
	})
	t.Run("concurrent claims never share a job", func(t *testing.T) {
		s := mk(t)
		const n = 20
		for range n {
			if err := s.Create(ctx, newJob(t)); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for {
					j, found, err := s.Claim(ctx, "r"+string(rune('a'+w)), time.Minute, 3, "gone")
					if err != nil {
						t.Error(err)
						return
					}
					if !found {
						return
					}
					mu.Lock()
					seen[j.ID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d distinct jobs, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("job %s claimed %d times", id, c)
			}
		}
	})
	t.Run("heartbeat finish and lease checks", func(t *testing.T) {
		s := mk(t)
		j := newJob(t)
		_ = s.Create(ctx, j)
		got, _, _ := s.Claim(ctx, "r1", lease, 3, "gone")
		l := got.Lease()
		if err := s.Heartbeat(ctx, l, lease, 0.5); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if g, _, _ := s.Get(ctx, j.ID); g.Progress != 0.5 {
			t.Fatalf("progress %g, want 0.5", g.Progress)
		}
		for _, bad := range []Lease{{ID: j.ID, Owner: "r2", Attempt: 1}, {ID: j.ID, Owner: "r1", Attempt: 2}, {ID: "missing", Owner: "r1", Attempt: 1}} {
			if err := s.Heartbeat(ctx, bad, lease, 0.6); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Heartbeat(%+v) = %v, want ErrLeaseLost", bad, err)
			}
			if err := s.Finish(ctx, bad, Outcome{Status: StatusFailed, Error: "x"}); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Finish(%+v) = %v, want ErrLeaseLost", bad, err)
			}
		}
		res := &Result{Digest: digest, Width: 3, Height: 4}
		if err := s.Finish(ctx, l, Outcome{Status: StatusSucceeded, Result: res}); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		g, _, _ := s.Get(ctx, j.ID)
		if g.Status != StatusSucceeded || g.Progress != 1 || g.Result == nil || *g.Result != *res || g.Owner != "" {
			t.Fatalf("after Finish: %+v", g)
		}
		if err := s.Finish(ctx, l, Outcome{Status: StatusFailed, Error: "late"}); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("second Finish = %v, want ErrLeaseLost", err)
		}
	})
	t.Run("failed keeps the reason", func(t *testing.T) {
		s := mk(t)
		j := newJob(t)
		_ = s.Create(ctx, j)
		got, _, _ := s.Claim(ctx, "r1", lease, 3, "gone")
		if err := s.Finish(ctx, got.Lease(), Outcome{Status: StatusFailed, Error: "The AI service refused this request."}); err != nil {
			t.Fatal(err)
		}
		g, _, _ := s.Get(ctx, j.ID)
		if g.Status != StatusFailed || g.Error != "The AI service refused this request." || g.Result != nil {
			t.Fatalf("after failure: %+v", g)
		}
	})
	t.Run("lapsed lease is taken over then failed", func(t *testing.T) {
		s := mk(t)
		j := newJob(t)
		_ = s.Create(ctx, j)
		first, _, _ := s.Claim(ctx, "r1", lease, 2, "gone")
		if _, found, _ := s.Claim(ctx, "r2", lease, 2, "gone"); found {
			t.Fatal("claimed a job whose lease is live")
		}
		time.Sleep(lease + 100*time.Millisecond)
		second, found, err := s.Claim(ctx, "r2", lease, 2, "gone")
		if err != nil || !found || second.ID != j.ID || second.Owner != "r2" || second.Attempts != 2 {
			t.Fatalf("takeover Claim = %+v, %v, %v", second, found, err)
		}
		if err := s.Heartbeat(ctx, first.Lease(), lease, 0.9); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("old owner's Heartbeat = %v, want ErrLeaseLost", err)
		}
		time.Sleep(lease + 100*time.Millisecond)
		if _, found, _ := s.Claim(ctx, "r3", lease, 2, "gone"); found {
			t.Fatal("a job past its attempts was claimed again")
		}
		g, _, _ := s.Get(ctx, j.ID)
		if g.Status != StatusFailed || g.Error != "gone" {
			t.Fatalf("after attempts ran out: %+v", g)
		}
	})
	t.Run("release requeues at the front", func(t *testing.T) {
		s := mk(t)
		a, b := newJob(t), newJob(t)
		_ = s.Create(ctx, a)
		_ = s.Create(ctx, b)
		got, _, _ := s.Claim(ctx, "r1", lease, 3, "gone")
		if err := s.Release(ctx, got.Lease()); err != nil {
			t.Fatal(err)
		}
		again, _, _ := s.Claim(ctx, "r2", lease, 3, "gone")
		if again.ID != a.ID || again.Attempts != 1 {
			t.Fatalf("after Release, Claim = %+v; want a again at attempt 1", again)
		}
		if err := s.Release(ctx, got.Lease()); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("stale Release = %v", err)
		}
	})
}

func TestMemoryJobs(t *testing.T) {
	t.Parallel()
	testJobStore(t, func(*testing.T) JobStore { return NewMemoryJobs(time.Minute) })
}

func TestRedisJobs(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	n := 0
	testJobStore(t, func(*testing.T) JobStore {
		n++
		return NewRedisJobs(client, "t"+string(rune('a'+n)), time.Minute)
	})
	t.Run("expires", func(t *testing.T) {
		s := NewRedisJobs(client, "ttl", 200*time.Millisecond)
		j := newJob(t)
		_ = s.Create(context.Background(), j)
		time.Sleep(400 * time.Millisecond)
		if _, found, err := s.Get(context.Background(), j.ID); found || err != nil {
			t.Fatalf("expired job: found=%v err=%v", found, err)
		}
		if _, found, _ := s.Claim(context.Background(), "r", time.Second, 3, "gone"); found {
			t.Fatal("claimed an expired job")
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
		t.Cleanup(func() { _ = dead.Close() })
		s := NewRedisJobs(dead, "x", time.Minute)
		if _, _, err := s.Get(context.Background(), "a"); !errors.Is(err, store.ErrUnavailable) {
			t.Fatal("Get on a dead Redis succeeded")
		}
	})
}
