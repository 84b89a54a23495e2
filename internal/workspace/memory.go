package workspace

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// Memory is a Store in this process's memory, for a single replica.
type Memory struct {
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	wss map[string]memWorkspace
}

type memWorkspace struct {
	ws      Workspace
	expires time.Time
}

// NewMemory returns an empty store whose workspaces expire ttl after their
// last change.
func NewMemory(ttl time.Duration) *Memory {
	return &Memory{ttl: ttl, now: time.Now, wss: map[string]memWorkspace{}}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, id string) (*Workspace, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.load(id)
	if !ok {
		return nil, false, nil
	}
	return clone(w), true, nil
}

// SetOriginal implements Store.
func (m *Memory) SetOriginal(_ context.Context, id string, img Image) (*Workspace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, _ := m.load(id)
	w.ID, w.Original, w.Edits, w.Cursor = id, &img, nil, 0
	return m.store(w), nil
}

// Append implements Store.
func (m *Memory) Append(_ context.Context, id string, edit json.RawMessage, ifVersion int64) (*Workspace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.load(id)
	if !ok {
		return nil, ErrNotFound
	}
	if ifVersion >= 0 && ifVersion != w.Version {
		return nil, ErrConflict
	}
	if w.Cursor >= MaxEdits {
		return nil, ErrTooManyEdits
	}
	w.Edits = append(slices.Clip(w.Edits[:w.Cursor]), slices.Clone(edit))
	w.Cursor = len(w.Edits)
	return m.store(w), nil
}

// Move implements Store.
func (m *Memory) Move(_ context.Context, id string, mv Movement) (*Workspace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.load(id)
	if !ok {
		return nil, ErrNotFound
	}
	switch mv {
	case Undo:
		w.Cursor = max(0, w.Cursor-1)
	case Redo:
		w.Cursor = min(len(w.Edits), w.Cursor+1)
	case Reset:
		w.Edits, w.Cursor = nil, 0
	}
	return m.store(w), nil
}

func (m *Memory) load(id string) (Workspace, bool) {
	e, ok := m.wss[id]
	if !ok || !m.now().Before(e.expires) {
		delete(m.wss, id)
		return Workspace{}, false
	}
	return e.ws, true
}

func (m *Memory) store(w Workspace) *Workspace {
	w.Version++
	w.Token = token(w.Version, newTag())
	m.wss[w.ID] = memWorkspace{ws: w, expires: m.now().Add(m.ttl)}
	return clone(w)
}

func clone(w Workspace) *Workspace {
	c := w
	if w.Edits != nil {
		// Copy the edits' bytes too: a caller changing an edit it was
		// handed must not change the stored workspace (Redis never shares).
		c.Edits = make([]json.RawMessage, len(w.Edits))
		for i, e := range w.Edits {
			c.Edits[i] = slices.Clone(e)
		}
	}
	if w.Original != nil {
		o := *w.Original
		c.Original = &o
	}
	return &c
}
