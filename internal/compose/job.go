package compose

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/easelhq/easel/internal/randid"
	"github.com/easelhq/easel/internal/workspace"
)

// Status is a job's state.
type Status string

// Job states. Queued and running jobs are live; the other two are final.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Final reports whether no runner will touch a job in this state again.
func (s Status) Final() bool { return s == StatusSucceeded || s == StatusFailed }

// ErrLeaseLost means a runner no longer holds a job's lease: the lease
// lapsed and another runner took the job over, or the job is final. The
// runner must stop working on it and write nothing.
var ErrLeaseLost = errors.New("job lease lost")

// Snapshot is the workspace image a job composites: the original and the
// edits applied when the job was submitted. A job re-run on another replica
// therefore works on exactly the same pixels.
type Snapshot struct {
	Original workspace.Image   `json:"original"`
	Edits    []json.RawMessage `json:"edits"`
	Width    int               `json:"width"`
	Height   int               `json:"height"`
}

// Result is a succeeded job's output image blob.
type Result struct {
	Digest string `json:"digest"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Job is one composite, as every replica sees it.
type Job struct {
	ID        string
	Workspace string
	Request   Request
	Base      Snapshot
	Status    Status
	// Progress is 0…1; 1 once succeeded.
	Progress float64
	// Error is the user-facing reason of a failed job.
	Error  string
	Result *Result
	// Owner is the runner holding the lease while running.
	Owner string
	// Attempts counts claims, the current one included.
	Attempts    int
	LeaseExpiry time.Time
	Created     time.Time
	Updated     time.Time
}

// Lease identifies one claim of a job: the owner and the attempt number,
// so that a runner whose lease was taken over (even by a runner with the
// same owner name) can no longer write.
type Lease struct {
	ID      string
	Owner   string
	Attempt int
}

// Lease returns the job's current claim.
func (j Job) Lease() Lease { return Lease{ID: j.ID, Owner: j.Owner, Attempt: j.Attempts} }

// View is the job as the API shows it: GET /api/v1/jobs/{id}.
type View struct {
	ID       string  `json:"id"`
	Status   Status  `json:"status"`
	Progress float64 `json:"progress"`
	Error    string  `json:"error,omitempty"`
	Result   *Result `json:"result,omitempty"`
}

// View returns the job's public view.
func (j Job) View() View {
	return View{ID: j.ID, Status: j.Status, Progress: j.Progress, Error: j.Error, Result: j.Result}
}

// Outcome is how a run ended: StatusSucceeded with Result, or StatusFailed
// with a user-facing Error.
type Outcome struct {
	Status Status
	Error  string
	Result *Result
}

// JobStore keeps jobs where every replica sees them, and hands queued jobs
// to runners. Every method is atomic: two runners never both hold a job.
type JobStore interface {
	// Create stores j (status queued, attempts 0) and queues it.
	Create(ctx context.Context, j Job) error
	// Get returns a job; found == false with a nil error when it does not
	// exist or has expired. err is for system failures only.
	Get(ctx context.Context, id string) (j Job, found bool, err error)
	// Claim first settles jobs whose lease lapsed (re-queued at the front,
	// or failed with abandonedReason once they have had maxAttempts
	// claims), then takes the oldest queued job, marks it running with a
	// lease of the given length owned by owner, and counts the attempt.
	// found == false means nothing is queued.
	Claim(ctx context.Context, owner string, lease time.Duration, maxAttempts int, abandonedReason string) (j Job, found bool, err error)
	// Heartbeat extends a held lease to lease from now and records
	// progress; ErrLeaseLost when l is no longer the job's current claim.
	Heartbeat(ctx context.Context, l Lease, lease time.Duration, progress float64) error
	// Finish records a run's outcome; ErrLeaseLost when l is no longer the
	// job's current claim (the outcome is then discarded).
	Finish(ctx context.Context, l Lease, out Outcome) error
	// Release puts a held job back at the front of the queue without
	// counting the attempt (a replica draining for shutdown);
	// ErrLeaseLost as for Finish.
	Release(ctx context.Context, l Lease) error
}

// NewJobID returns a fresh, unguessable job ID.
func NewJobID() (string, error) { return randid.New(16) }

// ValidJobID reports whether id looks like one NewJobID makes.
func ValidJobID(id string) bool { return randid.Valid(id, 16) }
