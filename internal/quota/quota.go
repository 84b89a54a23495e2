// Package quota limits how much one client may ask of easel, across every
// replica: uploads per minute and upload bytes per hour, per client address
// and per session. The Redis limiter (GCRA, go-redis/redis_rate) shares each
// budget through Redis; the memory limiter is the same algorithm for the
// one-replica memory store.
package quota

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Limit is a rate: Rate events per Period, of which Burst may come at once.
// It mirrors redis_rate.Limit.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Off reports whether l limits nothing (a zero rate disables a limit).
func (l Limit) Off() bool { return l.Rate <= 0 || l.Period <= 0 }

// Result is the answer to AllowN.
type Result struct {
	// Allowed is true when the n events were counted against the key.
	Allowed bool
	// RetryAfter is when n events would be allowed; 0 when allowed now.
	RetryAfter time.Duration
}

// Limiter counts events against keys with the generic cell rate algorithm.
type Limiter interface {
	// AllowN reports whether n events may happen now for key under l and,
	// if so, counts them. A refused request counts nothing, so a client
	// that waits RetryAfter is allowed (unless others used the budget in
	// between). n larger than l.Burst is never allowed. Errors are system
	// failures only (the store unreachable).
	AllowN(ctx context.Context, key string, l Limit, n int) (Result, error)
}

// Exceeded is the refusal of a request over a limit: 429 with Retry-After.
// It implements the server's problem.Refusal.
type Exceeded struct {
	// Reason is the metrics label: rate_uploads or rate_bytes.
	Reason string
	// What says which limit, for the user: "30 uploads a minute from your address".
	What  string
	Retry time.Duration
}

// Reasons of an Exceeded refusal (and metric labels).
const (
	ReasonUploads = "rate_uploads"
	ReasonBytes   = "rate_bytes"
)

func (e *Exceeded) Error() string {
	return fmt.Sprintf("you reached the limit of %s; please retry in %s", e.What, wait(e.Retry))
}

// HTTPStatus implements problem.Refusal.
func (e *Exceeded) HTTPStatus() int { return http.StatusTooManyRequests }

// RetryAfter implements problem.Refusal.
func (e *Exceeded) RetryAfter() time.Duration { return e.Retry }

// wait says d for people, rounded up: "1 second", "45 seconds", then
// whole minutes past two minutes ("3 minutes").
func wait(d time.Duration) string {
	n, unit := int((max(d, time.Second)+time.Second-1)/time.Second), "second"
	if d > 2*time.Minute {
		n, unit = int((d+time.Minute-1)/time.Minute), "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
