package session

import (
	"context"
	"errors"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// Redis is a Backend on go-redis' UniversalClient, so it works unchanged on a
// standalone server, behind Sentinel and on Redis Cluster (each session is one
// key; its hash tag is the session ID, spreading sessions over all slots).
//
// Compared with gin-contrib/sessions' stock redis store (redigo): one round
// trip per load (GETEX slides the idle timer in the same command), no
// read-modify-write race on save (SET NX to create, SET XX to update, so a
// deleted session stays deleted), and Sentinel, Cluster, TLS and ACL users.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a backend that writes keys PREFIX:sess:{ID}.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix + ":sess:"}
}

func (r *Redis) key(id string) string { return r.prefix + "{" + id + "}" }

// Key returns the key that holds session id, for Options.GuardKey.
func (r *Redis) Key(id string) string { return r.key(id) }

// Load implements Backend.
func (r *Redis) Load(ctx context.Context, id string, ttl time.Duration) ([]byte, bool, error) {
	data, err := r.client.GetEx(ctx, r.key(id), ttl).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, store.Unavailable("loading session", err)
	}
	return data, true, nil
}

// Create implements Backend.
func (r *Redis) Create(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	ok, err := r.client.SetNX(ctx, r.key(id), data, ttl).Result()
	if err != nil {
		return store.Unavailable("creating session", err)
	}
	if !ok {
		return ErrExists
	}
	return nil
}

// Update implements Backend.
func (r *Redis) Update(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	ok, err := r.client.SetXX(ctx, r.key(id), data, ttl).Result()
	if err != nil {
		return store.Unavailable("saving session", err)
	}
	if !ok {
		return ErrGone
	}
	return nil
}

// Delete implements Backend.
func (r *Redis) Delete(ctx context.Context, id string) error {
	if err := r.client.Del(ctx, r.key(id)).Err(); err != nil {
		return store.Unavailable("deleting session", err)
	}
	return nil
}
