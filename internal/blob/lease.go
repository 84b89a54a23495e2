package blob

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// leases keep the lifetime of blobs that live outside Redis (in S3, which has
// no per-object expiry) as small Redis keys, one per blob:
//
//	PREFIX:blobref:{DIGEST}  the lease: the expiry, in Unix milliseconds
//	PREFIX:blobdel:{DIGEST}  the deleting-marker a sweeper holds while it deletes
//
// Both carry the same hash tag, so each script below touches one Redis
// Cluster slot. The expiry is a value rather than the key's own TTL so that
// "now" is the caller's clock (tests use a fake one); the key also gets a
// real TTL of its life plus leaseSlack so that it never outlives its use.
type leases struct {
	client redis.UniversalClient
	prefix string
}

// leaseSlack is how long a lease key outlives its expiry in Redis.
const leaseSlack = time.Minute

func newLeases(client redis.UniversalClient, prefix string) *leases {
	return &leases{client: client, prefix: prefix}
}

func (l *leases) keys(d string) []string {
	return []string{l.prefix + ":blobref:{" + d + "}", l.prefix + ":blobdel:{" + d + "}"}
}

// renewScript lengthens a lease to now+ttl, never shortening it. It returns
// -1 when a sweeper is deleting the blob (nothing is renewed), 0 when
// ARGV[3] is "alive" and the lease had ended (nothing is renewed), 1 when the
// lease had ended (or never existed) and now runs, 2 when it was running.
var renewScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local alive = cur > now
if ARGV[3] == 'alive' and not alive then return 0 end
if now + ttl > cur then
  redis.call('SET', KEYS[1], now + ttl, 'PX', ttl + tonumber(ARGV[4]))
end
if alive then return 2 end
return 1
`)

// Results of renew.
const (
	leaseDeleting = -1
	leaseEnded    = 0
	leaseStarted  = 1
	leaseRenewed  = 2
)

// renew lengthens the leases of digests to at least now+ttl. With
// onlyAlive, a lease that has ended stays ended (Touch); else it starts
// again (Put). It returns one result per digest.
func (l *leases) renew(ctx context.Context, now time.Time, ttl time.Duration, onlyAlive bool, digests ...string) ([]int64, error) {
	mode := "any"
	if onlyAlive {
		mode = "alive"
	}
	cmds := make([]*redis.Cmd, len(digests))
	_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range digests {
			cmds[i] = renewScript.Eval(ctx, p, l.keys(d), now.UnixMilli(), ttl.Milliseconds(), mode, leaseSlack.Milliseconds())
		}
		return nil
	})
	if err != nil {
		return nil, store.Unavailable("renewing blob leases", err)
	}
	out := make([]int64, len(digests))
	for i, c := range cmds {
		if out[i], err = c.Int64(); err != nil {
			return nil, store.Unavailable("renewing blob leases", err)
		}
	}
	return out, nil
}

// alive reports whether the blob's lease runs at now.
func (l *leases) alive(ctx context.Context, now time.Time, d string) (bool, error) {
	v, err := l.client.Get(ctx, l.keys(d)[0]).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, store.Unavailable("loading blob lease", err)
	}
	exp, err := strconv.ParseInt(v, 10, 64)
	return err == nil && exp > now.UnixMilli(), nil
}

// claimScript lets a sweeper delete a blob: only when its lease has ended
// and no other sweeper holds the marker, it sets the marker (value ARGV[3],
// for ARGV[2] ms) and drops the ended lease. 1 = claimed, 0 = keep.
var claimScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur > tonumber(ARGV[1]) then return 0 end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// releaseScript removes a marker this sweeper set (value ARGV[1]).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('DEL', KEYS[2]) end
return 0
`)

// claim tries to claim each digest for deletion and returns those it got.
func (l *leases) claim(ctx context.Context, now time.Time, hold time.Duration, token string, digests []string) ([]string, error) {
	cmds := make([]*redis.Cmd, len(digests))
	_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range digests {
			cmds[i] = claimScript.Eval(ctx, p, l.keys(d), now.UnixMilli(), hold.Milliseconds(), token)
		}
		return nil
	})
	if err != nil {
		return nil, store.Unavailable("claiming ended blobs", err)
	}
	var got []string
	for i, c := range cmds {
		if n, err := c.Int64(); err == nil && n == 1 {
			got = append(got, digests[i])
		}
	}
	return got, nil
}

// release removes the markers of digests that claim set with token.
func (l *leases) release(ctx context.Context, token string, digests []string) error {
	_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range digests {
			releaseScript.Eval(ctx, p, l.keys(d), token)
		}
		return nil
	})
	if err != nil {
		return store.Unavailable("releasing blob markers", err)
	}
	return nil
}

// lock takes the sweep lock for hold unless another replica holds it: one
// replica sweeps per interval.
func (l *leases) lock(ctx context.Context, token string, hold time.Duration) (bool, error) {
	ok, err := l.client.SetNX(ctx, l.prefix+":blobsweep", token, hold).Result()
	if err != nil {
		return false, store.Unavailable("taking the blob sweep lock", err)
	}
	return ok, nil
}
