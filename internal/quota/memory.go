package quota

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one replica: the same GCRA as redis_rate's
// script, with the theoretical arrival times in a map. Keys whose budget is
// full again are dropped, so the map holds only clients seen recently.
type Memory struct {
	now func() time.Time
	mu  sync.Mutex
	tat map[string]time.Time
	// sweepAt is when the map is next swept of keys that are back to a
	// full budget.
	sweepAt time.Time
}

// NewMemory returns a memory limiter; now is time.Now outside tests.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: map[string]time.Time{}}
}

// AllowN implements Limiter.
func (m *Memory) AllowN(_ context.Context, key string, l Limit, n int) (Result, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	emission := l.Period / time.Duration(l.Rate)
	tat, ok := m.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(emission * time.Duration(n))
	allowAt := newTAT.Add(-emission * time.Duration(l.Burst))
	if wait := allowAt.Sub(now); wait > 0 {
		return Result{RetryAfter: wait}, nil
	}
	if n > 0 {
		m.tat[key] = newTAT
	}
	return Result{Allowed: true}, nil
}

// sweep drops keys whose theoretical arrival time has passed (their
// budget is full), at most once a minute.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.sweepAt) {
		return
	}
	m.sweepAt = now.Add(time.Minute)
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
		}
	}
}
