package workspace

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/statecache"
	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// RedisRenderCache is a RenderCache in Redis: PREFIX:render:{KEY} → digest.
type RedisRenderCache struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisRenderCache returns a render cache whose entries live ttl.
func NewRedisRenderCache(client redis.UniversalClient, prefix string, ttl time.Duration) *RedisRenderCache {
	return &RedisRenderCache{client: client, prefix: prefix + ":render:", ttl: ttl}
}

// Lookup implements RenderCache.
func (c *RedisRenderCache) Lookup(ctx context.Context, key string) (string, bool, error) {
	d, err := c.client.Get(ctx, c.prefix+"{"+key+"}").Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, store.Unavailable("looking up render", err)
	}
	return d, true, nil
}

// Remember implements RenderCache.
func (c *RedisRenderCache) Remember(ctx context.Context, key, digest string) error {
	k := c.prefix + "{" + key + "}"
	var err error
	if store.Pending(ctx) {
		// In one round trip with the render's image (Renderer batches
		// it), which Redis stores first.
		var set *redis.StatusCmd
		if err = store.Send(ctx, c.client, func(p redis.Pipeliner) { set = p.Set(ctx, k, digest, c.ttl) }); err == nil {
			err = set.Err()
		}
	} else {
		err = c.client.Set(ctx, k, digest, c.ttl).Err()
	}
	if err != nil {
		return store.Unavailable("remembering render", err)
	}
	return nil
}

// MemoryRenderCache is a RenderCache in this process, for a single replica.
// It holds at most a fixed number of entries (the blobs it names expire on
// their own).
type MemoryRenderCache struct {
	mu    sync.Mutex
	max   int
	items map[string]string
}

// NewMemoryRenderCache returns a cache of at most max entries.
func NewMemoryRenderCache(max int) *MemoryRenderCache {
	return &MemoryRenderCache{max: max, items: map[string]string{}}
}

// Lookup implements RenderCache.
func (c *MemoryRenderCache) Lookup(_ context.Context, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.items[key]
	return d, ok, nil
}

// Remember implements RenderCache. When full, it forgets everything: a
// render is cheap to redo, and a map needs no eviction order this way.
func (c *MemoryRenderCache) Remember(_ context.Context, key, digest string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= c.max {
		clear(c.items)
	}
	c.items[key] = digest
	return nil
}

// LocalRenders puts a replica-local memory in front of a shared
// RenderCache. A render key names its inputs exactly (original, edits,
// size, format), so the blob it maps to never changes and needs no tag;
// an entry is still asked of the shared cache again after maxAge, so that a
// render Redis lost in a failover (with its blob) is made again within that
// time instead of being pointed at for ever.
type LocalRenders struct {
	RenderCache
	digests *statecache.Cache[string]
}

// NewLocalRenders returns a memory of at most size render keys before c.
func NewLocalRenders(c RenderCache, size int, maxAge time.Duration) (*LocalRenders, error) {
	digests, err := statecache.New[string](size, maxAge, nil)
	if err != nil {
		return nil, err
	}
	return &LocalRenders{RenderCache: c, digests: digests}, nil
}

// Lookup implements RenderCache.
func (l *LocalRenders) Lookup(ctx context.Context, key string) (string, bool, error) {
	if d, r := l.digests.Get(key, ""); r == statecache.Hit {
		return d, true, nil
	}
	d, found, err := l.RenderCache.Lookup(ctx, key)
	if err == nil && found {
		l.digests.Put(key, "", d)
	}
	return d, found, err
}

// Remember implements RenderCache.
func (l *LocalRenders) Remember(ctx context.Context, key, digest string) error {
	if err := l.RenderCache.Remember(ctx, key, digest); err != nil {
		return err
	}
	l.digests.Put(key, "", digest)
	return nil
}
