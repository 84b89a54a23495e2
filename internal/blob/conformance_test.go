package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// fixture is one fresh, isolated Store for one conformance subtest.
type fixture struct {
	store Store
	// short is a TTL short enough to wait out; wait lets time pass.
	short time.Duration
	wait  func(time.Duration)
	// cached stores may keep answering for a blob the backing store let
	// expire (blobs are immutable, so that is allowed): skip the checks that
	// an expired blob is gone.
	cached bool
}

// testStoreConformance is the suite every blob Store passes.
func testStoreConformance(t *testing.T, newFixture func(t *testing.T) fixture) {
	ctx := context.Background()
	const long = time.Hour

	put := func(t *testing.T, s Store, data []byte, ttl time.Duration) string {
		t.Helper()
		d, err := s.Put(ctx, data, ttl)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		return d
	}
	expect := func(t *testing.T, s Store, digest string, want []byte) {
		t.Helper()
		got, found, err := s.Get(ctx, digest)
		if err != nil {
			t.Fatalf("Get(%s): %v", digest, err)
		}
		switch {
		case want == nil && found:
			t.Fatalf("Get(%s) found %d bytes, want not found", digest, len(got))
		case want != nil && !found:
			t.Fatalf("Get(%s) not found, want %d bytes", digest, len(want))
		case want != nil && !bytes.Equal(got, want):
			t.Fatalf("Get(%s) = %q, want %q", digest, got, want)
		}
	}
	hello := []byte("hello, easel")

	tests := []struct {
		name     string
		expiring bool // asserts that a blob expires
		run      func(t *testing.T, f fixture)
	}{
		{"put returns the sha-256 and get finds it", false, func(t *testing.T, f fixture) {
			for _, data := range [][]byte{hello, {}, bytes.Repeat([]byte{0, 1, 2, 0xff}, 64<<10)} {
				sum := sha256.Sum256(data)
				want := hex.EncodeToString(sum[:])
				if d := put(t, f.store, data, long); d != want {
					t.Fatalf("Put(%d bytes) = %s, want %s", len(data), d, want)
				}
				expect(t, f.store, want, data)
			}
		}},
		{"get of an unknown digest is not found", false, func(t *testing.T, f fixture) {
			expect(t, f.store, Digest([]byte("never stored")), nil)
			expect(t, f.store, "not-a-digest", nil)
		}},
		{"put twice is idempotent", false, func(t *testing.T, f fixture) {
			d1 := put(t, f.store, hello, long)
			d2 := put(t, f.store, append([]byte(nil), hello...), long)
			if d1 != d2 {
				t.Fatalf("digests %s and %s for the same bytes", d1, d2)
			}
			expect(t, f.store, d1, hello)
		}},
		{"stored bytes are not aliased", false, func(t *testing.T, f fixture) {
			data := []byte("mutable buffer")
			d := put(t, f.store, data, long)
			data[0] = 'X'
			expect(t, f.store, d, []byte("mutable buffer"))
		}},
		{"concurrent puts of the same bytes", false, func(t *testing.T, f fixture) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if _, err := f.store.Put(ctx, hello, long); err != nil {
						t.Errorf("Put: %v", err)
					}
				})
			}
			wg.Wait()
			expect(t, f.store, Digest(hello), hello)
		}},
		{"a blob expires after its ttl", true, func(t *testing.T, f fixture) {
			d := put(t, f.store, hello, f.short)
			f.wait(f.short * 3 / 2)
			expect(t, f.store, d, nil)
			// ...and may be stored again.
			put(t, f.store, hello, long)
			expect(t, f.store, d, hello)
		}},
		{"putting again extends the ttl", false, func(t *testing.T, f fixture) {
			d := put(t, f.store, hello, f.short)
			put(t, f.store, hello, long)
			f.wait(f.short * 3 / 2)
			expect(t, f.store, d, hello)
		}},
		{"putting again never shortens the ttl", false, func(t *testing.T, f fixture) {
			d := put(t, f.store, hello, long)
			put(t, f.store, hello, f.short)
			f.wait(f.short * 3 / 2)
			expect(t, f.store, d, hello)
		}},
		{"touch extends the ttl and ignores missing blobs", true, func(t *testing.T, f fixture) {
			d := put(t, f.store, hello, f.short)
			other := put(t, f.store, []byte("other"), f.short)
			missing := Digest([]byte("missing"))
			if err := f.store.Touch(ctx, long, d, missing); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			f.wait(f.short * 3 / 2)
			expect(t, f.store, d, hello)
			expect(t, f.store, other, nil) // untouched
			expect(t, f.store, missing, nil)
		}},
		{"touch never shortens the ttl", false, func(t *testing.T, f fixture) {
			d := put(t, f.store, hello, long)
			if err := f.store.Touch(ctx, f.short, d); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			f.wait(f.short * 3 / 2)
			expect(t, f.store, d, hello)
		}},
		{"touch of nothing", false, func(t *testing.T, f fixture) {
			if err := f.store.Touch(ctx, long); err != nil {
				t.Fatalf("Touch(): %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tc.expiring && f.cached {
				t.Skip("a cache may outlive the backing store's ttl")
			}
			tc.run(t, f)
		})
	}
}

func newMemoryFixture(t *testing.T) fixture {
	clock := testutil.NewClock()
	m := NewMemory()
	m.now = clock.Now
	return fixture{store: m, short: time.Minute, wait: clock.Advance}
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	testStoreConformance(t, newMemoryFixture)
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	client := startRedisClient(t)
	testStoreConformance(t, func(t *testing.T) fixture {
		// Redis keeps real time, and EXPIRE counts whole seconds.
		return fixture{store: NewRedis(client, "test:"+t.Name()), short: time.Second, wait: time.Sleep}
	})
}

// TestRedisModesConformance runs the suite on standalone Redis, on Sentinel
// and on Redis Cluster, each through the client store.Open builds from
// configuration, as a replica does.
func TestRedisModesConformance(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		t.Run(mode.Name, func(t *testing.T) {
			t.Parallel()
			client := testutil.OpenRedis(t, mode.Start(t))
			testStoreConformance(t, func(t *testing.T) fixture {
				return fixture{store: NewRedis(client, "test:"+t.Name()), short: time.Second, wait: time.Sleep}
			})
		})
	}
}

func TestCachedConformance(t *testing.T) {
	t.Parallel()
	testStoreConformance(t, func(t *testing.T) fixture {
		f := newMemoryFixture(t)
		f.store, f.cached = NewCached(f.store, 1<<20, nil), true
		return f
	})
}

// startRedisClient starts a redis-server for t and returns a client to it.
func startRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	addr, _ := testutil.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestDigest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"digest of empty", Digest(nil), true},
		{"digest of bytes", Digest([]byte("abc")), true},
		{"known value", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", true},
		{"upper case", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", false},
		{"short", "ba7816bf", false},
		{"not hex", "za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false},
		{"path", "../7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidDigest(tc.in); got != tc.valid {
				t.Fatalf("ValidDigest(%q) = %v, want %v", tc.in, got, tc.valid)
			}
		})
	}
	if d := Digest([]byte("abc")); d != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Digest(abc) = %s", d)
	}
}
