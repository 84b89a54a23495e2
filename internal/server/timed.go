package server

import (
	"context"
	"time"

	"github.com/easelhq/easel/internal/session"
)

// timedBackend measures every session backend call for the store latency
// histogram.
type timedBackend struct {
	session.Backend
	observe func(op string, d time.Duration)
}

func (t timedBackend) Load(ctx context.Context, id string, ttl time.Duration) ([]byte, bool, error) {
	defer t.since("load", time.Now())
	return t.Backend.Load(ctx, id, ttl)
}

func (t timedBackend) Create(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	defer t.since("create", time.Now())
	return t.Backend.Create(ctx, id, data, ttl)
}

func (t timedBackend) Update(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	defer t.since("update", time.Now())
	return t.Backend.Update(ctx, id, data, ttl)
}

func (t timedBackend) Delete(ctx context.Context, id string) error {
	defer t.since("delete", time.Now())
	return t.Backend.Delete(ctx, id)
}

func (t timedBackend) since(op string, start time.Time) { t.observe(op, time.Since(start)) }
