// Package budget admits memory-hungry work (decoding, rendering, exporting
// images) against a per-replica budget of bytes, so that a burst of large
// photos makes a replica answer "busy, retry" instead of being OOM-killed.
//
// A Budget is a weighted semaphore over bytes with a bounded wait queue and
// a wait deadline. Work that does not fit waits in FIFO order; beyond the
// queue length, or once the deadline passes, it is refused with a *[Busy]
// error that says when to retry (an HTTP 503 with Retry-After).
package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Refusal reasons, as reported by [Busy.Reason] and to [Observer.Refused].
const (
	ReasonQueueFull = "queue_full"
	ReasonDeadline  = "deadline"
)

// Observer receives what a Budget does, for metrics. Any field may be nil.
type Observer struct {
	// Waited is called for every admission that had to queue, with how
	// long it waited.
	Waited func(time.Duration)
	// Refused is called with ReasonQueueFull or ReasonDeadline.
	Refused func(reason string)
}

// Budget admits work by the bytes it will hold. It is safe for concurrent
// use. A nil *Budget admits everything at once (no budget configured).
type Budget struct {
	sem      *semaphore.Weighted
	capacity int64
	maxQueue int
	wait     time.Duration
	obs      Observer

	inUse   atomic.Int64
	mu      sync.Mutex // guards waiting
	waiting int
}

// New returns a budget of capacity bytes (> 0) on which at most maxQueue
// requests (>= 0) wait at once, each for at most wait (> 0).
func New(capacity int64, maxQueue int, wait time.Duration, obs Observer) (*Budget, error) {
	if capacity <= 0 || maxQueue < 0 || wait <= 0 {
		return nil, fmt.Errorf("budget: capacity %d, queue %d and wait %s must be positive", capacity, maxQueue, wait)
	}
	return &Budget{sem: semaphore.NewWeighted(capacity), capacity: capacity, maxQueue: maxQueue, wait: wait, obs: obs}, nil
}

// Acquire blocks until n bytes are free in the budget and returns the
// function that gives them back; release is safe to call more than once,
// and must be called on every path once the bytes are no longer held.
//
// A request of more than the whole capacity is clamped to the capacity: it
// waits until the budget is empty and then runs alone, so that one
// oversize export still succeeds. n <= 0 is admitted at once.
//
// When the request cannot be admitted at once and the queue already holds
// its maximum, Acquire returns a *[Busy] with reason [ReasonQueueFull]
// without waiting; when the wait deadline passes first, a *Busy with reason
// [ReasonDeadline]. When ctx ends first, ctx's error. In every error case
// nothing is held and release is nil.
//
// Inside a context marked by [Covered] Acquire admits at once: the work
// that marked it holds a reservation that covers this one too, and
// waiting for more could wait for itself.
func (b *Budget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil || n <= 0 || ctx.Value(coveredKey{}) != nil {
		return func() {}, nil
	}
	n = min(n, b.capacity)
	if b.sem.TryAcquire(n) {
		return b.admitted(n), nil
	}
	b.mu.Lock()
	if b.waiting >= b.maxQueue {
		b.mu.Unlock()
		return nil, b.refuse(ReasonQueueFull)
	}
	b.waiting++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.waiting--
		b.mu.Unlock()
	}()

	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		// semaphore.Acquire holds nothing when it fails.
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, b.refuse(ReasonDeadline)
		}
		return nil, err
	}
	if b.obs.Waited != nil {
		b.obs.Waited(time.Since(start))
	}
	return b.admitted(n), nil
}

// Await is Acquire for background work that no client waits on (a
// composite job): a refusal is not returned but retried after its
// RetryAfter, until the bytes are admitted or ctx ends (ctx's error).
func (b *Budget) Await(ctx context.Context, n int64) (release func(), err error) {
	for {
		release, err := b.Acquire(ctx, n)
		var busy *Busy
		if !errors.As(err, &busy) {
			return release, err
		}
		t := time.NewTimer(busy.After)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

type coveredKey struct{}

// Covered marks ctx as running under a reservation that already covers
// everything the work inside it admits: Acquire with it admits at once.
func Covered(ctx context.Context) context.Context {
	return context.WithValue(ctx, coveredKey{}, true)
}

func (b *Budget) admitted(n int64) func() {
	b.inUse.Add(n)
	var once sync.Once
	return func() {
		once.Do(func() {
			b.inUse.Add(-n)
			b.sem.Release(n)
		})
	}
}

func (b *Budget) refuse(reason string) error {
	if b.obs.Refused != nil {
		b.obs.Refused(reason)
	}
	return &Busy{Reason: reason, After: b.retryAfter()}
}

// retryAfter is the hint given with a refusal: the wait deadline (what a
// queued request would have waited), at least one second.
func (b *Budget) retryAfter() time.Duration {
	return max(time.Second, b.wait.Round(time.Second))
}

// Capacity is the budget's size in bytes (0 for a nil budget).
func (b *Budget) Capacity() int64 {
	if b == nil {
		return 0
	}
	return b.capacity
}

// InUse is how many bytes admitted work holds now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.inUse.Load()
}

// Waiting is how many requests are queued now.
func (b *Budget) Waiting() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

// Busy is the refusal of work that did not fit the budget in time. It
// implements problem.Refusal: an HTTP 503 with a Retry-After.
type Busy struct {
	Reason string        // ReasonQueueFull or ReasonDeadline
	After  time.Duration // when a retry may succeed
}

func (e *Busy) Error() string {
	s := int((e.After + time.Second - 1) / time.Second)
	unit := "seconds"
	if s == 1 {
		unit = "second"
	}
	return fmt.Sprintf("this server is busy with other large images right now; please retry in %d %s", s, unit)
}

// HTTPStatus is 503 Service Unavailable.
func (e *Busy) HTTPStatus() int { return 503 }

// RetryAfter is when a retry may succeed.
func (e *Busy) RetryAfter() time.Duration { return e.After }
