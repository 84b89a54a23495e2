package session

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
)

// Flash messages travel in a cookie of their own, signed with the session
// keys, rather than in the session: queuing one after a form POST and
// showing it on the page the redirect leads to would otherwise save the
// session twice, two writes to the backend and two new versions that every
// replica's cached copy would then have to fetch again. A message is only
// text the server wrote, so the client may hold it; the signature keeps
// anyone else (a sibling subdomain setting cookies) from putting words on
// the page.
//
// Flashes queued in a session by a release before this one are still shown.

// Limits that keep the signed cookie well under the 4096 bytes browsers
// accept for one cookie.
const (
	maxFlashes     = 4
	maxFlashBytes  = 400
	flashCookieAge = 300 // seconds: a message not seen within 5 minutes is stale
)

// flashCookie names the cookie that carries session cookie name's messages.
func flashCookie(name string) string { return name + "_flash" }

// flashJar is one request's view of the flash cookie.
type flashJar struct {
	store   *Store
	name    string  // the cookie's name
	in      []Flash // what the request's cookie carried
	present bool    // the request had a flash cookie, valid or not
	taken   bool    // in was shown (TakeFlashes): not carried further
	out     []Flash // what this response's cookie carries
	r       *http.Request
}

func (s *Store) newFlashJar(r *http.Request, session string) *flashJar {
	j := &flashJar{store: s, name: flashCookie(session), r: r}
	c, err := r.Cookie(j.name)
	if err != nil {
		return j
	}
	j.present = true
	var raw []byte
	if securecookie.DecodeMulti(j.name, c.Value, &raw, s.codecs...) != nil {
		return j // forged, from a retired key or too old: shown never, cleared when taken
	}
	var in []Flash
	if json.Unmarshal(raw, &in) != nil {
		return j
	}
	for _, f := range in {
		if (f.Kind == FlashInfo || f.Kind == FlashError) && f.Text != "" {
			j.in = append(j.in, f)
		}
	}
	return j
}

// add queues f and sets the cookie: the messages not shown yet, then f.
func (j *flashJar) add(w http.ResponseWriter, f Flash) {
	if j.out == nil && !j.taken {
		j.out = append(j.out, j.in...)
	}
	j.out = append(j.out, Flash{Kind: f.Kind, Text: truncate(f.Text, maxFlashBytes)})
	if len(j.out) > maxFlashes {
		j.out = j.out[len(j.out)-maxFlashes:]
	}
	data, err := json.Marshal(j.out)
	if err != nil {
		return // a []Flash of strings always marshals
	}
	value, err := securecookie.EncodeMulti(j.name, data, j.store.codecs...)
	if err != nil {
		return // signing cannot fail with keys NewStore accepted
	}
	c := j.store.cookieFor(j.r, j.name, value)
	c.MaxAge = flashCookieAge
	replaceCookie(w, c)
}

// take returns the request's messages and clears the cookie, unless this
// response already queued new ones.
func (j *flashJar) take(w http.ResponseWriter) []Flash {
	if j.taken {
		return nil
	}
	j.taken = true
	if j.present && j.out == nil {
		c := j.store.cookieFor(j.r, j.name, "")
		c.MaxAge = -1
		replaceCookie(w, c)
	}
	return j.in
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// AddFlash queues a message of kind for the next page this client loads.
// Under Middleware it goes into the flash cookie, costing the backend
// nothing; without it, into the session.
func AddFlash(c *gin.Context, kind, text string) {
	if j := jarOf(c.Request); j != nil {
		j.add(c.Writer, Flash{Kind: kind, Text: text})
		return
	}
	sessions.Default(c).AddFlash(text, flashPrefix+kind)
}

// TakeFlashes removes and returns the queued messages, errors first: those
// of the flash cookie and any a session of an earlier release still holds.
// Call it before the response's body is written.
func TakeFlashes(c *gin.Context, s sessions.Session) []Flash {
	var queued []Flash
	if j := jarOf(c.Request); j != nil {
		queued = j.take(c.Writer)
	}
	var out []Flash
	for _, kind := range []string{FlashError, FlashInfo} {
		if s.Get(flashPrefix+kind) != nil { // Flashes would mark the session written: no needless save
			for _, f := range s.Flashes(flashPrefix + kind) {
				if text, ok := f.(string); ok {
					out = append(out, Flash{Kind: kind, Text: text})
				}
			}
		}
		for _, f := range queued {
			if f.Kind == kind {
				out = append(out, f)
			}
		}
	}
	return out
}

func jarOf(r *http.Request) *flashJar {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri.flash
	}
	return nil
}
