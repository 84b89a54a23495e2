package session

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
)

// countingBackend counts the loads that reach the shared backend.
type countingBackend struct {
	Backend
	mu    sync.Mutex
	loads int
}

func (c *countingBackend) Load(ctx context.Context, id string, ttl time.Duration) ([]byte, bool, error) {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.Backend.Load(ctx, id, ttl)
}

func (c *countingBackend) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads
}

// cachedReplicas returns two replicas (stores with caches) on one shared
// backend, the way two easel processes share Redis.
func cachedReplicas(t *testing.T, clock *testutil.Clock) (*countingBackend, [2]*Store) {
	shared := &countingBackend{Backend: newMemoryAt(clock)}
	var out [2]*Store
	for i := range out {
		out[i] = newTestStore(t, shared, clock, func(o *Options) { o.CacheSize = 100 })
	}
	return shared, out
}

func TestCacheServesCurrentSessionWithoutBackend(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	shared, st := cachedReplicas(t, clock)
	a, b := newTestServer(t, st[0], nil), newTestServer(t, st[1], nil)
	br := newBrowser(t)
	br.set(a, "k", "1").expect(t, http.StatusOK, StatusNew)
	br.get(b, "k").expect(t, http.StatusOK, StatusHit) // B has no copy: a load
	loads := shared.count()
	for range 5 {
		if r := br.get(a, "k").expect(t, http.StatusOK, StatusHit); r.reply.Value != "1" {
			t.Fatalf("A answers %v, want 1", r.reply.Value)
		}
		if r := br.get(b, "k").expect(t, http.StatusOK, StatusHit); r.reply.Value != "1" {
			t.Fatalf("B answers %v, want 1", r.reply.Value)
		}
	}
	if n := shared.count() - loads; n != 0 {
		t.Errorf("10 views of an unchanged session loaded it %d times from the backend, want 0", n)
	}
}

// TestCacheReadYourWrites: a save on one replica makes the other replica's
// copy stale; the cookie says so, and the next read there sees the save.
func TestCacheReadYourWrites(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	_, st := cachedReplicas(t, clock)
	a, b := newTestServer(t, st[0], nil), newTestServer(t, st[1], nil)
	br := newBrowser(t)
	br.set(a, "k", "0")
	for i := range 200 {
		w, r := a, b
		if i%2 == 1 {
			w, r = b, a
		}
		v := string(rune('a' + i%26))
		br.set(w, "k", v).expect(t, http.StatusOK, StatusHit)
		if got := br.get(r, "k").expect(t, http.StatusOK, StatusHit); got.reply.Value != v {
			t.Fatalf("round %d: read after write answers %v, want %v", i, got.reply.Value, v)
		}
	}
}

// TestCacheRefreshesIdleTimer: a session viewed from cache still slides its
// idle timeout, through a backend load at most once per refresh interval,
// so that it ends at most that interval early.
func TestCacheRefreshesIdleTimer(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	shared := &countingBackend{Backend: newMemoryAt(clock)}
	st := newTestStore(t, shared, clock, func(o *Options) { o.CacheSize = 100; o.RefreshEvery = time.Minute })
	srv := newTestServer(t, st, nil)
	br := newBrowser(t)
	br.set(srv, "k", "v")
	loads := shared.count()
	// Views every 10 s for 40 minutes, beyond the 30-minute idle timeout.
	for i := 1; i <= 240; i++ {
		clock.Advance(10 * time.Second)
		if r := br.get(srv, "k").expect(t, http.StatusOK, StatusHit); r.reply.Value != "v" {
			t.Fatalf("after %s the session answers %v", time.Duration(i)*10*time.Second, r.reply.Value)
		}
	}
	if n := shared.count() - loads; n < 39 || n > 41 {
		t.Errorf("40 minutes of views loaded the session %d times, want one a minute (40)", n)
	}
	// Idle: it expires after the idle timeout, at most a minute early.
	clock.Advance(29 * time.Minute)
	br.get(srv, "k").expect(t, http.StatusOK, StatusHit)
	clock.Advance(31 * time.Minute)
	br.get(srv, "k").expect(t, http.StatusOK, StatusMiss)
}

// TestCacheBadCookies: a version cookie with a forged tag (signed with the
// key, as only the server can), a stale tag, another session's versions,
// or none at all (a session from before versions) is a cache miss that
// reads the backend: it gets the current session, never an old copy, and
// the version cookie is brought up to date. (A stale tag is only
// recognised as stale by a replica that holds a newer copy or none: one
// that cached exactly that old state, and nothing since, serves it, to the
// client that was shown it, for at most the refresh interval.)
func TestCacheBadCookies(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	shared, st := cachedReplicas(t, clock)
	a, b := newTestServer(t, st[0], nil), newTestServer(t, st[1], nil)
	other := newBrowser(t)
	other.set(a, "k", "someone else's")
	otherVersion := other.cookieNamed(a, versionCookie(testCookie))
	br := newBrowser(t)
	br.set(a, "k", "old")
	br.get(b, "k").expect(t, http.StatusOK, StatusHit) // B caches "old"
	stale := br.cookieNamed(a, versionCookie(testCookie))
	br.set(a, "k", "new")
	id := br.get(b, "k").reply.ID // B caches "new"
	sign := func(v string) string {
		sc := securecookie.New(testKey(1), nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		s, err := sc.Encode(versionCookie(testCookie), []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, version := range map[string]string{
		"stale tag":                  stale,
		"forged tag":                 sign(id + ".forged.x"),
		"another session's versions": otherVersion,
		"none":                       "",
		"empty tag":                  sign(id + ".."),
		"garbage":                    sign(id + ".\x00\xff.."),
		"unsigned":                   id + ".x.y",
	} {
		br.setCookieNamed(a, versionCookie(testCookie), version)
		loads := shared.count()
		r := br.get(b, "k")
		if r.code != http.StatusOK || r.status != StatusHit || r.reply.Value != "new" {
			t.Fatalf("%s: B answers %d %s %v, want the current value", name, r.code, r.status, r.reply.Value)
		}
		if shared.count() == loads {
			t.Errorf("%s: B answered from its cache", name)
		}
		if br.cookieNamed(a, versionCookie(testCookie)) == version {
			t.Errorf("%s: the version cookie was not brought up to date", name)
		}
		if r := br.get(b, "k").expect(t, http.StatusOK, StatusHit); r.reply.Value != "new" {
			t.Errorf("%s: then B answers %v", name, r.reply.Value)
		}
	}
}

// TestSessionCookieHoldsTheIDAlone: during a rolling update, replicas of
// the previous release read the session cookie as a signed ID; it must
// stay exactly that, whatever the version cookie beside it says.
func TestSessionCookieHoldsTheIDAlone(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	_, st := cachedReplicas(t, clock)
	a := newTestServer(t, st[0], nil)
	br := newBrowser(t)
	id := br.set(a, "k", "v").reply.ID
	br.set(a, "k", "w")
	sc := securecookie.New(testKey(1), nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	var raw []byte
	if err := sc.Decode(testCookie, br.cookie(a), &raw); err != nil || string(raw) != id {
		t.Fatalf("the session cookie holds %q (%v), want the ID %q alone", raw, err, id)
	}
}

// TestCacheLogoutOnOtherReplica: a session deleted on one replica is gone
// on the other, whose cache still holds it.
func TestCacheLogoutOnOtherReplica(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	_, st := cachedReplicas(t, clock)
	a, b := newTestServer(t, st[0], nil), newTestServer(t, st[1], nil)
	br := newBrowser(t)
	br.set(a, "k", "v")
	old, oldVersion := br.cookie(a), br.cookieNamed(a, versionCookie(testCookie))
	br.get(b, "k").expect(t, http.StatusOK, StatusHit)
	br.do(http.MethodPost, a.URL+"/logout", nil)
	br.get(b, "k").expect(t, http.StatusOK, StatusNew)
	// Replaying the old cookies: B's copy is not served past the refresh
	// interval, so the deleted session does not come back.
	br.setCookie(a, old)
	br.setCookieNamed(a, versionCookie(testCookie), oldVersion)
	clock.Advance(2 * time.Minute)
	br.get(b, "k").expect(t, http.StatusOK, StatusMiss)
}

// TestCacheChangesReadTheBackend: a session that ended on the backend (it
// expired, or was revoked there) may still be shown by a replica's copy for
// a page view, but the user's next action, a POST, reads the backend and
// finds it gone: nothing is done on behalf of a session that no longer
// exists.
func TestCacheChangesReadTheBackend(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	shared, st := cachedReplicas(t, clock)
	a := newTestServer(t, st[0], nil)
	br := newBrowser(t)
	br.set(a, "k", "v").expect(t, http.StatusOK, StatusNew)
	id := br.get(a, "k").expect(t, http.StatusOK, StatusHit).reply.ID
	if err := shared.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	loads := shared.count()
	br.set(a, "k", "w").expect(t, http.StatusOK, StatusMiss)
	if shared.count() == loads {
		t.Error("a POST was answered from the replica's copy of the session; want a load from the backend")
	}
}

// TestCacheGoneSessionIsGoneEverywhere: once an action found the session
// gone, no replica shows it again from its copy, not even on a page view.
func TestCacheGoneSessionIsGoneEverywhere(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	shared, st := cachedReplicas(t, clock)
	// POST /refuse reads the session and refuses the action without saving
	// anything, as a CSRF check does for a session that is gone.
	refuse := func(r *gin.Engine) {
		r.POST("/refuse", func(c *gin.Context) {
			c.JSON(http.StatusForbidden, reply{ID: sessions.Default(c).ID()})
		})
	}
	a, b := newTestServer(t, st[0], refuse), newTestServer(t, st[1], refuse)
	br := newBrowser(t)
	br.set(a, "k", "v").expect(t, http.StatusOK, StatusNew)
	id := br.get(a, "k").expect(t, http.StatusOK, StatusHit).reply.ID // A holds a copy
	if err := shared.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	// The next action lands on B and finds the session gone; the page
	// view after it lands on A, which still holds the copy.
	br.do(http.MethodPost, b.URL+"/refuse", nil).expect(t, http.StatusForbidden, StatusMiss)
	if r := br.get(a, "k"); r.status != StatusMiss && r.reply.Value != nil {
		t.Errorf("after the session was found gone, A shows it from its copy: %s, value %v", r.status, r.reply.Value)
	}
}

// A request that changes its session's values and then fails before saving
// (a refused form, a handler error) must not change what the next request
// served from the same replica's copy sees, and a value served from a copy
// looks exactly as it does when loaded (JSON: a number is a float64).
func TestCacheCopiesAreNotShared(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	_, st := cachedReplicas(t, clock)
	a := newTestServer(t, st[0], func(r *gin.Engine) {
		r.GET("/scribble", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("k", "scribbled")
			if list, ok := s.Get("list").([]any); ok && len(list) == 2 {
				c.Header("X-Type", fmt.Sprintf("%T", list[1]))
				list[0] = "scribbled"
			}
			c.Status(http.StatusNoContent) // no save
		})
		r.GET("/setlist", func(c *gin.Context) { // a page view that saves, as one that makes a CSRF token does
			s := sessions.Default(c)
			s.Set("list", []any{"first", 2})
			saveAndReply(c, s)
		})
	})
	br := newBrowser(t)
	br.set(a, "k", "v").expect(t, http.StatusOK, StatusNew)
	br.do(http.MethodGet, a.URL+"/setlist", nil).expect(t, http.StatusOK, StatusHit)
	for range 2 {
		res := br.do(http.MethodGet, a.URL+"/scribble", nil).expect(t, http.StatusNoContent, StatusHit)
		if typ := res.header.Get("X-Type"); typ != "float64" {
			t.Fatalf("a number stored as an int is a %s when served from the cache; a load gives a float64", typ)
		}
		if r := br.get(a, "k").expect(t, http.StatusOK, StatusHit); r.reply.Value != "v" {
			t.Fatalf("after an unsaved change the next view shows %v, want v", r.reply.Value)
		}
		r := br.get(a, "list").expect(t, http.StatusOK, StatusHit)
		if list, ok := r.reply.Value.([]any); !ok || len(list) != 2 || list[0] != "first" || list[1] != 2.0 {
			t.Fatalf("the list is %#v, want [first 2]", r.reply.Value)
		}
	}
}
