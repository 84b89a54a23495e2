package session

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// spyBackend counts calls and can make Load fail like an unreachable Redis.
type spyBackend struct {
	Backend
	failLoad     atomic.Bool
	loads, write atomic.Int64
}

func (s *spyBackend) Load(ctx context.Context, id string, ttl time.Duration) ([]byte, bool, error) {
	s.loads.Add(1)
	if s.failLoad.Load() {
		return nil, false, store.Unavailable("loading session", errors.New("connection refused"))
	}
	return s.Backend.Load(ctx, id, ttl)
}

func (s *spyBackend) Create(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	s.write.Add(1)
	return s.Backend.Create(ctx, id, data, ttl)
}

func (s *spyBackend) Update(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	s.write.Add(1)
	return s.Backend.Update(ctx, id, data, ttl)
}

func (s *spyBackend) Delete(ctx context.Context, id string) error {
	s.write.Add(1)
	return s.Backend.Delete(ctx, id)
}

func TestMiddlewareBackendErrorAnswers503AndWritesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		spy := &spyBackend{Backend: kind.newBackend(t, clock)}
		var handled atomic.Int64
		srv := newTestServer(t, newTestStore(t, spy, clock, nil), func(r *gin.Engine) {
			r.POST("/clear", func(c *gin.Context) {
				handled.Add(1)
				s := sessions.Default(c) // an empty session, were the error ignored
				s.Clear()
				saveAndReply(c, s)
			})
		})
		b := newBrowser(t)
		b.set(srv, "k", "v")

		spy.failLoad.Store(true)
		writes := spy.write.Load()
		for _, path := range []string{"/clear", "/set?k=k&v=overwritten", "/logout"} {
			r := b.do(http.MethodPost, srv.URL+path, nil).expect(t, http.StatusServiceUnavailable, "error")
			if len(r.setCookie) != 0 {
				t.Fatalf("POST %s: a failed load set cookies %v", path, r.setCookie)
			}
		}
		if n := spy.write.Load() - writes; n != 0 || handled.Load() != 0 {
			t.Fatalf("during the outage: %d backend writes, %d handler runs; want none", n, handled.Load())
		}

		spy.failLoad.Store(false) // the store is back: the session is intact
		if v := b.get(srv, "k").expect(t, http.StatusOK, StatusHit).reply.Value; v != "v" {
			t.Fatalf("after the outage the value is %v, want v", v)
		}
	})
}

func TestMiddlewareLoadsOncePerRequest(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	spy := &spyBackend{Backend: newMemoryAt(clock)}
	srv := newTestServer(t, newTestStore(t, spy, clock, nil), nil)
	b := newBrowser(t)
	b.set(srv, "k", "v")
	before := spy.loads.Load()
	b.set(srv, "k", "w").expect(t, http.StatusOK, StatusHit)
	if n := spy.loads.Load() - before; n != 1 {
		t.Fatalf("one request loaded the session %d times", n)
	}
}

func TestMiddlewareRedisDown(t *testing.T) {
	t.Parallel()
	addr, stop := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	clock := testutil.NewClock()
	srv := newTestServer(t, newTestStore(t, NewRedis(client, "test"), clock, nil), nil)
	b := newBrowser(t)
	b.set(srv, "k", "v")
	stop()
	r := b.set(srv, "k", "w").expect(t, http.StatusServiceUnavailable, "error")
	if !strings.Contains(r.body, store.ErrUnavailable.Error()) {
		t.Fatalf("onError got %q, want an ErrUnavailable", r.body)
	}
}

func TestStoreCookieAttributes(t *testing.T) {
	t.Parallel()
	proxied := func(r *http.Request) bool { return r.Header.Get("X-Forwarded-Proto") == "https" }
	tests := []struct {
		name    string
		secure  string
		isHTTPS func(*http.Request) bool
		proto   string // X-Forwarded-Proto sent
		want    bool
	}{
		{"always", "always", nil, "", true},
		{"always, even over plain http", "always", proxied, "http", true},
		{"never, even behind https", "never", proxied, "https", false},
		{"auto behind https", "auto", proxied, "https", true},
		{"auto over http", "auto", proxied, "http", false},
		{"auto without a proxy check", "auto", nil, "https", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock()
			st := newTestStore(t, newMemoryAt(clock), clock, func(o *Options) {
				o.Secure, o.IsHTTPS, o.Lifetime = tc.secure, tc.isHTTPS, 2*time.Hour
			})
			srv := newTestServer(t, st, nil)
			h := http.Header{}
			if tc.proto != "" {
				h.Set("X-Forwarded-Proto", tc.proto)
			}
			r := newBrowser(t).do(http.MethodPost, srv.URL+"/set?k=k&v=v", h)
			// The session cookie and its version cookie, alike.
			if len(r.setCookie) != 2 || r.setCookie[0].Name != testCookie || r.setCookie[1].Name != testCookie+"_v" {
				t.Fatalf("got cookies %v, want %s and %s_v", r.setCookie, testCookie, testCookie)
			}
			for _, c := range r.setCookie {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 7200 {
					t.Fatalf("cookie %s, want HttpOnly; SameSite=Lax; Path=/; Max-Age=7200", c)
				}
				if c.Secure != tc.want {
					t.Fatalf("cookie %s: Secure=%v, want %v", c, c.Secure, tc.want)
				}
			}
		})
	}
}

func TestNewStoreRejectsBadKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"no key", nil, "at least one signing key"},
		{"short key", [][]byte{[]byte("too short")}, "key 1 is 9 bytes"},
		{"short second key", [][]byte{testKey(1), testKey(2)[:31]}, "key 2 is 31 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewStore(NewMemory(), Options{Keys: tc.keys, IdleTTL: time.Hour, Lifetime: time.Hour, MaxBytes: 1024})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewStore = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestStoreWithoutMiddlewareKeepsLifetime installs the Store the plain
// gin-contrib way (sessions.Sessions, as the tester suite does): the absolute
// lifetime must hold there too, so a save must not restart it.
func TestStoreWithoutMiddlewareKeepsLifetime(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	st := newTestStore(t, newMemoryAt(clock), clock, func(o *Options) { o.IdleTTL, o.Lifetime = 30*time.Minute, time.Hour })
	r := gin.New()
	r.Use(sessions.Sessions(testCookie, st))
	r.GET("/get", func(c *gin.Context) {
		c.JSON(http.StatusOK, reply{Value: sessions.Default(c).Get(c.Query("k"))})
	})
	r.POST("/set", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set(c.Query("k"), c.Query("v"))
		saveAndReply(c, s)
	})
	srv := newHTTPTestServer(t, r)
	b := newBrowser(t)
	b.set(srv, "k", "v")
	clock.Advance(25 * time.Minute) // within the 30m idle timeout each time
	b.set(srv, "k", "w")
	clock.Advance(25 * time.Minute)
	b.set(srv, "k", "x")
	clock.Advance(11 * time.Minute) // 61m after creation, 11m after the last save
	if v := b.get(srv, "k").reply.Value; v != nil {
		t.Fatalf("a session 61m old (lifetime 1h) still answers %v: saving restarted its lifetime", v)
	}
}

// TestStoreSaveAtLifetimeBoundary: a request that loads a session just
// before its absolute lifetime ends and saves it just after gets ErrGone, as
// if the session had expired in between, and must not leave it stored
// beyond the lifetime (a zero TTL means "no expiry" to Redis, and a negative
// one is a Redis error, that is a 503).
func TestStoreSaveAtLifetimeBoundary(t *testing.T) {
	t.Parallel()
	client := startRedisClient(t)
	tests := []struct {
		name    string
		overrun time.Duration // how far past the lifetime the save happens
	}{
		{"exactly at the end", 0},
		{"just after the end", 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock()
			backend := NewRedis(client, "test:"+t.Name())
			st := newTestStore(t, backend, clock, func(o *Options) { o.IdleTTL, o.Lifetime = 30*time.Minute, time.Hour })
			const left = 10 * time.Millisecond
			srv := newTestServer(t, st, func(r *gin.Engine) {
				r.POST("/slow", func(c *gin.Context) {
					s := sessions.Default(c)
					clock.Advance(left + tc.overrun) // the handler takes its time
					s.Set("k", "late")
					saveAndReply(c, s)
				})
			})
			b := newBrowser(t)
			id := b.set(srv, "k", "v").reply.ID
			clock.Advance(time.Hour - left)
			r := b.do(http.MethodPost, srv.URL+"/slow", nil)
			if r.code != http.StatusConflict {
				t.Fatalf("saving at the lifetime boundary answered %d: %s; want 409 (ErrGone)", r.code, r.body)
			}
			ttl, err := client.PTTL(context.Background(), backend.key(id)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl != -2*time.Nanosecond { // PTTL's "no such key"
				t.Fatalf("session stored with TTL %v after its lifetime ended, want it gone", ttl)
			}
		})
	}
}
