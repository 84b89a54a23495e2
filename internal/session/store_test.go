package session

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
)

// forEachBackend runs test once per backend kind, in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, kind backendKind)) {
	t.Helper()
	for _, kind := range backendKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

// signWith signs id as a session cookie value with key, the way a Store does.
func signWith(t *testing.T, key []byte, id string) string {
	t.Helper()
	sc := securecookie.New(key, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, err := sc.Encode(testCookie, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// swapID keeps cookie's timestamp and MAC but replaces the ID it carries.
func swapID(t *testing.T, cookie, id string) string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(cookie)
	if err != nil {
		t.Fatalf("decoding cookie %q: %v", cookie, err)
	}
	parts := strings.SplitN(string(raw), "|", 3) // date|value|mac
	if len(parts) != 3 {
		t.Fatalf("cookie %q has %d parts", raw, len(parts))
	}
	parts[1] = base64.URLEncoding.EncodeToString([]byte(id))
	return base64.URLEncoding.EncodeToString([]byte(strings.Join(parts, "|")))
}

func TestStoreIssuesRandomServerIDs(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		srv := newTestServer(t, newTestStore(t, kind.newBackend(t, clock), clock, nil), nil)
		seen := map[string]bool{}
		for range 5 {
			b := newBrowser(t)
			b.get(srv, "k").expect(t, http.StatusOK, StatusNew)
			id := b.set(srv, "k", "v").expect(t, http.StatusOK, StatusNew).reply.ID
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(raw) < 32 {
				t.Fatalf("session id %q: %d bytes (%v), want >= 32 random bytes", id, len(raw), err)
			}
			if seen[id] {
				t.Fatalf("session id %q issued twice", id)
			}
			seen[id] = true
			if c := b.cookie(srv); c == "" || strings.Contains(c, id) {
				t.Fatalf("cookie %q must carry the id signed, not bare", c)
			}
			r := b.get(srv, "k").expect(t, http.StatusOK, StatusHit)
			if r.reply.ID != id || r.reply.Value != "v" {
				t.Fatalf("second request got %+v, want id %q value v", r.reply, id)
			}
		}
	})
}

func TestStoreNeverAdoptsAnUnknownID(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		tests := []struct {
			name string
			// cookieID makes a session (or not) and returns the ID the
			// browser's signed cookie will name.
			cookieID func(t *testing.T, b *browser, srv srvStore) string
		}{
			{"made-up id signed with a valid key", func(t *testing.T, _ *browser, _ srvStore) string {
				return "attacker-chosen-session-id-0123456789abcdef"
			}},
			{"deleted session", func(t *testing.T, b *browser, s srvStore) string {
				id := b.set(s.srv, "k", "v").reply.ID
				if err := s.backend.Delete(context.Background(), id); err != nil {
					t.Fatal(err)
				}
				return id
			}},
			{"idle-expired session", func(t *testing.T, b *browser, s srvStore) string {
				id := b.set(s.srv, "k", "v").reply.ID
				if _, ok := s.backend.(*Memory); ok {
					s.clock.Advance(31 * time.Minute)
				} else if err := s.backend.Delete(context.Background(), id); err != nil { // Redis expiry is real time
					t.Fatal(err)
				}
				return id
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSrvStore(t, kind)
				b := newBrowser(t)
				stale := tc.cookieID(t, b, s)
				b.setCookie(s.srv, signWith(t, testKey(1), stale))
				r := b.get(s.srv, "k").expect(t, http.StatusOK, StatusMiss)
				if r.reply.Value != nil {
					t.Fatalf("a missed session shows value %v", r.reply.Value)
				}
				fresh := b.set(s.srv, "k", "w").expect(t, http.StatusOK, StatusMiss).reply.ID
				if fresh == stale || fresh == "" {
					t.Fatalf("session id %q adopted; want a fresh server-issued id", fresh)
				}
				if _, found, err := s.backend.Load(context.Background(), stale, time.Hour); err != nil || found {
					t.Fatalf("stale id %q stored again (found=%v, err=%v)", stale, found, err)
				}
				b.get(s.srv, "k").expect(t, http.StatusOK, StatusHit)
			})
		}
	})
}

// srvStore is a test server with what stands behind it.
type srvStore struct {
	srv     *httptest.Server
	store   *Store
	backend Backend
	clock   *testutil.Clock
}

func newSrvStore(t *testing.T, kind backendKind) srvStore {
	t.Helper()
	clock := testutil.NewClock()
	backend := kind.newBackend(t, clock)
	st := newTestStore(t, backend, clock, nil)
	return srvStore{srv: newTestServer(t, st, nil), store: st, backend: backend, clock: clock}
}

func TestStoreRejectsForgedCookies(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		tests := []struct {
			name string
			// forge returns a cookie value aimed at the victim's session,
			// given the attacker's own valid cookie.
			forge func(t *testing.T, own, victimID string) string
		}{
			{"own cookie with the victim's id swapped in", func(t *testing.T, own, victimID string) string {
				return swapID(t, own, victimID)
			}},
			{"victim's id signed by an unknown key", func(t *testing.T, _, victimID string) string {
				return signWith(t, testKey(9), victimID)
			}},
			{"bare victim id", func(_ *testing.T, _, victimID string) string { return victimID }},
			{"truncated mac", func(_ *testing.T, own, _ string) string { return own[:len(own)-4] }},
			{"not base64", func(_ *testing.T, _, _ string) string { return "%%%not-a-cookie" }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSrvStore(t, kind)
				victim := newBrowser(t)
				victimID := victim.set(s.srv, "secret", "victim's").reply.ID
				attacker := newBrowser(t)
				attacker.set(s.srv, "k", "attacker's")
				attacker.setCookie(s.srv, tc.forge(t, attacker.cookie(s.srv), victimID))

				r := attacker.get(s.srv, "secret").expect(t, http.StatusOK, StatusMiss)
				if r.reply.Value != nil || r.reply.ID != "" {
					t.Fatalf("forged cookie reached a session: %+v", r.reply)
				}
				if id := attacker.set(s.srv, "secret", "overwritten").reply.ID; id == victimID {
					t.Fatal("forged cookie adopted the victim's id")
				}
				victim.get(s.srv, "secret").expect(t, http.StatusOK, StatusHit)
				if v := victim.get(s.srv, "secret").reply.Value; v != "victim's" {
					t.Fatalf("victim's session now holds %v", v)
				}
			})
		}
	})
}

func TestStoreKeyRotation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		backend := kind.newBackend(t, clock)
		oldKey, newKey := testKey(1), testKey(2)
		before := newTestServer(t, newTestStore(t, backend, clock, func(o *Options) { o.Keys = [][]byte{oldKey} }), nil)
		rotated := newTestServer(t, newTestStore(t, backend, clock, func(o *Options) { o.Keys = [][]byte{newKey, oldKey} }), nil)
		retired := newTestServer(t, newTestStore(t, backend, clock, func(o *Options) { o.Keys = [][]byte{newKey} }), nil)

		// A session from before the rotation survives it.
		b := newBrowser(t)
		id := b.set(before, "k", "v").reply.ID
		r := b.get(rotated, "k").expect(t, http.StatusOK, StatusHit)
		if r.reply.ID != id || r.reply.Value != "v" {
			t.Fatalf("after rotation got %+v, want the session %q", r.reply, id)
		}
		// An untouched old-key cookie stops verifying once the key is retired...
		ub := newBrowser(t)
		ub.set(before, "k", "u")
		ub.get(retired, "k").expect(t, http.StatusOK, StatusMiss)
		// ... but a session changed after the rotation was re-signed with the
		// new key, so it survives the retirement.
		b.set(rotated, "k", "v3")
		if v := b.get(retired, "k").expect(t, http.StatusOK, StatusHit).reply.Value; v != "v3" {
			t.Fatalf("a re-signed session reads %v after retiring the old key, want v3", v)
		}

		// New sessions are signed with the new key: the retired-key store
		// (which knows only the new key) accepts them.
		nb := newBrowser(t)
		nb.set(rotated, "k", "v2")
		if v := nb.get(retired, "k").expect(t, http.StatusOK, StatusHit).reply.Value; v != "v2" {
			t.Fatalf("value %v, want v2", v)
		}
		// ... and the pre-rotation store, without the new key, rejects them.
		nb.get(before, "k").expect(t, http.StatusOK, StatusMiss)
	})
}

func TestStoreNegativeMaxAgeDeletesSession(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		s := newSrvStore(t, kind)
		b := newBrowser(t)
		id := b.set(s.srv, "k", "v").reply.ID
		stolen := b.cookie(s.srv)

		r := b.do(http.MethodPost, s.srv.URL+"/logout", nil).expect(t, http.StatusOK, StatusHit)
		var cleared bool
		for _, c := range r.setCookie {
			cleared = cleared || (c.Name == testCookie && c.MaxAge < 0 && c.Value == "")
		}
		if !cleared {
			t.Fatalf("logout sent %v, want the cookie cleared", r.setCookie)
		}
		if _, found, err := s.backend.Load(context.Background(), id, time.Hour); err != nil || found {
			t.Fatalf("session still stored after MaxAge<0 (found=%v, err=%v)", found, err)
		}
		b.get(s.srv, "k").expect(t, http.StatusOK, StatusNew)

		// A copy of the old cookie leads nowhere.
		b.setCookie(s.srv, stolen)
		if v := b.get(s.srv, "k").expect(t, http.StatusOK, StatusMiss).reply.Value; v != nil {
			t.Fatalf("deleted session answered %v", v)
		}
	})
}

func TestStoreAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		backend := kind.newBackend(t, clock)
		st := newTestStore(t, backend, clock, func(o *Options) { o.IdleTTL, o.Lifetime = 30*time.Minute, time.Hour })
		srv := newTestServer(t, st, nil)
		b := newBrowser(t)
		id := b.set(srv, "k", "v").reply.ID
		// Active every 20 minutes: the idle timer never runs out...
		for range 2 {
			clock.Advance(20 * time.Minute)
			b.get(srv, "k").expect(t, http.StatusOK, StatusHit)
		}
		clock.Advance(19 * time.Minute) // 59m
		b.set(srv, "k", "w").expect(t, http.StatusOK, StatusHit)
		// ...but the absolute lifetime does.
		clock.Advance(2 * time.Minute) // 61m
		r := b.get(srv, "k").expect(t, http.StatusOK, StatusMiss)
		if r.reply.Value != nil {
			t.Fatalf("expired session answered %v", r.reply.Value)
		}
		if _, found, err := backend.Load(context.Background(), id, time.Hour); err != nil || found {
			t.Fatalf("session past its lifetime still stored (found=%v, err=%v)", found, err)
		}
		if nid := b.set(srv, "k", "x").reply.ID; nid == id || nid == "" {
			t.Fatalf("after the lifetime got id %q, want a fresh one", nid)
		}
	})
}

func TestStoreSizeCap(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		backend := kind.newBackend(t, clock)
		srv := newTestServer(t, newTestStore(t, backend, clock, func(o *Options) { o.MaxBytes = 256 }), nil)
		big := strings.Repeat("x", 300)

		t.Run("new session", func(t *testing.T) {
			b := newBrowser(t)
			r := b.set(srv, "k", big).expect(t, http.StatusRequestEntityTooLarge, StatusNew)
			if len(r.setCookie) != 0 || r.reply.ID != "" {
				t.Fatalf("an oversized new session got a cookie %v / id %q", r.setCookie, r.reply.ID)
			}
			if !strings.Contains(r.reply.Err, "256") {
				t.Fatalf("error %q does not name the limit", r.reply.Err)
			}
		})
		t.Run("existing session is unchanged", func(t *testing.T) {
			b := newBrowser(t)
			id := b.set(srv, "k", "small").reply.ID
			stored, _, err := backend.Load(context.Background(), id, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			b.set(srv, "k", big).expect(t, http.StatusRequestEntityTooLarge, StatusHit)
			after, _, err := backend.Load(context.Background(), id, time.Hour)
			if err != nil || string(after) != string(stored) {
				t.Fatalf("stored session changed from %q to %q (%v)", stored, after, err)
			}
			if v := b.get(srv, "k").expect(t, http.StatusOK, StatusHit).reply.Value; v != "small" {
				t.Fatalf("value %v, want small", v)
			}
		})
	})
}

func TestStoreUndecodablePayloadStartsAfresh(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		tests := []struct{ name, payload string }{
			{"garbage", "\x00\xffnot json"},
			{"gob from an old version", "\x0e\xff\x81\x04\x01\x02\xff\x82\x00\x01\x10\x01\x10\x00"},
			{"unknown format version", `{"v":99,"c":1764000000000,"d":{"k":"v"}}`},
			{"wrong value type", `{"v":1,"c":1764000000000,"d":["k","v"]}`},
			{"no creation time", `{"v":1,"d":{"k":"v"}}`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSrvStore(t, kind)
				b := newBrowser(t)
				id := b.set(s.srv, "k", "v").reply.ID
				if err := s.backend.Update(context.Background(), id, []byte(tc.payload), time.Hour); err != nil {
					t.Fatal(err)
				}
				r := b.get(s.srv, "k").expect(t, http.StatusOK, StatusMiss)
				if r.reply.Value != nil {
					t.Fatalf("undecodable session answered %v", r.reply.Value)
				}
				if nid := b.set(s.srv, "k", "w").expect(t, http.StatusOK, StatusMiss).reply.ID; nid == id {
					t.Fatal("the undecodable session's id was reused")
				}
				b.get(s.srv, "k").expect(t, http.StatusOK, StatusHit)
			})
		}
	})
}

func TestStoreDeletedSessionIsNotResurrected(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kind backendKind) {
		clock := testutil.NewClock()
		backend := kind.newBackend(t, clock)
		loaded, proceed := make(chan struct{}), make(chan struct{})
		srv := newTestServer(t, newTestStore(t, backend, clock, nil), func(r *gin.Engine) {
			r.POST("/slow", func(c *gin.Context) {
				s := sessions.Default(c) // loaded before the logout
				close(loaded)
				<-proceed
				s.Set("k", "late")
				saveAndReply(c, s)
			})
		})
		b := newBrowser(t)
		id := b.set(srv, "k", "v").reply.ID

		slow := make(chan *http.Response, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slow", nil)
			res, err := b.client.Do(req)
			if err != nil {
				slow <- nil
				return
			}
			_ = res.Body.Close()
			slow <- res
		}()
		select {
		case <-loaded:
		case res := <-slow:
			t.Fatalf("the slow request ended before loading its session: %v", res)
		}
		b.do(http.MethodPost, srv.URL+"/logout", nil).expect(t, http.StatusOK, StatusHit)
		close(proceed)
		res := <-slow
		if res == nil || res.StatusCode != http.StatusConflict {
			t.Fatalf("the slow request's save answered %v, want 409 (ErrGone)", res)
		}

		if data, found, err := backend.Load(context.Background(), id, time.Hour); err != nil || found {
			t.Fatalf("the slow request resurrected the session: %q (found=%v, err=%v)", data, found, err)
		}
	})
}
