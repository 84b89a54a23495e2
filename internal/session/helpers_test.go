package session

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	// gin's mode and writer are package-level: set them once, before any
	// parallel test builds an engine.
	gin.SetMode(gin.TestMode)
	gin.DefaultWriter = io.Discard
	gin.DefaultErrorWriter = io.Discard
	os.Exit(m.Run())
}

// newMemoryAt returns a memory backend on clock.
func newMemoryAt(clock *testutil.Clock) *Memory {
	m := NewMemory()
	m.now = clock.Now
	return m
}

// startRedisClient starts a redis-server for the calling test and returns a
// client to it, closed at cleanup.
func startRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	addr, _ := testutil.StartRedis(t)
	return newRedisClient(t, addr)
}

func newRedisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// backendKind builds one kind of Backend for Store tests. Every call of
// newBackend returns a backend isolated from the others of the same kind
// (its own memory, or its own Redis key prefix), so subtests can run in
// parallel against one redis-server.
type backendKind struct {
	name string
	// newBackend returns a fresh backend; the memory one reads clock.
	newBackend func(t *testing.T, clock *testutil.Clock) Backend
}

// backendKinds returns the memory kind and the Redis kind; the latter on a
// redis-server started for t.
func backendKinds(t *testing.T) []backendKind {
	t.Helper()
	client := startRedisClient(t)
	return []backendKind{
		{"memory", func(_ *testing.T, clock *testutil.Clock) Backend { return newMemoryAt(clock) }},
		{"redis", func(t *testing.T, _ *testutil.Clock) Backend { return NewRedis(client, "test:"+t.Name()) }},
	}
}
