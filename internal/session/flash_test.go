package session

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// flashServer is a replica with two routes more than newTestServer's:
//
//	POST /flash?kind=K&t=T  queues a message (with a session save first
//	                        when save=1) and answers 303, as a form does
//	GET  /page              takes the messages and lists them as JSON
func flashServer(t *testing.T, st *Store) *httptest.Server {
	t.Helper()
	return newTestServer(t, st, func(r *gin.Engine) {
		r.POST("/flash", func(c *gin.Context) {
			s := sessions.Default(c)
			if c.Query("save") == "1" {
				s.Set("k", "v")
				if err := s.Save(); err != nil {
					c.String(http.StatusInternalServerError, "%v", err)
					return
				}
			}
			for _, text := range c.QueryArray("t") {
				AddFlash(c, c.Query("kind"), text)
			}
			c.Status(http.StatusSeeOther)
		})
		r.GET("/page", func(c *gin.Context) {
			s := sessions.Default(c)
			got := TakeFlashes(c, s)
			if err := s.Save(); err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			body, _ := json.Marshal(got)
			c.Data(http.StatusOK, "application/json", body)
		})
	})
}

func (b *browser) flashes(srv *httptest.Server) []Flash {
	b.t.Helper()
	res := b.do(http.MethodGet, srv.URL+"/page", nil)
	if res.code != http.StatusOK {
		b.t.Fatalf("GET /page: %d %s", res.code, res.body)
	}
	var got []Flash
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		b.t.Fatalf("GET /page: %q: %v", res.body, err)
	}
	return got
}

func (b *browser) flash(srv *httptest.Server, kind string, texts ...string) {
	b.t.Helper()
	q := "?kind=" + kind
	for _, text := range texts {
		q += "&t=" + strings.ReplaceAll(text, " ", "+")
	}
	if res := b.do(http.MethodPost, srv.URL+"/flash"+q, nil); res.code != http.StatusSeeOther {
		b.t.Fatalf("POST /flash: %d %s", res.code, res.body)
	}
}

// A message queued on one replica is shown once by another, errors first,
// and costs the backend nothing.
func TestFlashesAcrossReplicasWithoutSessionSaves(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	spy := &spyBackend{Backend: newMemoryAt(clock)}
	a, b := flashServer(t, newTestStore(t, spy, clock, nil)), flashServer(t, newTestStore(t, spy, clock, nil))
	br := newBrowser(t)
	br.set(a, "k", "v").expect(t, http.StatusOK, StatusNew)
	writes := spy.write.Load()

	br.flash(a, FlashInfo, "uploaded", "rotated")
	br.flash(b, FlashError, "too big")
	want := []Flash{{FlashError, "too big"}, {FlashInfo, "uploaded"}, {FlashInfo, "rotated"}}
	if got := br.flashes(a); !slices.Equal(got, want) {
		t.Fatalf("the page shows %v, want %v (errors first, then in order)", got, want)
	}
	if got := br.flashes(b); got != nil {
		t.Fatalf("messages shown twice: %v", got)
	}
	if got := spy.write.Load() - writes; got != 0 {
		t.Fatalf("queuing and showing messages wrote the session %d times, want 0", got)
	}
}

// Messages survive a session save in the same request, and a session that
// an earlier release filled with messages still shows them.
func TestFlashesWithSessionSaveAndFromOlderSessions(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	st := newTestStore(t, newMemoryAt(clock), clock, nil)
	srv := flashServer(t, st)
	br := newBrowser(t)
	br.do(http.MethodPost, srv.URL+"/flash?kind=info&t=saved&save=1", nil)
	if got := br.flashes(srv); !slices.Equal(got, []Flash{{FlashInfo, "saved"}}) {
		t.Fatalf("after a save the page shows %v, want the message", got)
	}

	// The old way: the message in the session's values.
	old := newTestServer(t, st, func(r *gin.Engine) {
		r.POST("/old", func(c *gin.Context) {
			s := sessions.Default(c)
			s.AddFlash("from before", flashPrefix+FlashInfo)
			saveAndReply(c, s)
		})
	})
	br.do(http.MethodPost, old.URL+"/old", nil)
	if got := br.flashes(srv); !slices.Equal(got, []Flash{{FlashInfo, "from before"}}) {
		t.Fatalf("a session holding a message shows %v", got)
	}
	if got := br.flashes(srv); got != nil {
		t.Fatalf("the session's message was shown twice: %v", got)
	}
}

// A forged, unsigned or oversized flash cookie never puts words on the page.
func TestFlashCookieBadInput(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	st := newTestStore(t, newMemoryAt(clock), clock, nil)
	srv := flashServer(t, st)
	other := newTestStore(t, newMemoryAt(clock), clock, func(o *Options) { o.Keys = [][]byte{testKey(9)} })
	forged := newBrowser(t)
	otherSrv := flashServer(t, other)
	forged.flash(otherSrv, FlashError, "pay here")
	signedElsewhere := forged.cookieNamed(otherSrv, flashCookie(testCookie))
	if signedElsewhere == "" {
		t.Fatal("no flash cookie was set")
	}
	for name, value := range map[string]string{
		"signed with another key": signedElsewhere,
		"plain JSON":              `[{"k":"error","t":"pay here"}]`,
		"garbage":                 "%%%",
	} {
		br := newBrowser(t)
		br.setCookieNamed(srv, flashCookie(testCookie), value)
		res := br.do(http.MethodGet, srv.URL+"/page", nil)
		if res.code != http.StatusOK || res.body != "null" {
			t.Errorf("%s: the page answered %d %s, want 200 and no message", name, res.code, res.body)
		}
		if c := br.cookieNamed(srv, flashCookie(testCookie)); c != "" {
			t.Errorf("%s: the bad cookie was kept", name)
		}
	}

	// Long messages are cut, and only the newest few are kept, so that the
	// cookie stays within what browsers store.
	br := newBrowser(t)
	long := strings.Repeat("é", 1000)
	for range 3 {
		br.flash(srv, FlashInfo, long, long)
	}
	if c := br.cookieNamed(srv, flashCookie(testCookie)); len(c) > 4000 {
		t.Fatalf("the flash cookie is %d bytes; browsers keep at most 4096 with its name", len(c))
	}
	got := br.flashes(srv)
	if len(got) != maxFlashes || len(got[0].Text) > maxFlashBytes || !strings.HasSuffix(got[0].Text, "…") {
		t.Fatalf("got %d messages, the first %d bytes; want %d, cut to at most %d bytes with an ellipsis", len(got), len(got[0].Text), maxFlashes, maxFlashBytes)
	}
}
