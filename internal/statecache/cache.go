// Package statecache keeps copies of shared state (sessions, workspaces,
// render keys) in one replica's memory, each under a tag that names the
// exact state it holds, and hands a copy back only to a caller that asks
// for that tag, and only for a while after Redis last confirmed it.
//
// The tag is the proof: the session layer carries the tag of the state a
// client last saw in a signed cookie, so a copy whose tag matches is exactly
// that state, whichever replica made it, and a write on another replica
// (which gives the client a new tag) makes this copy a conflict rather than
// a stale answer. No invalidation message is needed. The age bound covers
// what no tag can see: a change the client did not make, or one Redis lost
// in a failover after this replica cached it. Deciding that a request
// without a tag proves nothing is the caller's.
//
// Why not go-redis' client-side caching (RESP3 CLIENT TRACKING): its
// invalidations arrive asynchronously, after the writer's reply, so a read
// on replica B right after a write on A can still see the old value; it
// caches plain reads, not GETEX (which slides a session's idle timer) nor
// the scripts that read a workspace atomically; and it needs RESP3 on every
// node, Sentinel and Cluster included. The eviction order is
// hashicorp/golang-lru's, not hand-written.
package statecache

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Result is the outcome of a lookup, for metrics.
type Result string

// Lookup results.
const (
	Hit      Result = "hit"      // served from memory
	Miss     Result = "miss"     // not cached, or confirmed too long ago
	Conflict Result = "conflict" // cached, but not the state asked for
)

// Cache holds at most its size copies. It is safe for concurrent use. A nil
// *Cache caches nothing: every Get is a Miss.
type Cache[V any] struct {
	entries *lru.Cache[string, entry[V]]
	maxAge  time.Duration
	now     func() time.Time
}

type entry[V any] struct {
	tag       string
	value     V
	confirmed time.Time
}

// New returns a cache of at most size entries, each served for less than
// maxAge after it was last put; now is the clock (time.Now when nil).
func New[V any](size int, maxAge time.Duration, now func() time.Time) (*Cache[V], error) {
	entries, err := lru.New[string, entry[V]](size)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{entries: entries, maxAge: maxAge, now: now}, nil
}

// Get returns the copy under key if it was put with tag less than maxAge
// ago (Hit); otherwise the zero value and Miss (absent or too old) or
// Conflict (another state is cached).
func (c *Cache[V]) Get(key, tag string) (V, Result) {
	var zero V
	if c == nil {
		return zero, Miss
	}
	e, ok := c.entries.Get(key)
	switch {
	case !ok || c.now().Sub(e.confirmed) >= c.maxAge:
		return zero, Miss
	case e.tag != tag:
		return zero, Conflict
	}
	return e.value, Hit
}

// Latest returns the copy under key whatever its tag and age: a value to
// act on only under a check that Redis makes atomically with the action
// (workspace.Guard), never one to serve as it is.
func (c *Cache[V]) Latest(key string) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	e, ok := c.entries.Get(key)
	if !ok {
		return zero, false
	}
	return e.value, true
}

// Put stores value under key as the state named tag, confirmed now.
func (c *Cache[V]) Put(key, tag string, value V) {
	if c != nil {
		c.entries.Add(key, entry[V]{tag: tag, value: value, confirmed: c.now()})
	}
}

// Remove drops the copy under key.
func (c *Cache[V]) Remove(key string) {
	if c != nil {
		c.entries.Remove(key)
	}
}
