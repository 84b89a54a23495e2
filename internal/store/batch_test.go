package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestBatch: writes deferred into a request's Batch travel with its next
// command in one round trip, are run before it, report their errors, and
// are never left unsent by Flush; without a Batch nothing is deferred.
func TestBatch(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := testutil.OpenRedis(t, config.Redis{URL: "redis://" + addr})
	trips := testutil.CountTrips(client)
	ctx := context.Background()
	set := func(key, value string) func(redis.Pipeliner) {
		return func(p redis.Pipeliner) { p.Set(ctx, key, value, time.Minute) }
	}

	if store.Defer(ctx, client, set("a", "1")) {
		t.Fatal("Defer without a Batch queued the write")
	}

	bctx, _ := store.WithBatch(ctx)
	if !store.Defer(bctx, client, set("a", "1")) || !store.Defer(bctx, client, set("b", "2")) || !store.Pending(bctx) {
		t.Fatal("Defer with a Batch did not queue the writes")
	}
	if got := client.Exists(ctx, "a").Val(); got != 0 {
		t.Fatal("a deferred write was sent at once")
	}
	// A first pipeline dials a connection of its own: its handshake is not
	// what is counted here.
	if _, err := client.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	trips.Take()
	var get *redis.StringCmd
	if err := store.Send(bctx, client, func(p redis.Pipeliner) { get = p.Get(bctx, "b") }); err != nil {
		t.Fatal(err)
	}
	if v := get.Val(); v != "2" {
		t.Errorf("the command after the deferred writes read %q, want the deferred 2", v)
	}
	if got := trips.Take(); len(got) != 1 || got["pipeline"] != 1 {
		t.Errorf("the writes and the command cost %v, want one pipeline", got)
	}
	if store.Pending(bctx) {
		t.Error("the Batch still holds writes after Send")
	}

	// A deferred write's error is Send's.
	client.Set(ctx, "list", "not a list", time.Minute)
	store.Defer(bctx, client, func(p redis.Pipeliner) { p.LPush(bctx, "list", "x") })
	if err := store.Send(bctx, client, func(p redis.Pipeliner) { p.Get(bctx, "a") }); err == nil {
		t.Error("Send hid the deferred write's WRONGTYPE error")
	}

	// Flush sends what no command took along.
	store.Defer(bctx, client, set("c", "3"))
	if err := store.Flush(bctx); err != nil {
		t.Fatal(err)
	}
	if v := client.Get(ctx, "c").Val(); v != "3" {
		t.Errorf("after Flush, c = %q, want 3", v)
	}
	trips.Take()
	if err := store.Flush(bctx); err != nil || len(trips.Take()) != 0 {
		t.Error("a Flush of an empty Batch sent something")
	}
}
