package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/statecache"
)

// Cached puts a replica-local cache in front of a Store, so that a page view
// whose workspace has not changed costs no round trip to Redis
// (statecache explains the mechanism).
//
// A cached workspace is only served to a request that proves it is the
// latest state its client has seen: the request's Tracker carries the Token
// of that state (the session's version cookie holds it, signed; every change
// and every read from the store hands the new token back through the
// Tracker). A token names one exact state and is never reused; a request
// without one reads the store.
//
// A copy is also served for at most maxAge after it was last read from or
// written to the store. That bounds what no token can see: a change the
// client did not make in a request (a composite job committing on another
// replica) and a change Redis lost in a failover after this replica cached
// it. Both show within maxAge; the composite's own progress page reads
// fresh (ReadFresh) before it sends the user to the editor.
type Cached struct {
	Store
	copies  *statecache.Cache[*Workspace]
	observe func(result string)
}

// NewCached returns a cache of at most size workspaces in front of s.
// observe, if not nil, receives every lookup's result (statecache.Hit,
// Miss, Conflict), for metrics.
func NewCached(s Store, size int, maxAge time.Duration, observe func(result string)) (*Cached, error) {
	copies, err := statecache.New[*Workspace](size, maxAge, nil)
	if err != nil {
		return nil, err
	}
	if observe == nil {
		observe = func(string) {}
	}
	return &Cached{Store: s, copies: copies, observe: observe}, nil
}

// Get implements Store: from memory when the request's Tracker proves the
// copy current, else from the store.
func (c *Cached) Get(ctx context.Context, id string) (*Workspace, bool, error) {
	t := trackerFrom(ctx)
	r := statecache.Miss
	if want := t.want(); want != "" && !isFresh(ctx) {
		var w *Workspace
		if w, r = c.copies.Get(id, want); r == statecache.Hit {
			c.observe(string(r))
			return clone(*w), true, nil
		}
	}
	c.observe(string(r))
	w, found, err := c.Store.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if !found {
		c.copies.Remove(id)
		return nil, false, nil
	}
	c.remember(t, w)
	return w, true, nil
}

// SetOriginal implements Store.
func (c *Cached) SetOriginal(ctx context.Context, id string, img Image) (*Workspace, error) {
	w, err := c.Store.SetOriginal(ctx, id, img)
	return c.changed(ctx, id, w, err)
}

// Append implements Store.
func (c *Cached) Append(ctx context.Context, id string, edit json.RawMessage, ifVersion int64) (*Workspace, error) {
	w, err := c.Store.Append(ctx, id, edit, ifVersion)
	return c.changed(ctx, id, w, err)
}

// Move implements Store.
func (c *Cached) Move(ctx context.Context, id string, m Movement) (*Workspace, error) {
	w, err := c.Store.Move(ctx, id, m)
	return c.changed(ctx, id, w, err)
}

func (c *Cached) changed(ctx context.Context, id string, w *Workspace, err error) (*Workspace, error) {
	if err != nil {
		// A conflict means the copy is behind; a missing workspace must not
		// stay cached. Either way the next read goes to the store.
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			c.copies.Remove(id)
		}
		return nil, err
	}
	c.remember(trackerFrom(ctx), w)
	return w, nil
}

func (c *Cached) remember(t *Tracker, w *Workspace) {
	if w.Token != "" {
		c.copies.Put(w.ID, w.Token, clone(*w))
	}
	t.saw(w)
}

// Tracker links one request's workspace reads and changes to the state its
// client last saw. The session layer makes one per request from the cookie
// and puts the token of every state the request saw back into the cookie.
type Tracker struct {
	mu   sync.Mutex
	last string
	seen func(w *Workspace)
}

// NewTracker returns a tracker for a client that last saw the state named
// by token ("" when unknown); seen, if not nil, is called with every state
// the request reads from the store or makes.
func NewTracker(token string, seen func(w *Workspace)) *Tracker {
	return &Tracker{last: token, seen: seen}
}

func (t *Tracker) want() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *Tracker) saw(w *Workspace) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.last = w.Token
	seen := t.seen
	t.mu.Unlock()
	if seen != nil {
		seen(w)
	}
}

type trackerKey struct{}

type freshKey struct{}

// WithTracker returns ctx carrying t.
func WithTracker(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, trackerKey{}, t)
}

func trackerFrom(ctx context.Context) *Tracker {
	t, _ := ctx.Value(trackerKey{}).(*Tracker)
	return t
}

// ReadFresh returns ctx whose workspace reads skip every replica cache: for
// a request that must see a change its client did not make itself, such as
// a composite job that another replica committed.
func ReadFresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

func isFresh(ctx context.Context) bool {
	f, _ := ctx.Value(freshKey{}).(bool)
	return f
}
