package blob

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process's memory, for a single replica.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	blobs map[string]memBlob
	puts  int
}

type memBlob struct {
	data    []byte
	expires time.Time
}

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{now: time.Now, blobs: map[string]memBlob{}} }

// Put implements Store.
func (m *Memory) Put(_ context.Context, data []byte, ttl time.Duration) (string, error) {
	d := Digest(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	b, ok := m.blobs[d]
	if !ok || !now.Before(b.expires) {
		b = memBlob{data: append([]byte(nil), data...)}
	}
	if exp := now.Add(ttl); exp.After(b.expires) {
		b.expires = exp
	}
	m.blobs[d] = b
	m.sweepLocked(now)
	return d, nil
}

// Get implements Store. The returned slice must not be modified.
func (m *Memory) Get(_ context.Context, digest string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[digest]
	if !ok || !m.now().Before(b.expires) {
		return nil, false, nil
	}
	return b.data, true, nil
}

// Touch implements Store.
func (m *Memory) Touch(_ context.Context, ttl time.Duration, digests ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp := m.now().Add(ttl)
	for _, d := range digests {
		if b, ok := m.blobs[d]; ok && exp.After(b.expires) {
			b.expires = exp
			m.blobs[d] = b
		}
	}
	return nil
}

// sweepLocked drops expired blobs every 64 puts, bounding the memory an
// abandoned upload holds without a background goroutine.
func (m *Memory) sweepLocked(now time.Time) {
	m.puts++
	if m.puts%64 != 0 {
		return
	}
	for d, b := range m.blobs {
		if !now.Before(b.expires) {
			delete(m.blobs, d)
		}
	}
}
