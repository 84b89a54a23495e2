package quota

import (
	"context"
	"fmt"
	"time"
)

// UploadLimits are the per-client budgets of uploads; a zero field
// disables that limit.
type UploadLimits struct {
	PerMinute        int   // uploads a minute per client address
	BytesPerHour     int64 // upload bytes an hour per client address
	SessionPerMinute int   // uploads a minute per session
	SessionBytesHour int64 // upload bytes an hour per session
}

// kib is the unit bytes are counted in: redis_rate counts in int, and a
// KiB grain keeps a 2 GiB budget far from any overflow.
const kib = 1024

// Uploads applies UploadLimits with a Limiter.
type Uploads struct {
	limiter Limiter
	limits  UploadLimits
}

// NewUploads returns the upload policy.
func NewUploads(l Limiter, limits UploadLimits) *Uploads {
	return &Uploads{limiter: l, limits: limits}
}

// Enabled reports whether any limit is on.
func (u *Uploads) Enabled() bool {
	l := u.limits
	return l.PerMinute > 0 || l.BytesPerHour > 0 || l.SessionPerMinute > 0 || l.SessionBytesHour > 0
}

// check is one budget of one client.
type check struct {
	key    string
	limit  Limit
	n      int
	reason string
	what   string
}

// Admit counts one upload against the client address and, when the
// request has one already, the session. It is called before the body is
// read. The error is an *Exceeded (429) or a store failure.
func (u *Uploads) Admit(ctx context.Context, addr, session string) error {
	var cs []check
	if n := u.limits.PerMinute; n > 0 {
		cs = append(cs, check{"up:a:" + addr, perMinute(n), 1, ReasonUploads, fmt.Sprintf("%s a minute from your address", uploads(n))})
	}
	if n := u.limits.SessionPerMinute; n > 0 && session != "" {
		cs = append(cs, check{"up:s:" + session, perMinute(n), 1, ReasonUploads, fmt.Sprintf("%s a minute per session", uploads(n))})
	}
	return u.run(ctx, cs)
}

// Charge counts size bytes of upload against the client address and the
// session: the Content-Length before the body is read, or what was read
// when the length was not announced.
func (u *Uploads) Charge(ctx context.Context, addr, session string, size int64) error {
	cost := int((size + kib - 1) / kib)
	if cost <= 0 {
		return nil
	}
	var cs []check
	if b := u.limits.BytesPerHour; b > 0 {
		cs = append(cs, check{"by:a:" + addr, perHourKiB(b), cost, ReasonBytes, fmt.Sprintf("%s of uploads an hour from your address", size2(b))})
	}
	if b := u.limits.SessionBytesHour; b > 0 && session != "" {
		cs = append(cs, check{"by:s:" + session, perHourKiB(b), cost, ReasonBytes, fmt.Sprintf("%s of uploads an hour per session", size2(b))})
	}
	return u.run(ctx, cs)
}

// run asks each budget in turn and stops at the first refusal. A budget
// already charged when a later one refuses stays charged: the refused
// upload spent a little of the first, which errs on the side of the store.
func (u *Uploads) run(ctx context.Context, cs []check) error {
	for _, c := range cs {
		res, err := u.limiter.AllowN(ctx, c.key, c.limit, c.n)
		if err != nil {
			return fmt.Errorf("checking the %s limit: %w", c.reason, err)
		}
		if !res.Allowed {
			return &Exceeded{Reason: c.reason, What: c.what, Retry: res.RetryAfter}
		}
	}
	return nil
}

func perMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute, Burst: n} }

func perHourKiB(b int64) Limit {
	k := int(b / kib)
	return Limit{Rate: k, Period: time.Hour, Burst: k}
}

// size2 shows a budget in GiB or MiB.
func size2(b int64) string {
	if b >= 1<<30 && b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// uploads says n uploads: "1 upload", "30 uploads".
func uploads(n int) string {
	if n == 1 {
		return "1 upload"
	}
	return fmt.Sprintf("%d uploads", n)
}
