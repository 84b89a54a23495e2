package session

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
)

// backendFixture is one fresh, isolated Backend for one conformance subtest.
type backendFixture struct {
	backend Backend
	// ttl is an idle timeout short enough to wait out.
	ttl time.Duration
	// wait lets d pass for the backend: a fake clock moves, or the test sleeps.
	wait func(d time.Duration)
}

// testBackendConformance is the suite every Backend passes: memory and Redis.
func testBackendConformance(t *testing.T, newFixture func(t *testing.T) backendFixture) {
	ctx := context.Background()
	long := time.Hour

	mustLoad := func(t *testing.T, b Backend, id string, ttl time.Duration, want []byte) {
		t.Helper()
		got, found, err := b.Load(ctx, id, ttl)
		if err != nil {
			t.Fatalf("Load(%q): %v", id, err)
		}
		if want == nil {
			if found {
				t.Fatalf("Load(%q) found %q, want not found", id, got)
			}
			return
		}
		if !found {
			t.Fatalf("Load(%q) not found, want %q", id, want)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Load(%q) = %q, want %q", id, got, want)
		}
	}
	mustCreate := func(t *testing.T, b Backend, id string, data []byte, ttl time.Duration) {
		t.Helper()
		if err := b.Create(ctx, id, data, ttl); err != nil {
			t.Fatalf("Create(%q): %v", id, err)
		}
	}

	tests := []struct {
		name string
		run  func(t *testing.T, f backendFixture)
	}{
		{"load unknown is not found and no error", func(t *testing.T, f backendFixture) {
			mustLoad(t, f.backend, "nope", long, nil)
		}},
		{"create then load", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte(`{"v":1}`), long)
			mustLoad(t, f.backend, "a", long, []byte(`{"v":1}`))
		}},
		{"create twice is ErrExists and keeps the first", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("first"), long)
			if err := f.backend.Create(ctx, "a", []byte("second"), long); !errors.Is(err, ErrExists) {
				t.Fatalf("second Create = %v, want ErrExists", err)
			}
			mustLoad(t, f.backend, "a", long, []byte("first"))
		}},
		{"concurrent creates of one id: exactly one wins", func(t *testing.T, f backendFixture) {
			const n = 16
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() { errs <- f.backend.Create(ctx, "a", []byte{byte('a' + i)}, long) })
			}
			wg.Wait()
			close(errs)
			won := 0
			for err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrExists):
					t.Fatalf("Create: %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d creates succeeded, want 1", won)
			}
		}},
		{"update replaces", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("old"), long)
			if err := f.backend.Update(ctx, "a", []byte("new"), long); err != nil {
				t.Fatalf("Update: %v", err)
			}
			mustLoad(t, f.backend, "a", long, []byte("new"))
		}},
		{"update of a missing id is ErrGone and creates nothing", func(t *testing.T, f backendFixture) {
			if err := f.backend.Update(ctx, "ghost", []byte("x"), long); !errors.Is(err, ErrGone) {
				t.Fatalf("Update = %v, want ErrGone", err)
			}
			mustLoad(t, f.backend, "ghost", long, nil)
		}},
		{"a deleted session is not resurrected by update", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("x"), long)
			if err := f.backend.Delete(ctx, "a"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if err := f.backend.Update(ctx, "a", []byte("late write"), long); !errors.Is(err, ErrGone) {
				t.Fatalf("Update after Delete = %v, want ErrGone", err)
			}
			mustLoad(t, f.backend, "a", long, nil)
		}},
		{"delete is idempotent", func(t *testing.T, f backendFixture) {
			for i := range 2 {
				if err := f.backend.Delete(ctx, "never-created"); err != nil {
					t.Fatalf("Delete #%d of a missing id: %v", i+1, err)
				}
			}
			mustCreate(t, f.backend, "a", []byte("x"), long)
			for i := range 2 {
				if err := f.backend.Delete(ctx, "a"); err != nil {
					t.Fatalf("Delete #%d: %v", i+1, err)
				}
			}
			mustLoad(t, f.backend, "a", long, nil)
		}},
		{"delete leaves other sessions alone", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("A"), long)
			mustCreate(t, f.backend, "b", []byte("B"), long)
			if err := f.backend.Delete(ctx, "a"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			mustLoad(t, f.backend, "b", long, []byte("B"))
		}},
		{"idle session expires", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("x"), f.ttl)
			f.wait(f.ttl * 3 / 2)
			mustLoad(t, f.backend, "a", f.ttl, nil)
			if err := f.backend.Update(ctx, "a", []byte("y"), f.ttl); !errors.Is(err, ErrGone) {
				t.Fatalf("Update of an expired session = %v, want ErrGone", err)
			}
			// The ID is free again (the Store never reuses one, but the
			// backend must not report a dead session as taken).
			mustCreate(t, f.backend, "a", []byte("z"), f.ttl)
		}},
		{"load slides the idle timer", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("x"), f.ttl)
			f.wait(f.ttl * 6 / 10)
			mustLoad(t, f.backend, "a", f.ttl, []byte("x"))
			f.wait(f.ttl * 6 / 10) // 1.2 ttl after creation: alive only if Load slid it
			mustLoad(t, f.backend, "a", f.ttl, []byte("x"))
			f.wait(f.ttl * 3 / 2)
			mustLoad(t, f.backend, "a", f.ttl, nil)
		}},
		{"update restarts the idle timer", func(t *testing.T, f backendFixture) {
			mustCreate(t, f.backend, "a", []byte("x"), f.ttl)
			f.wait(f.ttl * 6 / 10)
			if err := f.backend.Update(ctx, "a", []byte("y"), f.ttl); err != nil {
				t.Fatalf("Update: %v", err)
			}
			f.wait(f.ttl * 6 / 10)
			mustLoad(t, f.backend, "a", f.ttl, []byte("y"))
		}},
		{"stored bytes are not aliased", func(t *testing.T, f backendFixture) {
			data := []byte("abc")
			mustCreate(t, f.backend, "a", data, long)
			data[0] = 'X'
			got, _, err := f.backend.Load(ctx, "a", long)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got[1] = 'Y'
			mustLoad(t, f.backend, "a", long, []byte("abc"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newFixture(t))
		})
	}
}

func TestMemoryBackendConformance(t *testing.T) {
	t.Parallel()
	testBackendConformance(t, func(t *testing.T) backendFixture {
		clock := testutil.NewClock()
		return backendFixture{backend: newMemoryAt(clock), ttl: time.Minute, wait: clock.Advance}
	})
}

func TestRedisBackendConformance(t *testing.T) {
	t.Parallel()
	client := startRedisClient(t)
	testBackendConformance(t, func(t *testing.T) backendFixture {
		// Redis keeps real time: a 1s TTL, and the subtests sleep in parallel.
		return backendFixture{backend: NewRedis(client, "test:"+t.Name()), ttl: time.Second, wait: time.Sleep}
	})
}

// TestRedisModesBackendConformance runs the suite on standalone Redis, on
// Sentinel and on Redis Cluster, each through the client store.Open builds
// from configuration, as a replica does.
func TestRedisModesBackendConformance(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		t.Run(mode.Name, func(t *testing.T) {
			t.Parallel()
			client := testutil.OpenRedis(t, mode.Start(t))
			testBackendConformance(t, func(t *testing.T) backendFixture {
				return backendFixture{backend: NewRedis(client, "test:"+t.Name()), ttl: time.Second, wait: time.Sleep}
			})
		})
	}
}

func TestMemoryBackendSweepsExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock()
	m := newMemoryAt(clock)
	for i := range 1000 {
		if err := m.Create(ctx, string(rune('a'+i%26))+time.Duration(i).String(), []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	for i := range 24 {
		if err := m.Create(ctx, "fresh"+time.Duration(i).String(), []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n != 24 {
		t.Fatalf("Len = %d after the 1024th create, want the 24 live sessions", n)
	}
}
