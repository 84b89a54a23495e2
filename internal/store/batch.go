package store

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Batch holds writes of one request that need not travel alone: each is
// sent in one pipeline with the request's next command (see Send), so that
// an upload stores its image and changes its workspace in one round trip,
// and a render stores its image and its render-cache entry in one.
//
// Redis runs a pipeline's commands in order, on one connection, so a
// command sent after the batched writes sees them, exactly as if they had
// been sent first and waited for. Whoever makes a Batch sends what is left
// in it (Flush) before the request answers; nothing queued is ever dropped
// unsent without the request failing.
type Batch struct {
	mu     sync.Mutex
	client redis.UniversalClient // the one all queued writes go to
	queued []func(redis.Pipeliner)
}

type batchKey struct{}

// WithBatch returns ctx carrying a new, empty Batch.
func WithBatch(ctx context.Context) (context.Context, *Batch) {
	b := &Batch{}
	return context.WithValue(ctx, batchKey{}, b), b
}

// Defer queues write (which adds commands to a pipeline) for client in
// ctx's Batch and reports true; without a Batch, on Redis Cluster, or with
// a Batch that holds writes for another client, it reports false, and the
// caller sends the commands itself.
func Defer(ctx context.Context, client redis.UniversalClient, write func(redis.Pipeliner)) bool {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	if b == nil || !OneServer(client) {
		// On Cluster a pipeline is split by node, and the next command
		// could run before the writes it depends on.
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil && b.client != client {
		return false
	}
	b.client = client
	b.queued = append(b.queued, write)
	return true
}

// take returns and clears the writes queued for client (all of them when
// client is nil), and the client they go to.
func (b *Batch) take(client redis.UniversalClient) ([]func(redis.Pipeliner), redis.UniversalClient) {
	if b == nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if client != nil && b.client != client {
		return nil, nil
	}
	q, c := b.queued, b.client
	b.queued, b.client = nil, nil
	return q, c
}

// Send sends the writes queued for client in ctx's Batch and then the
// commands last adds, in one pipeline (without queued writes: just
// last's). It returns the first error of the queued writes; last's
// commands report their own results.
func Send(ctx context.Context, client redis.UniversalClient, last func(redis.Pipeliner)) error {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	queued, _ := b.take(client)
	return send(ctx, client, queued, last)
}

func send(ctx context.Context, client redis.UniversalClient, queued []func(redis.Pipeliner), last func(redis.Pipeliner)) error {
	if len(queued) == 0 && last == nil {
		return nil
	}
	p := client.Pipeline()
	for _, q := range queued {
		q(p)
	}
	n := p.Len()
	if last != nil {
		last(p)
	}
	cmds, _ := p.Exec(ctx)
	for _, c := range cmds[:n] {
		if err := c.Err(); err != nil && err != redis.Nil {
			return err
		}
	}
	return nil
}

// Flush sends what is left in ctx's Batch, alone.
func Flush(ctx context.Context) error {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	queued, client := b.take(nil)
	return send(ctx, client, queued, nil)
}

// Pending reports whether ctx's Batch holds writes not yet sent.
func Pending(ctx context.Context) bool {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queued) > 0
}
