package quota

import (
	"context"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose counters live in Redis, so every replica draws
// on one budget per key. Each AllowN is one script call (redis_rate's GCRA);
// a counter is one small string key that expires when its budget is full
// again. On Redis Cluster each key lives on its own node.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewRedis returns a limiter on client; keys are "rate:" + prefix + ":" + key
// (redis_rate adds "rate:").
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: prefix + ":"}
}

// AllowN implements Limiter. Errors are returned as they are: the caller
// classifies them (store.Unavailable).
func (r *Redis) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	res, err := r.limiter.AllowN(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst}, n)
	if err != nil {
		return Result{}, err
	}
	if res.Allowed > 0 || n == 0 {
		return Result{Allowed: true}, nil
	}
	return Result{RetryAfter: res.RetryAfter}, nil
}
