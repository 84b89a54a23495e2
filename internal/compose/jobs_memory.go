package compose

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryJobs is a JobStore in process memory, for a single replica and for
// tests. Finished jobs are forgotten ttl after their last change.
type MemoryJobs struct {
	mu    sync.Mutex
	ttl   time.Duration
	now   func() time.Time
	jobs  map[string]Job
	queue []string
}

// NewMemoryJobs returns an empty store whose jobs expire ttl after their
// last change.
func NewMemoryJobs(ttl time.Duration) *MemoryJobs {
	return &MemoryJobs{ttl: ttl, now: time.Now, jobs: map[string]Job{}}
}

// Create implements JobStore.
func (m *MemoryJobs) Create(_ context.Context, j Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	j.Status, j.Attempts, j.Owner, j.LeaseExpiry = StatusQueued, 0, "", time.Time{}
	j.Created, j.Updated = now, now
	m.jobs[j.ID] = j
	m.queue = append(m.queue, j.ID)
	return nil
}

// Get implements JobStore.
func (m *MemoryJobs) Get(_ context.Context, id string) (Job, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok || m.now().Sub(j.Updated) > m.ttl {
		return Job{}, false, nil
	}
	return j, true, nil
}

// Claim implements JobStore.
func (m *MemoryJobs) Claim(_ context.Context, owner string, lease time.Duration, maxAttempts int, reason string) (Job, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	var requeue []string
	for id, j := range m.jobs {
		if j.Status != StatusRunning || now.Before(j.LeaseExpiry) {
			continue
		}
		j.Owner, j.LeaseExpiry, j.Updated = "", time.Time{}, now
		if j.Attempts >= maxAttempts {
			j.Status, j.Error = StatusFailed, reason
		} else {
			j.Status = StatusQueued
			requeue = append(requeue, id)
		}
		m.jobs[id] = j
	}
	slices.Sort(requeue) // deterministic order; map iteration is not
	m.queue = append(requeue, m.queue...)
	for len(m.queue) > 0 {
		id := m.queue[0]
		m.queue = m.queue[1:]
		j, ok := m.jobs[id]
		if !ok || j.Status != StatusQueued {
			continue
		}
		j.Status, j.Owner, j.Attempts = StatusRunning, owner, j.Attempts+1
		j.LeaseExpiry, j.Updated = now.Add(lease), now
		m.jobs[id] = j
		return j, true, nil
	}
	return Job{}, false, nil
}

// Heartbeat implements JobStore.
func (m *MemoryJobs) Heartbeat(_ context.Context, l Lease, lease time.Duration, progress float64) error {
	return m.update(l, func(j *Job, now time.Time) {
		j.LeaseExpiry, j.Progress = now.Add(lease), progress
	})
}

// Finish implements JobStore.
func (m *MemoryJobs) Finish(_ context.Context, l Lease, out Outcome) error {
	return m.update(l, func(j *Job, _ time.Time) {
		j.Status, j.Error, j.Result = out.Status, out.Error, out.Result
		j.Owner, j.LeaseExpiry = "", time.Time{}
		if out.Status == StatusSucceeded {
			j.Progress = 1
		}
	})
}

// Release implements JobStore.
func (m *MemoryJobs) Release(_ context.Context, l Lease) error {
	err := m.update(l, func(j *Job, _ time.Time) {
		j.Status, j.Owner, j.LeaseExpiry, j.Attempts = StatusQueued, "", time.Time{}, j.Attempts-1
	})
	if err == nil {
		m.mu.Lock()
		m.queue = append([]string{l.ID}, m.queue...)
		m.mu.Unlock()
	}
	return err
}

// update applies fn to the job if l is its current claim.
func (m *MemoryJobs) update(l Lease, fn func(j *Job, now time.Time)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[l.ID]
	if !ok || j.Status != StatusRunning || j.Owner != l.Owner || j.Attempts != l.Attempt {
		return ErrLeaseLost
	}
	now := m.now()
	fn(&j, now)
	j.Updated = now
	m.jobs[l.ID] = j
	return nil
}

// sweepLocked forgets expired jobs.
func (m *MemoryJobs) sweepLocked(now time.Time) {
	for id, j := range m.jobs {
		if now.Sub(j.Updated) > m.ttl {
			delete(m.jobs, id)
		}
	}
}
