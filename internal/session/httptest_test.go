package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

const testCookie = "easel_session"

// testKey returns a 32-byte signing key made of b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// newTestStore returns a Store on backend with test defaults, changed by edit.
func newTestStore(t *testing.T, backend Backend, clock *testutil.Clock, edit func(*Options)) *Store {
	t.Helper()
	opts := Options{
		Keys:     [][]byte{testKey(1)},
		IdleTTL:  30 * time.Minute,
		Lifetime: 24 * time.Hour,
		MaxBytes: 4 << 10,
		Secure:   "never",
		Now:      clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	st, err := NewStore(backend, opts)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return st
}

// reply is what the test handlers answer.
type reply struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
	Err   string `json:"err"`
}

// newTestServer serves st through Middleware, the way easel does:
//
//	GET  /get?k=K        the value of K
//	POST /set?k=K&v=V    sets K to V and saves
//	POST /logout         MaxAge -1 and saves
//
// Every answer carries X-Session. extra adds routes.
func newTestServer(t *testing.T, st *Store, extra func(r *gin.Engine)) *httptest.Server {
	t.Helper()
	r := gin.New()
	r.Use(Middleware(st, testCookie, func(c *gin.Context, err error) {
		c.Header("X-Session", "error")
		c.String(http.StatusServiceUnavailable, "session store unavailable: %v", err)
	}))
	r.Use(func(c *gin.Context) {
		c.Header("X-Session", string(StatusOf(c.Request.Context())))
	})
	r.GET("/get", func(c *gin.Context) {
		s := sessions.Default(c)
		c.JSON(http.StatusOK, reply{ID: s.ID(), Value: s.Get(c.Query("k"))})
	})
	r.POST("/set", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set(c.Query("k"), c.Query("v"))
		saveAndReply(c, s)
	})
	r.POST("/logout", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Options(sessions.Options{Path: "/", MaxAge: -1})
		saveAndReply(c, s)
	})
	if extra != nil {
		extra(r)
	}
	return newHTTPTestServer(t, r)
}

// newHTTPTestServer serves h until the test ends.
func newHTTPTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// saveAndReply saves s and answers with the status its error deserves.
func saveAndReply(c *gin.Context, s sessions.Session) {
	code := http.StatusOK
	err := s.Save()
	switch {
	case errors.Is(err, ErrTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrGone):
		code = http.StatusConflict
	case err != nil:
		code = http.StatusInternalServerError
	}
	rep := reply{ID: s.ID()}
	if err != nil {
		rep.Err = err.Error()
	}
	c.JSON(code, rep)
}

// browser is an HTTP client with a cookie jar, talking to any test server
// on 127.0.0.1 (cookies ignore ports, so two servers share the jar, like two
// replicas behind one balancer).
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// response is one answer, decoded.
type response struct {
	code      int
	status    Status // X-Session
	reply     reply
	setCookie []*http.Cookie
	header    http.Header
	body      string
}

func (b *browser) do(method, rawURL string, header http.Header) response {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	out := response{code: res.StatusCode, status: Status(res.Header.Get("X-Session")), setCookie: res.Cookies(), header: res.Header, body: string(body)}
	if res.Header.Get("Content-Type") == "application/json; charset=utf-8" {
		if err := json.Unmarshal(body, &out.reply); err != nil {
			b.t.Fatalf("%s %s: decoding %q: %v", method, rawURL, body, err)
		}
	}
	return out
}

func (b *browser) get(srv *httptest.Server, key string) response {
	b.t.Helper()
	return b.do(http.MethodGet, srv.URL+"/get?k="+url.QueryEscape(key), nil)
}

func (b *browser) set(srv *httptest.Server, key, value string) response {
	b.t.Helper()
	return b.do(http.MethodPost, srv.URL+"/set?k="+url.QueryEscape(key)+"&v="+url.QueryEscape(value), nil)
}

// cookie returns the session cookie the browser holds for srv, or "".
func (b *browser) cookie(srv *httptest.Server) string {
	b.t.Helper()
	return b.cookieNamed(srv, testCookie)
}

// cookieNamed returns the browser's cookie name for srv, or "".
func (b *browser) cookieNamed(srv *httptest.Server, name string) string {
	b.t.Helper()
	u, _ := url.Parse(srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookieNamed replaces the browser's cookie name for srv; "" removes it.
func (b *browser) setCookieNamed(srv *httptest.Server, name, value string) {
	b.t.Helper()
	u, _ := url.Parse(srv.URL)
	c := &http.Cookie{Name: name, Value: value, Path: "/"}
	if value == "" {
		c.MaxAge = -1
	}
	b.client.Jar.SetCookies(u, []*http.Cookie{c})
}

// setCookie replaces the browser's session cookie for srv.
func (b *browser) setCookie(srv *httptest.Server, value string) {
	b.t.Helper()
	u, _ := url.Parse(srv.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: testCookie, Value: value, Path: "/"}})
}

// expect fails the test unless r has the wanted HTTP code and X-Session.
func (r response) expect(t *testing.T, code int, status Status) response {
	t.Helper()
	if r.code != code || r.status != status {
		t.Fatalf("got %d X-Session=%q (%s), want %d X-Session=%q", r.code, r.status, r.body, code, status)
	}
	return r
}
