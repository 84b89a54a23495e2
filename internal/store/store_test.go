package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
)

// TestOpenSentinelWithItsOwnCredentials: sentinels secured as the official
// Valkey chart secures them (default user off, a "sentinel" ACL user with a
// password of its own) accept the client only with the sentinel
// credentials; the data nodes take the client's ACL user. Without the
// sentinel credentials Open's client reaches nothing, and says so as
// ErrUnavailable.
func TestOpenSentinelWithItsOwnCredentials(t *testing.T) {
	t.Parallel()
	s := testutil.StartSentinelWith(t, testutil.SentinelAuth{Username: "easel", Password: "data-secret", SentinelPassword: "sentinel-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	client := testutil.OpenRedis(t, s.RedisConfig())
	if err := (store.RedisPinger{Client: client}).Ping(ctx); err != nil {
		t.Fatalf("ping with the sentinel credentials: %v", err)
	}
	if err := client.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET as the easel ACL user: %v", err)
	}
	if who, err := client.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || who != "easel" {
		t.Errorf("ACL WHOAMI on the data node = %q, %v; want easel", who, err)
	}

	cfg := s.RedisConfig()
	cfg.SentinelUsername, cfg.SentinelPassword = "", "" // the sentinels get the data nodes' user
	bad := testutil.OpenRedis(t, cfg)
	err := (store.RedisPinger{Client: bad}).Ping(ctx)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping with the data credentials sent to the sentinels = %v, want ErrUnavailable", err)
	}
}
