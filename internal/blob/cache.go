package blob

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Cached puts a replica-local LRU cache with a byte budget in front of a
// Store. Blobs are immutable, so a cached blob is never stale; the cache
// needs no invalidation, only eviction.
type Cached struct {
	Store
	budget int64
	onHit  func(hit bool)

	mu    sync.Mutex
	used  int64
	order *list.List // front = most recently used; values are *cacheEntry
	index map[string]*list.Element
}

type cacheEntry struct {
	digest string
	data   []byte
}

// NewCached wraps s with a cache of at most budget bytes. onHit, if not nil,
// is called on every Get with whether the cache answered (for metrics).
func NewCached(s Store, budget int64, onHit func(hit bool)) *Cached {
	return &Cached{Store: s, budget: budget, onHit: onHit, order: list.New(), index: map[string]*list.Element{}}
}

// Get answers from the cache when it can, else from the store, then caches.
func (c *Cached) Get(ctx context.Context, digest string) ([]byte, bool, error) {
	if data, ok := c.lookup(digest); ok {
		c.report(true)
		return data, true, nil
	}
	c.report(false)
	data, found, err := c.Store.Get(ctx, digest)
	if err != nil || !found {
		return data, found, err
	}
	c.add(digest, data)
	return data, true, nil
}

// Put stores through to the store and caches the bytes: the replica that
// took an upload is the likeliest to serve it next.
func (c *Cached) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	d, err := c.Store.Put(ctx, data, ttl)
	if err != nil {
		return "", err
	}
	c.add(d, append([]byte(nil), data...))
	return d, nil
}

// Len returns the number of cached blobs and the bytes they hold.
func (c *Cached) Len() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.used
}

func (c *Cached) report(hit bool) {
	if c.onHit != nil {
		c.onHit(hit)
	}
}

func (c *Cached) lookup(d string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[d]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).data, true
}

func (c *Cached) add(d string, data []byte) {
	size := int64(len(data))
	if size > c.budget/4 { // one huge blob must not flush the whole cache
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[d]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.index[d] = c.order.PushFront(&cacheEntry{digest: d, data: data})
	c.used += size
	for c.used > c.budget {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		c.order.Remove(el)
		delete(c.index, e.digest)
		c.used -= int64(len(e.data))
	}
}
