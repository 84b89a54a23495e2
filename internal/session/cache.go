package session

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/workspace"
	lru "github.com/hashicorp/golang-lru/v2"
)

// cache keeps recently used sessions in this replica's memory, so that a
// request costs no round trip when its session has not changed.
//
// Every save gives a session a new random tag and puts it in the signed
// version cookie (beside the session cookie, which holds the ID alone). A cached copy is served only to a cookie carrying the copy's own
// tag: then it is exactly the state the client last saw, whichever replica
// saved it. A save on another replica changes the client's tag, so this
// replica's copy no longer matches and the request reads the backend
// (read-your-writes across replicas without any invalidation message). A
// cookie from before tags, or with a tag this replica never cached, is a
// miss, never a wrong page: nobody but the server can sign a cookie.
//
// A copy is served for at most refresh after the backend last confirmed it.
// The backend's load restarts the session's idle timer, so this is also the
// throttled sliding expiry: the idle timer is restarted at most once per
// refresh interval per replica instead of on every request, and the session
// expires at most refresh early. It bounds, too, how long a replica could
// serve a save that Redis lost in a failover.
//
// The eviction order is hashicorp/golang-lru's, not hand-written. go-redis'
// client-side caching (CLIENT TRACKING) would not do here: its
// invalidations arrive after the writer's reply, so alone it cannot give
// read-your-writes across replicas, and GETEX (which slides the idle timer)
// is not a command it caches.
type cache struct {
	entries *lru.Cache[string, cachedSession]
	refresh time.Duration
	now     func() time.Time
	observe func(result string)
}

type cachedSession struct {
	tag       string
	data      []byte // the payload as stored: decoded afresh for every request
	confirmed time.Time
}

func newCache(opts Options) (*cache, error) {
	entries, err := lru.New[string, cachedSession](opts.CacheSize)
	if err != nil {
		return nil, err
	}
	refresh := opts.RefreshEvery
	if refresh <= 0 {
		refresh = time.Minute
	}
	refresh = min(refresh, opts.IdleTTL/4)
	observe := opts.Observe
	if observe == nil {
		observe = func(string) {}
	}
	return &cache{entries: entries, refresh: refresh, now: opts.Now, observe: observe}, nil
}

// lookup returns the cached payload of session id if its tag is tag and the
// backend confirmed it less than refresh ago.
func (c *cache) lookup(id, tag string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	e, ok := c.entries.Get(id)
	switch {
	case !ok || tag == "" || c.now().Sub(e.confirmed) >= c.refresh:
		c.observe(workspace.CacheMiss)
		return nil, false
	case e.tag != tag:
		c.observe(workspace.CacheConflict)
		return nil, false
	}
	c.observe(workspace.CacheHit)
	return e.data, true
}

// remember caches what the backend just returned or stored.
func (c *cache) remember(id, tag string, data []byte) {
	if c == nil || tag == "" {
		return
	}
	c.entries.Add(id, cachedSession{tag: tag, data: data, confirmed: c.now()})
}

func (c *cache) forget(id string) {
	if c != nil {
		c.entries.Remove(id)
	}
}

// cookieValue is what the signed version cookie carries: the session ID
// (so that it is never taken for another session's), the tag of the
// session state the client last saw and the token of its workspace state
// (workspace.Token).
type cookieValue struct {
	id, tag, workspace string
}

// String joins the fields with dots, which neither IDs (base64url) nor
// tags and tokens (base36 and '-') contain.
func (v cookieValue) String() string { return v.id + "." + v.tag + "." + v.workspace }

func parseCookieValue(s string) cookieValue {
	id, rest, _ := strings.Cut(s, ".")
	tag, ws, _ := strings.Cut(rest, ".")
	return cookieValue{id: id, tag: tag, workspace: ws}
}

func newTag() string { return strconv.FormatUint(rand.Uint64(), 36) }

// replaceCookie sets c on w, dropping a cookie of the same name set earlier
// in this response (a request can save its session and then change its
// workspace, each of which updates the cookie).
func replaceCookie(w http.ResponseWriter, c *http.Cookie) {
	h := w.Header()
	kept := h.Values("Set-Cookie")[:0:0]
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, c.Name+"=") {
			kept = append(kept, v)
		}
	}
	h.Del("Set-Cookie")
	for _, v := range kept {
		h.Add("Set-Cookie", v)
	}
	http.SetCookie(w, c)
}
