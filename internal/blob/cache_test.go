package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts the Gets that reach the backing store.
type countingStore struct {
	Store
	gets atomic.Int64
	err  error // returned by Get when set
}

func (c *countingStore) Get(ctx context.Context, d string) ([]byte, bool, error) {
	c.gets.Add(1)
	if c.err != nil {
		return nil, false, c.err
	}
	return c.Store.Get(ctx, d)
}

// blobOf returns n bytes unique to tag.
func blobOf(tag byte, n int) []byte { return bytes.Repeat([]byte{tag}, n) }

// newCountedCache returns a cache of budget bytes over a counted memory
// store, and the hits/misses it reports.
func newCountedCache(budget int64) (*Cached, *countingStore, *[]bool) {
	backing := &countingStore{Store: NewMemory()}
	var mu sync.Mutex
	var reports []bool
	c := NewCached(backing, budget, func(hit bool) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, hit)
	})
	return c, backing, &reports
}

func TestCachedHitsAvoidTheBackingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, backing, reports := newCountedCache(1 << 20)

	// Stored by another replica: the first Get misses, the rest hit.
	elsewhere, err := backing.Put(ctx, []byte("from another replica"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		data, found, err := c.Get(ctx, elsewhere)
		if err != nil || !found || string(data) != "from another replica" {
			t.Fatalf("Get = %q, %v, %v", data, found, err)
		}
	}
	// Stored through this cache: every Get hits.
	local, err := c.Put(ctx, []byte("uploaded here"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := c.Get(ctx, local); err != nil || !found {
		t.Fatalf("Get after Put: %v, %v", found, err)
	}
	if n := backing.gets.Load(); n != 1 {
		t.Fatalf("%d Gets reached the backing store, want 1", n)
	}
	if want := []bool{false, true, true, true}; !slices.Equal(*reports, want) {
		t.Fatalf("onHit reported %v, want %v", *reports, want)
	}
}

func TestCachedMissesAreNotCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, backing, reports := newCountedCache(1 << 20)
	missing := Digest([]byte("missing"))
	for range 2 {
		if data, found, err := c.Get(ctx, missing); err != nil || found || data != nil {
			t.Fatalf("Get(missing) = %q, %v, %v", data, found, err)
		}
	}
	if n := backing.gets.Load(); n != 2 {
		t.Fatalf("%d backing Gets, want 2: a miss must not be cached", n)
	}
	// Once it exists (put by another replica), it is found.
	if _, err := backing.Put(ctx, []byte("missing"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := c.Get(ctx, missing); !found {
		t.Fatal("blob not found after it was stored")
	}
	if want := []bool{false, false, false}; !slices.Equal(*reports, want) {
		t.Fatalf("onHit reported %v, want %v", *reports, want)
	}
}

func TestCachedBackingErrorsPassThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, backing, _ := newCountedCache(1 << 20)
	d, err := backing.Put(ctx, []byte("x"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	backing.err = errors.New("redis down")
	if _, _, err := c.Get(ctx, d); !errors.Is(err, backing.err) {
		t.Fatalf("Get = %v, want the backing error", err)
	}
	if n, _ := c.Len(); n != 0 {
		t.Fatalf("%d blobs cached after a failed Get", n)
	}
}

func TestCachedBudget(t *testing.T) {
	t.Parallel()
	const budget = 400 // blobs up to 100 bytes are cached
	tests := []struct {
		name string
		// sizes gives the size of each blob (by tag) in the backing
		// store; gets are the blobs read through the cache, in order.
		sizes      map[byte]int
		gets       []byte
		wantCached []byte // tags a Get must answer without the backing store
		wantBytes  int64
	}{
		{
			name:       "fills up to the budget",
			sizes:      map[byte]int{'a': 100, 'b': 100, 'c': 100, 'd': 100},
			gets:       []byte("abcd"),
			wantCached: []byte("abcd"),
			wantBytes:  400,
		},
		{
			name:       "evicts the least recently used",
			sizes:      map[byte]int{'a': 100, 'b': 100, 'c': 100, 'd': 100, 'e': 100},
			gets:       []byte("abcdae"), // a is used again, so b is the oldest
			wantCached: []byte("acde"),
			wantBytes:  400,
		},
		{
			name:       "evicts as many as a new blob needs",
			sizes:      map[byte]int{'a': 50, 'b': 50, 'c': 100, 'd': 100, 'e': 100, 'f': 100},
			gets:       []byte("abcdef"), // 500 bytes: a and b go
			wantCached: []byte("cdef"),
			wantBytes:  400,
		},
		{
			name:       "a blob over a quarter of the budget is never cached",
			sizes:      map[byte]int{'a': 101, 'b': 100},
			gets:       []byte("ab"),
			wantCached: []byte("b"),
			wantBytes:  100,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := fillCache(t, budget, tc.sizes, tc.gets)
			if n, used := c.Len(); n != len(tc.wantCached) || used != tc.wantBytes {
				t.Fatalf("cache holds %d blobs, %d bytes; want %d, %d", n, used, len(tc.wantCached), tc.wantBytes)
			}
			for tag, size := range tc.sizes {
				// Each probe on a cache of its own: a probe that misses
				// caches its blob and would change what the next one sees.
				c, backing := fillCache(t, budget, tc.sizes, tc.gets)
				before := backing.gets.Load()
				data, _, err := c.Get(context.Background(), Digest(blobOf(tag, size)))
				if err != nil || !bytes.Equal(data, blobOf(tag, size)) {
					t.Fatalf("Get(%c) = %d bytes, %v", tag, len(data), err)
				}
				cached := backing.gets.Load() == before
				if want := bytes.IndexByte(tc.wantCached, tag) >= 0; cached != want {
					t.Errorf("blob %c cached = %v, want %v", tag, cached, want)
				}
			}
		})
	}
}

// fillCache returns a cache of budget bytes over a backing store holding a
// blob of sizes[tag] bytes per tag, after reading the blobs gets names.
func fillCache(t *testing.T, budget int64, sizes map[byte]int, gets []byte) (*Cached, *countingStore) {
	t.Helper()
	ctx := context.Background()
	c, backing, _ := newCountedCache(budget)
	for tag, n := range sizes {
		if _, err := backing.Put(ctx, blobOf(tag, n), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range gets {
		if _, found, err := c.Get(ctx, Digest(blobOf(tag, sizes[tag]))); err != nil || !found {
			t.Fatalf("Get(%c): %v, %v", tag, found, err)
		}
	}
	return c, backing
}

func TestCachedPutOfALargeBlobIsNotCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, backing, _ := newCountedCache(400)
	d, err := c.Put(ctx, blobOf('x', 101), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n, used := c.Len(); n != 0 || used != 0 {
		t.Fatalf("cache holds %d blobs, %d bytes after a Put over budget/4", n, used)
	}
	if _, found, err := c.Get(ctx, d); err != nil || !found || backing.gets.Load() != 1 {
		t.Fatalf("Get: found=%v err=%v backing gets=%d; want it from the backing store", found, err, backing.gets.Load())
	}
}

func TestCachedConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _, _ := newCountedCache(1 << 10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				data := []byte(fmt.Sprintf("blob %d-%d %s", g, i%20, bytes.Repeat([]byte{'x'}, i%50)))
				d, err := c.Put(ctx, data, time.Hour)
				if err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				got, found, err := c.Get(ctx, d)
				if err != nil || !found || !bytes.Equal(got, data) {
					t.Errorf("Get(%s) = %q, %v, %v; want %q", d, got, found, err, data)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, used := c.Len(); used > 1<<10 {
		t.Fatalf("cache holds %d bytes, over its budget", used)
	}
}
