package blob

import (
	"context"
	"errors"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis (standalone, Sentinel or Cluster): one key per
// blob, PREFIX:blob:{DIGEST}.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a Redis blob store writing keys under prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix + ":blob:"}
}

func (r *Redis) key(d string) string { return r.prefix + "{" + d + "}" }

// Put implements Store: SET NX writes the bytes only once, EXPIRE GT only
// ever lengthens their life; both in one round trip.
func (r *Redis) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	d := Digest(data)
	k := r.key(d)
	write := func(p redis.Pipeliner) {
		p.SetNX(ctx, k, data, ttl)
		p.ExpireGT(ctx, k, ttl)
	}
	if store.Defer(ctx, r.client, write) {
		// The request's next command (the workspace script that refers to
		// this image, a render's cache entry) takes it along, in order.
		return d, nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		write(p)
		return nil
	})
	if err != nil {
		return "", store.Unavailable("storing blob", err)
	}
	return d, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, digest string) ([]byte, bool, error) {
	data, err := r.client.Get(ctx, r.key(digest)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, store.Unavailable("loading blob", err)
	}
	return data, true, nil
}

// Touch implements Store. Each key may live in another Cluster slot, so the
// commands are pipelined per key rather than sent as one multi-key command.
func (r *Redis) Touch(ctx context.Context, ttl time.Duration, digests ...string) error {
	if len(digests) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range digests {
			p.ExpireGT(ctx, r.key(d), ttl)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Unavailable("touching blobs", err)
	}
	return nil
}
