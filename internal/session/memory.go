package session

import (
	"context"
	"sync"
	"time"
)

// Memory is a Backend in this process's memory: for a single replica and for
// `make run`. Sessions kept here are invisible to every other replica, which
// is exactly the bug easel exists to show.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
	writes  int
}

type memEntry struct {
	data    []byte
	expires time.Time
}

// NewMemory returns an empty memory backend.
func NewMemory() *Memory {
	return &Memory{now: time.Now, entries: map[string]memEntry{}}
}

// Load implements Backend.
func (m *Memory) Load(_ context.Context, id string, ttl time.Duration) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	now := m.now()
	if !ok || !now.Before(e.expires) {
		delete(m.entries, id)
		return nil, false, nil
	}
	e.expires = now.Add(ttl)
	m.entries[id] = e
	return append([]byte(nil), e.data...), true, nil
}

// Create implements Backend.
func (m *Memory) Create(_ context.Context, id string, data []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e, ok := m.entries[id]; ok && now.Before(e.expires) {
		return ErrExists
	}
	m.entries[id] = memEntry{data: append([]byte(nil), data...), expires: now.Add(ttl)}
	m.sweepLocked(now)
	return nil
}

// Update implements Backend.
func (m *Memory) Update(_ context.Context, id string, data []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e, ok := m.entries[id]; !ok || !now.Before(e.expires) {
		delete(m.entries, id)
		return ErrGone
	}
	m.entries[id] = memEntry{data: append([]byte(nil), data...), expires: now.Add(ttl)}
	return nil
}

// Delete implements Backend.
func (m *Memory) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, id)
	return nil
}

// Len reports how many sessions are stored, expired ones included until swept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// sweepLocked drops expired sessions every 1024 creations, so that an
// abandoned session costs memory for a bounded time without a goroutine.
func (m *Memory) sweepLocked(now time.Time) {
	m.writes++
	if m.writes%1024 != 0 {
		return
	}
	for id, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, id)
		}
	}
}
