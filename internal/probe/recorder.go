package probe

import (
	"sync"
	"sync/atomic"
	"time"
)

// attemptRecord is one HTTP attempt as the probe saw it.
type attemptRecord struct {
	step     string
	at       time.Duration // since the run started
	latency  time.Duration
	status   int
	servedBy string
	session  string
	failed   bool   // no HTTP response (connection-level failure)
	errKind  string // classifyError of the failure, when failed
	errMsg   string // the failure's message, when failed
	reused   bool   // the attempt ran on a reused keep-alive connection
	retry    bool   // this attempt repeated a failed one
}

// stepRecord is one logical step of a flow, after retries.
type stepRecord struct {
	step    string
	latency time.Duration
}

// flowRecord is one flow of one user.
type flowRecord struct {
	user, iteration int
	start, end      time.Duration // since the run started
	ok              bool
	kind            string // failure kind when !ok
	detail          string // human-readable failure when !ok
	servedBy        []string
}

// recorder collects attempts, steps and flows from all users. It is safe
// for concurrent use.
type recorder struct {
	start time.Time

	mu       sync.Mutex
	attempts []attemptRecord
	steps    []stepRecord
	flows    []flowRecord
	events   []Event

	violations map[string]int

	done       atomic.Int64
	broken     atomic.Int64
	reqs       atomic.Int64
	duplicates atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{start: time.Now(), violations: map[string]int{}}
}

// since returns t's offset from the start of the run.
func (r *recorder) since(t time.Time) time.Duration { return t.Sub(r.start) }

// sinceNow returns the time since the start of the run.
func (r *recorder) sinceNow() time.Duration { return time.Since(r.start) }

// duplicateEdit counts an edit applied twice because it was retried.
func (r *recorder) duplicateEdit() { r.duplicates.Add(1) }

// contractViolation counts a response that breaks the HTTP contract without
// breaking the flow (a missing header, for instance).
func (r *recorder) contractViolation(what string) {
	r.mu.Lock()
	r.violations[what]++
	r.mu.Unlock()
}

func (r *recorder) attempt(a attemptRecord) {
	r.reqs.Add(1)
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

func (r *recorder) step(s stepRecord) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
}

func (r *recorder) flow(f flowRecord) {
	r.done.Add(1)
	if !f.ok {
		r.broken.Add(1)
	}
	r.mu.Lock()
	r.flows = append(r.flows, f)
	r.mu.Unlock()
}

func (r *recorder) event(label string) {
	r.mu.Lock()
	r.events = append(r.events, Event{At: r.since(time.Now()).Seconds(), Label: label})
	r.mu.Unlock()
}
