package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cached puts a replica-local cache in front of a Store, so that a page view
// whose workspace has not changed costs no round trip to Redis.
//
// A cached workspace is only served to a request that proves it is the
// latest state its client has seen: the request's Tracker carries the Token
// of that state (the session cookie holds it, signed; every change and
// every read from the store hands the new token back through the Tracker).
// A token names one exact state and is never reused, so a copy whose token
// equals the client's is that state; any other token, a forged one, one
// from before tokens, or none at all, is a miss that reads the store. This
// gives read-your-writes across replicas without any invalidation
// messages: a write on replica A changes the client's token, so replica B's
// older copy no longer matches and B reads Redis.
//
// A copy is also served for at most maxAge after it was last read from or
// written to the store. That bounds what no token can see: a change the
// client did not make in a request (a composite job committing on another
// replica) and a change Redis lost in a failover after this replica cached
// it. Both show within maxAge; the composite's own progress page reads
// fresh (ReadFresh) before it sends the user to the editor.
//
// Why not go-redis' client-side caching (RESP3 CLIENT TRACKING): its
// invalidations arrive asynchronously, after the writer's reply, so a read
// on replica B right after a write on A can still see the old value; it
// caches plain reads (GET, HGET), not the scripts that read a workspace
// atomically; and it needs RESP3 on every node, Sentinel and Cluster
// included. The eviction order is hashicorp/golang-lru's, not hand-written.
type Cached struct {
	Store
	entries *lru.Cache[string, cachedWorkspace]
	maxAge  time.Duration
	now     func() time.Time
	observe func(result string)
}

type cachedWorkspace struct {
	ws        *Workspace
	confirmed time.Time // when the store last returned this state
}

// Cache lookup results, as reported to the observe function of NewCached.
const (
	CacheHit      = "hit"      // served from memory
	CacheMiss     = "miss"     // not cached, too old, or the request had no token
	CacheConflict = "conflict" // cached, but not the state the client last saw
)

// NewCached returns a cache of at most size workspaces in front of s.
// observe, if not nil, receives every lookup's result (for metrics).
func NewCached(s Store, size int, maxAge time.Duration, observe func(result string)) (*Cached, error) {
	entries, err := lru.New[string, cachedWorkspace](size)
	if err != nil {
		return nil, err
	}
	if observe == nil {
		observe = func(string) {}
	}
	return &Cached{Store: s, entries: entries, maxAge: maxAge, now: time.Now, observe: observe}, nil
}

// Get implements Store: from memory when the request's Tracker proves the
// copy current, else from the store.
func (c *Cached) Get(ctx context.Context, id string) (*Workspace, bool, error) {
	t := trackerFrom(ctx)
	if want := t.want(); want != "" && !isFresh(ctx) {
		e, ok := c.entries.Get(id)
		switch {
		case !ok || c.now().Sub(e.confirmed) >= c.maxAge:
			c.observe(CacheMiss)
		case e.ws.Token != want:
			c.observe(CacheConflict)
		default:
			c.observe(CacheHit)
			return clone(*e.ws), true, nil
		}
	} else {
		c.observe(CacheMiss)
	}
	w, found, err := c.Store.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if !found {
		c.entries.Remove(id)
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
			c.entries.Remove(id)
		}
		return nil, err
	}
	c.remember(trackerFrom(ctx), w)
	return w, nil
}

func (c *Cached) remember(t *Tracker, w *Workspace) {
	if w.Token != "" {
		c.entries.Add(w.ID, cachedWorkspace{ws: clone(*w), confirmed: c.now()})
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
