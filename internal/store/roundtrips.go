package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// RoundTrips is a go-redis hook that reports every request easel sends to
// Redis and waits for: a command by its name (getex, evalsha, …), a
// pipeline or a transaction as "pipeline". Commands that scripts run inside
// Redis are not round trips and are not seen here; the handshake of a new
// connection (hello, client setname) is.
//
// It is what a replica's /metrics shows as easel_redis_round_trips_total,
// and how the benchmarks count round trips per user flow.
type RoundTrips func(kind string)

var _ redis.Hook = RoundTrips(nil)

// DialHook implements redis.Hook.
func (RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (f RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		f(cmd.Name())
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (f RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		f("pipeline")
		return next(ctx, cmds)
	}
}
