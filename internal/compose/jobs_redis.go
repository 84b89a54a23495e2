package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// RedisJobs is a JobStore in Redis, shared by every replica.
//
// All job keys carry one hash tag, {jobs}: PREFIX:{jobs}:queue (a list of
// queued IDs, oldest first), PREFIX:{jobs}:running (a sorted set of running
// IDs scored by lease expiry, in ms) and PREFIX:{jobs}:job:ID (a hash per
// job, expiring ttl after its last change). One hash tag keeps claiming —
// pop an ID, settle lapsed leases, mark the job running — one atomic Lua
// script even on Redis Cluster; job records are small and short-lived, so
// one slot holds them comfortably. Lease times come from the Redis server's
// clock (TIME), so replicas with skewed clocks still agree on expiry.
type RedisJobs struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisJobs returns a Redis job store whose jobs expire ttl after their
// last change.
func NewRedisJobs(client redis.UniversalClient, prefix string, ttl time.Duration) *RedisJobs {
	return &RedisJobs{client: client, prefix: prefix + ":{jobs}:", ttl: ttl}
}

func (r *RedisJobs) queueKey() string        { return r.prefix + "queue" }
func (r *RedisJobs) runningKey() string      { return r.prefix + "running" }
func (r *RedisJobs) jobKey(id string) string { return r.prefix + "job:" + id }
func (r *RedisJobs) jobPrefix() string       { return r.prefix + "job:" }
func (r *RedisJobs) ttlMillis() int64        { return r.ttl.Milliseconds() }
func leaseMillis(d time.Duration) int64      { return max(d.Milliseconds(), 1) }
func (r *RedisJobs) keys(id string) []string {
	return []string{r.queueKey(), r.runningKey(), r.jobKey(id)}
}

// now is the Lua prelude: the server's time in ms, and effect replication
// for Redis < 7 (scripts that call TIME must replicate their effects).
const now = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// owned checks KEYS[3] is running under ARGV[1] (owner), ARGV[2] (attempt).
const owned = `
local st = redis.call('HMGET', KEYS[3], 'status', 'owner', 'attempts')
if st[1] ~= 'running' or st[2] ~= ARGV[1] or st[3] ~= ARGV[2] then return 0 end
`

var (
	createScript = redis.NewScript(now + `
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'ws', ARGV[2], 'request', ARGV[3], 'base', ARGV[4],
  'status', 'queued', 'progress', '0', 'attempts', '0', 'owner', '', 'lease', '0', 'created', now, 'updated', now)
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1`)

	// ARGV: job key prefix, owner, lease ms, max attempts, ttl ms, reason.
	claimScript = redis.NewScript(now + `
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
  local k = ARGV[1] .. id
  redis.call('ZREM', KEYS[2], id)
  if redis.call('HGET', k, 'status') == 'running' then
    if tonumber(redis.call('HGET', k, 'attempts')) >= tonumber(ARGV[4]) then
      redis.call('HSET', k, 'status', 'failed', 'error', ARGV[6], 'owner', '', 'lease', '0', 'updated', now)
    else
      redis.call('HSET', k, 'status', 'queued', 'owner', '', 'lease', '0', 'updated', now)
      redis.call('LPUSH', KEYS[1], id)
    end
    redis.call('PEXPIRE', k, ARGV[5])
  end
end
while true do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  local k = ARGV[1] .. id
  if redis.call('HGET', k, 'status') == 'queued' then
    local expiry = now + tonumber(ARGV[3])
    redis.call('HINCRBY', k, 'attempts', 1)
    redis.call('HSET', k, 'status', 'running', 'owner', ARGV[2], 'lease', expiry, 'updated', now)
    redis.call('PEXPIRE', k, ARGV[5])
    redis.call('ZADD', KEYS[2], expiry, id)
    return redis.call('HGETALL', k)
  end
end`)

	// ARGV: owner, attempt, lease ms, progress, ttl ms.
	heartbeatScript = redis.NewScript(now + owned + `
local expiry = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[3], 'lease', expiry, 'progress', ARGV[4], 'updated', now)
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[2], expiry, ARGV[6])
return 1`)

	// ARGV: owner, attempt, status, error, result, progress, ttl ms, id.
	finishScript = redis.NewScript(now + owned + `
redis.call('HSET', KEYS[3], 'status', ARGV[3], 'error', ARGV[4], 'result', ARGV[5], 'progress', ARGV[6],
  'owner', '', 'lease', '0', 'updated', now)
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[8])
return 1`)

	// ARGV: owner, attempt, ttl ms, id.
	releaseScript = redis.NewScript(now + owned + `
redis.call('HSET', KEYS[3], 'status', 'queued', 'owner', '', 'lease', '0', 'updated', now)
redis.call('HINCRBY', KEYS[3], 'attempts', -1)
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('LPUSH', KEYS[1], ARGV[4])
return 1`)
)

// Create implements JobStore.
func (r *RedisJobs) Create(ctx context.Context, j Job) error {
	req, err := json.Marshal(j.Request)
	if err != nil {
		return fmt.Errorf("encoding job request: %w", err)
	}
	base, err := json.Marshal(j.Base)
	if err != nil {
		return fmt.Errorf("encoding job snapshot: %w", err)
	}
	if err := createScript.Run(ctx, r.client, r.keys(j.ID), j.ID, j.Workspace, req, base, r.ttlMillis()).Err(); err != nil {
		return store.Unavailable("creating job", err)
	}
	return nil
}

// Get implements JobStore.
func (r *RedisJobs) Get(ctx context.Context, id string) (Job, bool, error) {
	m, err := r.client.HGetAll(ctx, r.jobKey(id)).Result()
	if err != nil {
		return Job{}, false, store.Unavailable("loading job", err)
	}
	if len(m) == 0 {
		return Job{}, false, nil
	}
	j, err := decodeJob(m)
	return j, err == nil, err
}

// Claim implements JobStore.
func (r *RedisJobs) Claim(ctx context.Context, owner string, lease time.Duration, maxAttempts int, reason string) (Job, bool, error) {
	reply, err := claimScript.Run(ctx, r.client, r.keys(""), r.jobPrefix(), owner, leaseMillis(lease), maxAttempts, r.ttlMillis(), reason).StringSlice()
	if errors.Is(err, redis.Nil) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, store.Unavailable("claiming job", err)
	}
	m := make(map[string]string, len(reply)/2)
	for i := 0; i+1 < len(reply); i += 2 {
		m[reply[i]] = reply[i+1]
	}
	j, err := decodeJob(m)
	if err != nil {
		return Job{}, false, err
	}
	return j, true, nil
}

// Heartbeat implements JobStore.
func (r *RedisJobs) Heartbeat(ctx context.Context, l Lease, lease time.Duration, progress float64) error {
	return r.owned(ctx, "renewing job lease", heartbeatScript, l,
		leaseMillis(lease), strconv.FormatFloat(progress, 'f', 4, 64), r.ttlMillis(), l.ID)
}

// Finish implements JobStore.
func (r *RedisJobs) Finish(ctx context.Context, l Lease, out Outcome) error {
	result, progress := "", "0"
	if out.Result != nil {
		b, err := json.Marshal(out.Result)
		if err != nil {
			return fmt.Errorf("encoding job result: %w", err)
		}
		result = string(b)
	}
	if out.Status == StatusSucceeded {
		progress = "1"
	} else if j, found, err := r.Get(ctx, l.ID); err == nil && found {
		progress = strconv.FormatFloat(j.Progress, 'f', 4, 64)
	}
	return r.owned(ctx, "finishing job", finishScript, l,
		string(out.Status), out.Error, result, progress, r.ttlMillis(), l.ID)
}

// Release implements JobStore.
func (r *RedisJobs) Release(ctx context.Context, l Lease) error {
	return r.owned(ctx, "releasing job", releaseScript, l, r.ttlMillis(), l.ID)
}

// owned runs a script guarded by the owned prelude.
func (r *RedisJobs) owned(ctx context.Context, what string, s *redis.Script, l Lease, args ...any) error {
	argv := append([]any{l.Owner, strconv.Itoa(l.Attempt)}, args...)
	n, err := s.Run(ctx, r.client, r.keys(l.ID), argv...).Int()
	if err != nil {
		return store.Unavailable(what, err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// decodeJob reads a job hash.
func decodeJob(m map[string]string) (Job, error) {
	j := Job{ID: m["id"], Workspace: m["ws"], Status: Status(m["status"]), Error: m["error"], Owner: m["owner"]}
	if err := json.Unmarshal([]byte(m["request"]), &j.Request); err != nil {
		return Job{}, fmt.Errorf("decoding job %s request: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(m["base"]), &j.Base); err != nil {
		return Job{}, fmt.Errorf("decoding job %s snapshot: %w", j.ID, err)
	}
	if s := m["result"]; s != "" {
		j.Result = &Result{}
		if err := json.Unmarshal([]byte(s), j.Result); err != nil {
			return Job{}, fmt.Errorf("decoding job %s result: %w", j.ID, err)
		}
	}
	var errs []error
	num := func(k string) int64 {
		v, err := strconv.ParseInt(m[k], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", k, err))
		}
		return v
	}
	j.Attempts = int(num("attempts"))
	ms := func(k string) time.Time {
		if v := num(k); v > 0 {
			return time.UnixMilli(v)
		}
		return time.Time{}
	}
	j.LeaseExpiry, j.Created, j.Updated = ms("lease"), ms("created"), ms("updated")
	p, err := strconv.ParseFloat(m["progress"], 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("field progress: %w", err))
	}
	j.Progress = p
	if err := errors.Join(errs...); err != nil {
		return Job{}, fmt.Errorf("decoding job %s: %w", j.ID, err)
	}
	return j, nil
}
