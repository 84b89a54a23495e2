package testutil

import (
	"maps"
	"sync"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// TripCounter counts what a go-redis client sends and waits for, by kind
// (store.RoundTrips: a command's name, "pipeline", the handshake's
// "hello"), for tests that pin what an operation costs.
type TripCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// CountTrips adds a TripCounter to client.
func CountTrips(client redis.UniversalClient) *TripCounter {
	c := &TripCounter{n: map[string]int{}}
	client.AddHook(store.RoundTrips(c.add))
	return c
}

func (c *TripCounter) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind]++
}

// Take returns the counts since the last Take and starts again from zero.
func (c *TripCounter) Take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := maps.Clone(c.n)
	clear(c.n)
	return n
}
