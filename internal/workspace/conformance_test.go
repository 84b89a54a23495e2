package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// fixture is one fresh, isolated Store for one conformance subtest.
type fixture struct {
	store Store
	// ttl is the store's workspace lifetime; wait lets time pass.
	ttl  time.Duration
	wait func(time.Duration)
}

var (
	imgA = Image{Digest: "aaaa", Width: 640, Height: 480, Format: "png"}
	imgB = Image{Digest: "bbbb", Width: 10, Height: 20, Format: "jpeg"}
)

// edits returns raw JSON edits named by names.
func edits(names ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(names))
	for i, n := range names {
		out[i] = json.RawMessage(`{"op":"` + n + `"}`)
	}
	return out
}

// check fails unless w has the original img, edits named by want and cursor.
func check(t *testing.T, w *Workspace, img Image, want []string, cursor int) {
	t.Helper()
	if w == nil {
		t.Fatal("nil workspace")
	}
	if w.Original == nil || *w.Original != img {
		t.Fatalf("original %+v, want %+v", w.Original, img)
	}
	got := make([]string, len(w.Edits))
	for i, e := range w.Edits {
		got[i] = string(e)
	}
	wantRaw := make([]string, len(want))
	for i, e := range edits(want...) {
		wantRaw[i] = string(e)
	}
	if !slices.Equal(got, wantRaw) || w.Cursor != cursor {
		t.Fatalf("edits %v cursor %d, want %v cursor %d", got, w.Cursor, wantRaw, cursor)
	}
	if len(w.Applied()) != cursor {
		t.Fatalf("Applied() has %d edits, want %d", len(w.Applied()), cursor)
	}
}

// testStoreConformance is the suite every workspace Store passes.
func testStoreConformance(t *testing.T, newFixture func(t *testing.T) fixture) {
	ctx := context.Background()
	const id = "ws-1"

	mustOriginal := func(t *testing.T, s Store, img Image) *Workspace {
		t.Helper()
		w, err := s.SetOriginal(ctx, id, img)
		if err != nil {
			t.Fatalf("SetOriginal: %v", err)
		}
		return w
	}
	mustAppend := func(t *testing.T, s Store, names ...string) *Workspace {
		t.Helper()
		var w *Workspace
		for _, e := range edits(names...) {
			var err error
			if w, err = s.Append(ctx, id, e, -1); err != nil {
				t.Fatalf("Append(%s): %v", e, err)
			}
		}
		return w
	}
	mustMove := func(t *testing.T, s Store, moves ...Movement) *Workspace {
		t.Helper()
		var w *Workspace
		for _, m := range moves {
			var err error
			if w, err = s.Move(ctx, id, m); err != nil {
				t.Fatalf("Move(%s): %v", m, err)
			}
		}
		return w
	}
	// mustGet returns the stored workspace, which must equal the one the
	// last change returned.
	mustGet := func(t *testing.T, s Store, last *Workspace) *Workspace {
		t.Helper()
		w, found, err := s.Get(ctx, id)
		if err != nil || !found {
			t.Fatalf("Get: found=%v err=%v", found, err)
		}
		if last != nil && (w.Version != last.Version || w.Cursor != last.Cursor || len(w.Edits) != len(last.Edits)) {
			t.Fatalf("Get = %+v, but the last change returned %+v", w, last)
		}
		return w
	}

	tests := []struct {
		name string
		run  func(t *testing.T, f fixture)
	}{
		{"get of a missing workspace", func(t *testing.T, f fixture) {
			w, found, err := f.store.Get(ctx, "nope")
			if err != nil || found || w != nil {
				t.Fatalf("Get = %v, %v, %v; want nil, false, nil", w, found, err)
			}
		}},
		{"changes to a missing workspace are ErrNotFound", func(t *testing.T, f fixture) {
			if _, err := f.store.Append(ctx, "nope", edits("a")[0], -1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Append = %v, want ErrNotFound", err)
			}
			for _, m := range []Movement{Undo, Redo, Reset} {
				if _, err := f.store.Move(ctx, "nope", m); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Move(%s) = %v, want ErrNotFound", m, err)
				}
			}
			if _, found, _ := f.store.Get(ctx, "nope"); found {
				t.Fatal("a failed change created the workspace")
			}
		}},
		{"set original then get", func(t *testing.T, f fixture) {
			w := mustOriginal(t, f.store, imgA)
			check(t, w, imgA, nil, 0)
			if w.ID != id || w.Version <= 0 {
				t.Fatalf("new workspace has id %q version %d", w.ID, w.Version)
			}
			check(t, mustGet(t, f.store, w), imgA, nil, 0)
		}},
		{"set original again replaces the image and clears the edits", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a", "b")
			w := mustOriginal(t, f.store, imgB)
			check(t, w, imgB, nil, 0)
			check(t, mustGet(t, f.store, w), imgB, nil, 0)
			check(t, mustAppend(t, f.store, "c"), imgB, []string{"c"}, 1)
		}},
		{"append keeps order", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			w := mustAppend(t, f.store, "a", "b", "c")
			check(t, w, imgA, []string{"a", "b", "c"}, 3)
			check(t, mustGet(t, f.store, w), imgA, []string{"a", "b", "c"}, 3)
		}},
		{"edits keep their exact bytes", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			raw := json.RawMessage(`{"op":"text","text":"ünïcödé \"quoted\" \\ {}","n":1.50}`)
			if _, err := f.store.Append(ctx, id, raw, -1); err != nil {
				t.Fatal(err)
			}
			w := mustGet(t, f.store, nil)
			if len(w.Edits) != 1 || string(w.Edits[0]) != string(raw) {
				t.Fatalf("stored %q, want %q", w.Edits, raw)
			}
		}},
		{"undo and redo move the cursor and keep the edits", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a", "b", "c")
			check(t, mustMove(t, f.store, Undo), imgA, []string{"a", "b", "c"}, 2)
			check(t, mustMove(t, f.store, Undo), imgA, []string{"a", "b", "c"}, 1)
			check(t, mustMove(t, f.store, Redo), imgA, []string{"a", "b", "c"}, 2)
			check(t, mustGet(t, f.store, nil), imgA, []string{"a", "b", "c"}, 2)
		}},
		{"undo at 0 and redo at the end change nothing", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			check(t, mustMove(t, f.store, Undo), imgA, nil, 0)
			check(t, mustMove(t, f.store, Redo), imgA, nil, 0)
			mustAppend(t, f.store, "a", "b")
			check(t, mustMove(t, f.store, Redo), imgA, []string{"a", "b"}, 2)
			check(t, mustMove(t, f.store, Undo, Undo, Undo, Undo), imgA, []string{"a", "b"}, 0)
			check(t, mustMove(t, f.store, Redo, Redo, Redo), imgA, []string{"a", "b"}, 2)
		}},
		{"append after undo drops the redo tail", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a", "b", "c")
			mustMove(t, f.store, Undo, Undo)
			w := mustAppend(t, f.store, "d")
			check(t, w, imgA, []string{"a", "d"}, 2)
			check(t, mustMove(t, f.store, Redo), imgA, []string{"a", "d"}, 2)
			check(t, mustGet(t, f.store, nil), imgA, []string{"a", "d"}, 2)
		}},
		{"append after undoing everything", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a", "b")
			mustMove(t, f.store, Undo, Undo)
			check(t, mustAppend(t, f.store, "c"), imgA, []string{"c"}, 1)
		}},
		{"reset drops every edit and keeps the original", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a", "b")
			mustMove(t, f.store, Undo)
			check(t, mustMove(t, f.store, Reset), imgA, nil, 0)
			check(t, mustMove(t, f.store, Redo), imgA, nil, 0)
			check(t, mustGet(t, f.store, nil), imgA, nil, 0)
			check(t, mustAppend(t, f.store, "c"), imgA, []string{"c"}, 1)
		}},
		{"conditional append", func(t *testing.T, f fixture) {
			w := mustOriginal(t, f.store, imgA)
			w, err := f.store.Append(ctx, id, edits("a")[0], w.Version)
			if err != nil {
				t.Fatalf("Append at the current version: %v", err)
			}
			stale := w.Version
			mustAppend(t, f.store, "b") // another replica's edit
			if _, err := f.store.Append(ctx, id, edits("c")[0], stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("Append at a stale version = %v, want ErrConflict", err)
			}
			if _, err := f.store.Append(ctx, id, edits("c")[0], stale+100); !errors.Is(err, ErrConflict) {
				t.Fatalf("Append at a future version = %v, want ErrConflict", err)
			}
			check(t, mustGet(t, f.store, nil), imgA, []string{"a", "b"}, 2)
		}},
		{"a full edit list refuses appends until an undo or reset", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			names := make([]string, MaxEdits)
			for i := range names {
				names[i] = fmt.Sprint(i)
			}
			mustAppend(t, f.store, names...)
			if _, err := f.store.Append(ctx, id, edits("over")[0], -1); !errors.Is(err, ErrTooManyEdits) {
				t.Fatalf("Append to a full list = %v, want ErrTooManyEdits", err)
			}
			if w := mustGet(t, f.store, nil); len(w.Edits) != MaxEdits || w.Cursor != MaxEdits {
				t.Fatalf("after the refused append: %d edits, cursor %d; want %d, %d", len(w.Edits), w.Cursor, MaxEdits, MaxEdits)
			}
			mustMove(t, f.store, Undo)
			w := mustAppend(t, f.store, "replaces the last")
			if len(w.Edits) != MaxEdits || string(w.Edits[MaxEdits-1]) != string(edits("replaces the last")[0]) {
				t.Fatalf("after undo, the append did not replace the last edit: %d edits", len(w.Edits))
			}
		}},
		{"every change increases the version", func(t *testing.T, f fixture) {
			var versions []int64
			record := func(w *Workspace) { versions = append(versions, w.Version) }
			record(mustOriginal(t, f.store, imgA))
			record(mustAppend(t, f.store, "a"))
			record(mustAppend(t, f.store, "b"))
			record(mustMove(t, f.store, Undo))
			record(mustMove(t, f.store, Redo))
			record(mustMove(t, f.store, Redo)) // a no-op still counts: it was a request
			record(mustMove(t, f.store, Reset))
			record(mustOriginal(t, f.store, imgB))
			for i := 1; i < len(versions); i++ {
				if versions[i] <= versions[i-1] {
					t.Fatalf("versions %v do not increase", versions)
				}
			}
			if w := mustGet(t, f.store, nil); w.Version != versions[len(versions)-1] {
				t.Fatalf("Get version %d, want %d", w.Version, versions[len(versions)-1])
			}
		}},
		{"every change gets a token never used before, and Get returns it", func(t *testing.T, f fixture) {
			// Replica caches serve a workspace only to a client holding its
			// token: a reused token would make them serve the wrong state.
			seen := map[string]bool{}
			record := func(w *Workspace) {
				t.Helper()
				if w.Token == "" || seen[w.Token] {
					t.Fatalf("token %q after change %d is empty or reused", w.Token, len(seen)+1)
				}
				seen[w.Token] = true
				if got := mustGet(t, f.store, w); got.Token != w.Token {
					t.Fatalf("Get token %q, the change returned %q", got.Token, w.Token)
				}
			}
			record(mustOriginal(t, f.store, imgA))
			record(mustAppend(t, f.store, "a"))
			record(mustMove(t, f.store, Undo))
			record(mustMove(t, f.store, Undo)) // a no-op is still a new state
			record(mustMove(t, f.store, Reset))
			record(mustOriginal(t, f.store, imgA)) // the same image again
		}},
		{"workspaces are independent", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			mustAppend(t, f.store, "a")
			other, err := f.store.SetOriginal(ctx, "ws-2", imgB)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Move(ctx, "ws-2", Reset); err != nil {
				t.Fatal(err)
			}
			check(t, other, imgB, nil, 0)
			check(t, mustGet(t, f.store, nil), imgA, []string{"a"}, 1)
		}},
		{"returned workspaces are copies", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			w := mustAppend(t, f.store, "a")
			w.Edits[0][2] = 'X'
			w.Original.Width = 1
			check(t, mustGet(t, f.store, nil), imgA, []string{"a"}, 1)
		}},
		{"a workspace expires ttl after its last change", func(t *testing.T, f fixture) {
			mustOriginal(t, f.store, imgA)
			f.wait(f.ttl * 6 / 10)
			mustAppend(t, f.store, "a")
			f.wait(f.ttl * 6 / 10) // 1.2 ttl after creation, 0.6 after the append
			check(t, mustGet(t, f.store, nil), imgA, []string{"a"}, 1)
			f.wait(f.ttl * 3 / 2)
			if _, found, err := f.store.Get(ctx, id); err != nil || found {
				t.Fatalf("expired workspace: found=%v err=%v", found, err)
			}
			if _, err := f.store.Append(ctx, id, edits("b")[0], -1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Append to an expired workspace = %v, want ErrNotFound", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newFixture(t))
		})
	}
}

func newMemoryFixture(*testing.T) fixture {
	clock := testutil.NewClock()
	m := NewMemory(time.Hour)
	m.now = clock.Now
	return fixture{store: m, ttl: time.Hour, wait: clock.Advance}
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	testStoreConformance(t, newMemoryFixture)
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	client := newRedisClient(t, addr)
	testStoreConformance(t, func(t *testing.T) fixture {
		// Redis keeps real time: a 1s lifetime, waited out in parallel.
		return fixture{store: NewRedis(client, "test:"+t.Name(), time.Second), ttl: time.Second, wait: time.Sleep}
	})
}

// TestRedisModesConformance runs the suite on standalone Redis, on Sentinel
// and on Redis Cluster, each through the client store.Open builds from
// configuration, as a replica does, and has two replicas (two clients)
// append to one workspace concurrently.
func TestRedisModesConformance(t *testing.T) {
	t.Parallel()
	for _, mode := range testutil.RedisModes() {
		t.Run(mode.Name, func(t *testing.T) {
			t.Parallel()
			cfg := mode.Start(t)
			client := testutil.OpenRedis(t, cfg)
			// Real time on a real server: the TTL cases leave 0.4 ttl between
			// a step and the expiry it must not reach, so ttl must exceed
			// what a loaded 2-core machine can stall a step (CI saw 1 s,
			// 0.4 s of margin, fail on a Cluster append).
			const ttl = 3 * time.Second
			testStoreConformance(t, func(t *testing.T) fixture {
				return fixture{store: NewRedis(client, "test:"+t.Name(), ttl), ttl: ttl, wait: time.Sleep}
			})
			t.Run("concurrent appends from two replicas", func(t *testing.T) {
				a := NewRedis(client, "test", time.Hour)
				b := NewRedis(testutil.OpenRedis(t, cfg), "test", time.Hour)
				testConcurrentAppends(t, []Store{a, b})
			})
		})
	}
}

func newRedisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testConcurrentAppends has 50 goroutines append one distinct edit each to
// one workspace, spread over replicas (stores sharing the state), first
// unconditionally, then with optimistic concurrency and retries: every edit
// must end up in the list exactly once.
func testConcurrentAppends(t *testing.T, replicas []Store) {
	const n = 50
	ctx := context.Background()
	tests := []struct {
		name   string
		append func(s Store, id string, edit json.RawMessage) error
	}{
		{"unconditional", func(s Store, id string, edit json.RawMessage) error {
			_, err := s.Append(ctx, id, edit, -1)
			return err
		}},
		{"optimistic with retry", func(s Store, id string, edit json.RawMessage) error {
			for {
				w, found, err := s.Get(ctx, id)
				if err != nil || !found {
					return fmt.Errorf("get: found=%v err=%w", found, err)
				}
				_, err = s.Append(ctx, id, edit, w.Version)
				if !errors.Is(err, ErrConflict) {
					return err
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := "concurrent-" + tc.name
			base, err := replicas[0].SetOriginal(ctx, id, imgA)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					s := replicas[i%len(replicas)]
					if err := tc.append(s, id, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
						t.Errorf("append %d: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()

			w, found, err := replicas[len(replicas)-1].Get(ctx, id)
			if err != nil || !found {
				t.Fatalf("Get: found=%v err=%v", found, err)
			}
			seen := map[string]int{}
			for _, e := range w.Edits {
				seen[string(e)]++
			}
			for i := range n {
				if e := fmt.Sprintf(`{"n":%d}`, i); seen[e] != 1 {
					t.Errorf("edit %s is in the list %d times, want once", e, seen[e])
				}
			}
			if len(w.Edits) != n || w.Cursor != n || w.Version != base.Version+n {
				t.Fatalf("%d edits, cursor %d, version %d; want %d, %d, %d", len(w.Edits), w.Cursor, w.Version, n, n, base.Version+n)
			}
		})
	}
}

func TestMemoryConcurrentAppends(t *testing.T) {
	t.Parallel()
	testConcurrentAppends(t, []Store{NewMemory(time.Hour)})
}

func TestRedisConcurrentAppendsFromTwoReplicas(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	// Two clients with their own connection pools: two replicas.
	a := NewRedis(newRedisClient(t, addr), "test", time.Hour)
	b := NewRedis(newRedisClient(t, addr), "test", time.Hour)
	testConcurrentAppends(t, []Store{a, b})
}
