package session

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/statecache"
)

// cache keeps recently used sessions in this replica's memory, so that a
// request costs no round trip when its session has not changed
// (statecache explains the mechanism). Every save gives a session a new
// random tag and puts it in the signed version cookie beside the session
// cookie (which holds the ID alone); a cookie without a tag, from before
// tags, proves nothing and is a miss.
//
// A copy is served for at most refresh after the backend last confirmed it.
// The backend's load restarts the session's idle timer, so this is also the
// throttled sliding expiry: the idle timer is restarted at most once per
// refresh interval per replica instead of on every request, and the session
// expires at most refresh early. Requests that change state never use the
// cache (see Store.New).
type cache struct {
	copies  *statecache.Cache[payload] // decoded once; every request gets its own copy of the values
	observe func(result string)
}

func newCache(opts Options) (*cache, error) {
	refresh := opts.RefreshEvery
	if refresh <= 0 {
		refresh = time.Minute
	}
	copies, err := statecache.New[payload](opts.CacheSize, min(refresh, opts.IdleTTL/4), opts.Now)
	if err != nil {
		return nil, err
	}
	observe := opts.Observe
	if observe == nil {
		observe = func(string) {}
	}
	return &cache{copies: copies, observe: observe}, nil
}

// lookup returns a copy of the cached payload of session id if its tag is
// tag and the backend confirmed it less than refresh ago.
func (c *cache) lookup(id, tag string) (payload, bool) {
	if c == nil {
		return payload{}, false
	}
	if tag == "" {
		c.observe(string(statecache.Miss))
		return payload{}, false
	}
	p, r := c.copies.Get(id, tag)
	c.observe(string(r))
	if r != statecache.Hit {
		return payload{}, false
	}
	p.Values = copyValues(p.Values)
	return p, true
}

// latest returns a copy of the cached payload of session id whatever its
// tag and age, for a request that acts on it under a guard (see
// Store.provisional).
func (c *cache) latest(id string) (payload, bool) {
	if c == nil {
		return payload{}, false
	}
	p, ok := c.copies.Latest(id)
	if !ok {
		return payload{}, false
	}
	p.Values = copyValues(p.Values)
	return p, true
}

// remember caches a copy of what the backend just returned or stored (the
// request goes on changing its own).
func (c *cache) remember(id string, p payload) {
	if c != nil && p.Tag != "" {
		p.Values = copyValues(p.Values)
		c.copies.Put(id, p.Tag, p)
	}
}

// copyValues copies session values deeply enough that changing one copy
// never changes another: the values are what JSON decodes to (strings,
// numbers, booleans, and slices and maps of them), and what handlers store.
func copyValues(m map[any]any) map[any]any {
	out := make(map[any]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyValue(e)
		}
		return out
	}
	return v
}

func (c *cache) forget(id string) {
	if c != nil {
		c.copies.Remove(id)
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
