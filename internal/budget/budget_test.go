package budget

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// refusal is problem.Refusal, restated so the test does not import it.
type refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

func newBudget(t *testing.T, capacity int64, queue int, wait time.Duration) (*Budget, *counts) {
	t.Helper()
	c := &counts{refused: map[string]int{}}
	b, err := New(capacity, queue, wait, Observer{Waited: c.wait, Refused: c.refuse})
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

type counts struct {
	mu      sync.Mutex
	waited  int
	refused map[string]int
}

func (c *counts) wait(time.Duration) { c.mu.Lock(); c.waited++; c.mu.Unlock() }
func (c *counts) refuse(r string)    { c.mu.Lock(); c.refused[r]++; c.mu.Unlock() }

// waitFor polls until the budget has n requests queued.
func waitFor(t *testing.T, b *Budget, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); b.Waiting() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting = %d, want %d", b.Waiting(), n)
		}
	}
}

func TestAdmitsUpToCapacityThenQueues(t *testing.T) {
	t.Parallel()
	b, c := newBudget(t, 100, 4, 5*time.Second)
	ctx := context.Background()
	r1, err := b.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.Acquire(ctx, 40)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 100 {
		t.Fatalf("in use = %d, want 100", got)
	}
	done := make(chan func())
	go func() {
		r, err := b.Acquire(ctx, 50)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitFor(t, b, 1)
	r2()
	r2() // a second release is harmless
	select {
	case <-done:
		t.Fatal("admitted with only 40 bytes free")
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	r3 := <-done
	if got := b.InUse(); got != 50 {
		t.Fatalf("in use = %d, want 50", got)
	}
	r3()
	if b.InUse() != 0 || b.Waiting() != 0 || c.waited != 1 {
		t.Fatalf("in use %d, waiting %d, waited %d; want 0, 0, 1", b.InUse(), b.Waiting(), c.waited)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		queue  int
		wait   time.Duration
		reason string
		retry  time.Duration
	}{
		{"queue full", 0, 3 * time.Second, ReasonQueueFull, 3 * time.Second},
		{"deadline", 4, 30 * time.Millisecond, ReasonDeadline, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, c := newBudget(t, 10, tc.queue, tc.wait)
			hold, err := b.Acquire(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			defer hold()
			release, err := b.Acquire(context.Background(), 1)
			var busy *Busy
			if !errors.As(err, &busy) || release != nil {
				t.Fatalf("Acquire = %v, %v; want a *Busy and no release", release != nil, err)
			}
			var r refusal = busy // implements problem.Refusal
			if r.HTTPStatus() != http.StatusServiceUnavailable || r.RetryAfter() != tc.retry || busy.Reason != tc.reason {
				t.Fatalf("status %d, retry %s, reason %s; want 503, %s, %s", r.HTTPStatus(), r.RetryAfter(), busy.Reason, tc.retry, tc.reason)
			}
			if c.refused[tc.reason] != 1 || b.Waiting() != 0 || b.InUse() != 10 {
				t.Fatalf("refused %v, waiting %d, in use %d", c.refused, b.Waiting(), b.InUse())
			}
			t.Log(err)
		})
	}
}

func TestBusyMessage(t *testing.T) {
	t.Parallel()
	if got, want := (&Busy{After: 1500 * time.Millisecond}).Error(), "this server is busy with other large images right now; please retry in 2 seconds"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestOversizeAdmittedAlone(t *testing.T) {
	t.Parallel()
	b, _ := newBudget(t, 100, 4, 5*time.Second)
	small, err := b.Acquire(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		r, err := b.Acquire(context.Background(), 1<<40) // far more than the budget
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	waitFor(t, b, 1)
	small()
	big := <-got
	if b.InUse() != 100 {
		t.Fatalf("in use = %d, want the whole budget (100)", b.InUse())
	}
	// Nothing else runs beside it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, 1); err == nil {
		t.Fatal("admitted beside an oversize request")
	}
	big()
	if b.InUse() != 0 {
		t.Fatalf("in use = %d after release", b.InUse())
	}
}

func TestCancelLeavesNothingHeld(t *testing.T) {
	t.Parallel()
	b, c := newBudget(t, 10, 4, time.Minute)
	hold, err := b.Acquire(context.Background(), 8)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := b.Acquire(ctx, 5)
		errc <- err
	}()
	waitFor(t, b, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	hold()
	if b.InUse() != 0 || b.Waiting() != 0 || len(c.refused) != 0 {
		t.Fatalf("in use %d, waiting %d, refused %v", b.InUse(), b.Waiting(), c.refused)
	}
	// The whole budget is still there.
	r, err := b.Acquire(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	r()
}

func TestNilBudgetAdmitsEverything(t *testing.T) {
	t.Parallel()
	var b *Budget
	r, err := b.Acquire(context.Background(), 1<<50)
	if err != nil {
		t.Fatal(err)
	}
	r()
	if b.Capacity() != 0 || b.InUse() != 0 || b.Waiting() != 0 {
		t.Fatal("a nil budget reports state")
	}
}

func TestDerive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lim, cache, want int64 }{
		{1 << 30, 256 << 20, 751619276 - Reserve - 256<<20}, // 0.7 GiB, less the reserve and the cache
		{128 << 20, 256 << 20, MinCapacity},
	} {
		if got := Derive(tc.lim, tc.cache); got != tc.want {
			t.Errorf("Derive(%d, %d) = %d, want %d", tc.lim, tc.cache, got, tc.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, args := range []struct {
		c int64
		q int
		w time.Duration
	}{{0, 1, time.Second}, {1, -1, time.Second}, {1, 1, 0}} {
		if _, err := New(args.c, args.q, args.w, Observer{}); err == nil {
			t.Errorf("New(%d, %d, %s) accepted", args.c, args.q, args.w)
		}
	}
}

func TestCoveredAndAwait(t *testing.T) {
	t.Parallel()
	b, c := newBudget(t, 10, 0, 20*time.Millisecond)
	outer, err := b.Acquire(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	// Work inside a covered context is not admitted again: it would wait
	// for its own reservation.
	inner, err := b.Acquire(Covered(context.Background()), 5)
	if err != nil {
		t.Fatal(err)
	}
	inner()
	got := make(chan error)
	go func() {
		r, err := b.Await(context.Background(), 4)
		if err == nil {
			r()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond) // refused at least once (queue 0)
	outer()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if c.refused[ReasonQueueFull] == 0 || b.InUse() != 0 {
		t.Fatalf("refused %v, in use %d", c.refused, b.InUse())
	}
	ctx, cancel := context.WithCancel(context.Background())
	hold, _ := b.Acquire(context.Background(), 10)
	defer hold()
	cancel()
	if _, err := b.Await(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await on a cancelled ctx = %v", err)
	}
}
