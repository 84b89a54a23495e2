package compose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Executor does a job's work for a Runner, in two steps so that the runner
// can check it still holds the lease between them.
type Executor interface {
	// Execute computes the composite and stores it; it is repeatable (a job
	// taken over is executed again from scratch). progress takes 0…1.
	Execute(ctx context.Context, j Job, progress func(float64)) (Result, error)
	// Commit makes the result visible: it appends the composite edit to
	// the job's workspace.
	Commit(ctx context.Context, j Job, r Result) error
}

// RunnerConfig tunes a Runner.
type RunnerConfig struct {
	// Owner names this replica's runner in job records (e.g. the pod name).
	Owner string
	// Concurrency is the most jobs this runner runs at once.
	Concurrency int
	// Lease is how long a claim lasts without a heartbeat; Heartbeat is how
	// often a running job renews it (and records progress). Heartbeat must
	// be well under Lease.
	Lease, Heartbeat time.Duration
	// Poll is how often an idle runner looks for queued jobs.
	Poll time.Duration
	// MaxAttempts is how many claims a job gets before a lapsed lease fails
	// it instead of re-queueing it.
	MaxAttempts int
}

// Runner defaults.
const (
	DefaultConcurrency = 2
	DefaultLease       = 10 * time.Second
	DefaultHeartbeat   = 2 * time.Second
	DefaultPoll        = time.Second
	DefaultMaxAttempts = 3
)

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.Heartbeat <= 0 || c.Heartbeat >= c.Lease {
		c.Heartbeat = c.Lease / 5
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Owner == "" {
		c.Owner = "easel"
	}
	return c
}

// abandonedReason is the error of a job failed after its replicas kept
// dying under it.
func abandonedReason(attempts int) string {
	return fmt.Sprintf("The composite was interrupted %d times (the server running it stopped); please try again.", attempts)
}

// Runner claims queued jobs from a JobStore and runs at most Concurrency
// of them at once on this replica.
type Runner struct {
	cfg   RunnerConfig
	jobs  JobStore
	exec  Executor
	log   *slog.Logger
	nudge chan struct{}

	mu       sync.Mutex
	started  bool
	stopLoop context.CancelFunc // stops claiming
	abort    context.CancelFunc // cancels running jobs, which release their lease
	loopDone chan struct{}
	running  sync.WaitGroup
	killed   context.Context // done when Start's ctx is: the replica is dying
	aborting atomic.Bool
}

// NewRunner returns a runner; Start starts it.
func NewRunner(cfg RunnerConfig, jobs JobStore, exec Executor, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg.withDefaults(), jobs: jobs, exec: exec, log: log, nudge: make(chan struct{}, 1)}
}

// Start begins claiming jobs. Cancelling ctx stops the runner abruptly, as
// if the replica died: running jobs stop and their leases are left to
// lapse, so another replica takes them over. For a graceful stop, call Stop.
func (r *Runner) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	r.started = true
	r.killed = ctx
	loopCtx, stopLoop := context.WithCancel(ctx)
	jobCtx, abort := context.WithCancel(ctx)
	r.stopLoop, r.abort = stopLoop, abort
	r.loopDone = make(chan struct{})
	go r.loop(loopCtx, jobCtx)
}

// Nudge tells the runner a job was just queued, so an idle runner claims
// it without waiting for the next poll.
func (r *Runner) Nudge() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// Stop drains the runner: it stops claiming, lets running jobs finish until
// ctx is done, then cancels the rest and releases their leases so another
// replica picks them up at once. It returns ctx's error if jobs had to be
// released.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	stopLoop, abort, loopDone := r.stopLoop, r.abort, r.loopDone
	r.mu.Unlock()
	stopLoop()
	<-loopDone
	done := make(chan struct{})
	go func() { r.running.Wait(); close(done) }()
	select {
	case <-done:
		abort()
		return nil
	case <-ctx.Done():
		r.aborting.Store(true)
		abort()
		<-done
		return fmt.Errorf("draining compose runner: %w", ctx.Err())
	}
}

// loop claims jobs while slots are free.
func (r *Runner) loop(ctx, jobCtx context.Context) {
	defer close(r.loopDone)
	slots := make(chan struct{}, r.cfg.Concurrency)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		j, found, err := r.jobs.Claim(ctx, r.cfg.Owner, r.cfg.Lease, r.cfg.MaxAttempts, abandonedReason(r.cfg.MaxAttempts))
		if err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "claiming compose job", "err", err)
		}
		if !found || err != nil {
			<-slots
			select {
			case <-ctx.Done():
				return
			case <-r.nudge:
			case <-time.After(r.cfg.Poll):
			}
			continue
		}
		r.running.Add(1)
		go func() {
			defer r.running.Done()
			defer func() { <-slots }()
			r.run(jobCtx, j)
		}()
	}
}

// run executes one claimed job under a heartbeat.
func (r *Runner) run(ctx context.Context, j Job) {
	l := j.Lease()
	log := r.log.With("job", j.ID, "workspace", j.Workspace, "attempt", l.Attempt)
	log.InfoContext(ctx, "compose job started", "mode", j.Request.Mode)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var progress atomic.Uint64
	setProgress := func(p float64) { progress.Store(math.Float64bits(0.05 + 0.85*p)) }
	setProgress(0)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(r.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := r.jobs.Heartbeat(ctx, l, r.cfg.Lease, math.Float64frombits(progress.Load()))
			if errors.Is(err, ErrLeaseLost) {
				cancel(ErrLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				// The lease may lapse if this persists; then another
				// replica takes over and our writes are refused.
				log.WarnContext(ctx, "renewing compose job lease", "err", err)
			}
		}
	}()
	res, err := r.exec.Execute(ctx, j, setProgress)
	if err == nil {
		// Verify the lease just before the one step that is not guarded by
		// it, so a job taken over elsewhere is not committed twice.
		err = r.jobs.Heartbeat(ctx, l, r.cfg.Lease, 0.95)
		if err == nil {
			err = r.exec.Commit(ctx, j, res)
		}
	}
	cancel(nil)
	<-hbDone
	// Writes from here use a fresh context: ctx may be cancelled.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer wcancel()
	switch {
	case r.killed.Err() != nil && !r.aborting.Load():
		log.WarnContext(wctx, "compose job abandoned: runner killed; its lease will lapse")
	case errors.Is(err, ErrLeaseLost) || errors.Is(context.Cause(ctx), ErrLeaseLost) && err != nil:
		log.WarnContext(wctx, "compose job lease lost; another replica owns it now")
	case r.aborting.Load() && err != nil:
		if rerr := r.jobs.Release(wctx, l); rerr != nil {
			log.WarnContext(wctx, "releasing compose job", "err", rerr)
		} else {
			log.InfoContext(wctx, "compose job released for another replica")
		}
	case err != nil:
		msg := UserMessage(err)
		log.WarnContext(wctx, "compose job failed", "err", err, "detail", msg)
		if ferr := r.jobs.Finish(wctx, l, Outcome{Status: StatusFailed, Error: msg}); ferr != nil {
			log.WarnContext(wctx, "recording compose job failure", "err", ferr)
		}
	default:
		if ferr := r.jobs.Finish(wctx, l, Outcome{Status: StatusSucceeded, Result: &res}); ferr != nil {
			log.WarnContext(wctx, "recording compose job success", "err", ferr)
			return
		}
		log.InfoContext(wctx, "compose job succeeded", "result", res.Digest)
	}
}
