package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/photo"
)

// Options are the run's collaborators, apart from what it does (Config).
type Options struct {
	// Logger receives one debug record per broken flow; nil discards.
	Logger *slog.Logger
	// Progress receives a progress line, rewritten in place, while the probe
	// runs; nil prints nothing.
	Progress io.Writer
	// ProgressInterval is how often the progress line is rewritten; default
	// 500 ms.
	ProgressInterval time.Duration
}

// Runner runs the probe once. Create it with NewRunner; Stop, Mark and
// Completed may be called from other goroutines while Run runs.
type Runner struct {
	cfg   Config
	opts  Options
	base  *url.URL
	rec   *recorder
	runID uint64
	photo []byte // Config.Photo: the run's photo, uploaded by every flow with a comment of its own

	stopOnce sync.Once
	stop     chan struct{}
}

// NewRunner validates cfg and returns a Runner for it.
func NewRunner(cfg Config, opts Options) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("probe config: %w", err)
	}
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing url: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 500 * time.Millisecond
	}
	r := &Runner{
		cfg:   cfg,
		opts:  opts,
		base:  base,
		rec:   newRecorder(),
		runID: rand.Uint64(),
		stop:  make(chan struct{}),
	}
	if cfg.Photo {
		// Made once: a 48 MP photo takes seconds to encode, which would
		// otherwise be counted against every flow.
		if r.photo, err = photo.JPEG(cfg.ImageWidth, cfg.ImageHeight, r.runID, 90); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run is NewRunner followed by Runner.Run.
func Run(ctx context.Context, cfg Config, opts Options) (*Result, error) {
	r, err := NewRunner(cfg, opts)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx)
}

// Stop lets every user finish the flow it is in and start no other. Run
// then returns. It is safe to call more than once.
func (r *Runner) Stop() { r.stopOnce.Do(func() { close(r.stop) }) }

// Completed returns the number of flows finished so far.
func (r *Runner) Completed() int { return int(r.rec.done.Load()) }

// Mark records an event, such as "killed easel-2", at the current time; the
// HTML report draws it on the timeline.
func (r *Runner) Mark(label string) { r.rec.event(label) }

// Run runs every virtual user until it has done its iterations, the
// duration has passed, Stop was called or ctx ended, and returns the
// result. Flows cut short by ctx are not counted. It returns an error only
// when the probe itself cannot run; a broken service is a result.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	users := make([]*user, r.cfg.Users)
	for i := range users {
		u, err := newUser(i, r.cfg, r.base, r.rec)
		if err != nil {
			return nil, err
		}
		users[i] = u
	}
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = time.Now().Add(r.cfg.Duration)
	}
	pace := newPacer(r.cfg.Rate)

	progressDone := make(chan struct{})
	progressStop := make(chan struct{})
	go func() {
		defer close(progressDone)
		r.progress(progressStop)
	}()

	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			defer u.close()
			r.runUser(ctx, u, deadline, pace)
		})
	}
	wg.Wait()
	close(progressStop)
	<-progressDone
	return r.result(), nil
}

// runUser runs one user's flows.
func (r *Runner) runUser(ctx context.Context, u *user, deadline time.Time, pace *pacer) {
	for it := 0; ; it++ {
		if deadline.IsZero() && it >= r.cfg.Iterations || !deadline.IsZero() && time.Now().After(deadline) {
			return
		}
		select {
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if err := pace.wait(ctx, r.stop); err != nil {
			return
		}
		up, err := r.makeUpload(u.id, it)
		if err != nil {
			r.opts.Logger.Error("generating upload", "error", err)
			return
		}
		f := u.runFlow(ctx, r.cfg, up, it)
		if ctx.Err() != nil && !f.ok {
			return // cut short by the caller, not by the service
		}
		if !f.ok {
			r.opts.Logger.Debug("broken flow", "user", f.user, "iteration", f.iteration, "kind", f.kind, "detail", f.detail)
		}
		r.rec.flow(f)
	}
}

// makeUpload makes the image of one flow.
func (r *Runner) makeUpload(user, iteration int) (upload, error) {
	if r.photo != nil {
		return makePhotoUpload(r.photo, r.runID, user, iteration, r.cfg.ImageWidth, r.cfg.ImageHeight)
	}
	return makeUpload(r.runID, user, iteration, r.cfg.ImageWidth, r.cfg.ImageHeight)
}

// progress rewrites a one-line status on opts.Progress until stop closes.
func (r *Runner) progress(stop <-chan struct{}) {
	if r.opts.Progress == nil {
		<-stop
		return
	}
	total := ""
	if r.cfg.Duration <= 0 {
		total = fmt.Sprintf("/%d", r.cfg.Users*r.cfg.Iterations)
	}
	t := time.NewTicker(r.opts.ProgressInterval)
	defer t.Stop()
	line := func() {
		el := r.rec.sinceNow()
		reqs := r.rec.reqs.Load()
		fmt.Fprintf(r.opts.Progress, "\r\033[Kprobe: %6.1fs  flows %d%s  broken %d  requests %d  (%.0f req/s)",
			el.Seconds(), r.rec.done.Load(), total, r.rec.broken.Load(), reqs, float64(reqs)/max(el.Seconds(), 0.001))
	}
	for {
		select {
		case <-stop:
			line()
			fmt.Fprintln(r.opts.Progress)
			return
		case <-t.C:
			line()
		}
	}
}

// pacer spaces flow starts across all users to a rate per second.
type pacer struct {
	interval time.Duration
	mu       sync.Mutex
	next     time.Time
}

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return &pacer{}
	}
	return &pacer{interval: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the caller's slot, ctx ends or stop closes.
func (p *pacer) wait(ctx context.Context, stop <-chan struct{}) error {
	if p.interval == 0 {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	t := time.NewTimer(time.Until(slot))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-stop:
		return fmt.Errorf("probe stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}
