package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/easelhq/easel/internal/randid"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gorilla/securecookie"
	gsessions "github.com/gorilla/sessions"
)

// Status says what the request's cookie found. It is sent as X-Session.
type Status string

// Session lookup results.
const (
	StatusNew  Status = "new"  // no cookie was presented
	StatusHit  Status = "hit"  // the cookie's session was found
	StatusMiss Status = "miss" // a cookie was presented, but its session is unknown, expired, or the cookie is invalid
)

// ErrTooLarge is returned by Save when a session outgrows Options.MaxBytes.
var ErrTooLarge = errors.New("session too large")

// Options configures a Store.
type Options struct {
	// Keys sign the cookie: the first signs, all verify (rotation). Each at
	// least 32 bytes. Every replica must share them.
	Keys [][]byte
	// IdleTTL is the sliding idle timeout; Lifetime the absolute cap.
	IdleTTL, Lifetime time.Duration
	// MaxBytes caps the serialized session.
	MaxBytes int
	// Secure: "always", "never", or "auto" (when IsHTTPS says so).
	Secure string
	// IsHTTPS reports whether a request reached the service over HTTPS,
	// directly or through a trusted proxy. Nil means never.
	IsHTTPS func(*http.Request) bool
	// Logger receives warnings about undecodable sessions.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheSize, when above zero, keeps up to that many sessions in this
	// replica's memory (see cache.go): a request whose cookie proves the
	// copy current costs no round trip to the backend.
	CacheSize int
	// RefreshEvery is how long a cached session is served before the
	// backend is asked again, which also restarts its idle timer there: the
	// idle timeout ends at most this much early. Zero means one minute;
	// it is capped at a quarter of IdleTTL.
	RefreshEvery time.Duration
	// Observe, if not nil, receives the result of every cache lookup
	// (statecache.Hit, Miss, Conflict), for metrics.
	Observe func(result string)

	// GuardKey, when not nil, names the key that holds session id on the
	// server the workspace store's scripts run on (standalone Redis or
	// Sentinel, not Cluster). It lets a request whose cookie does not prove
	// this replica's copy current still start from that copy,
	// provisionally: the check that the copy is what Redis holds is folded
	// into the request's first workspace command as a workspace.Guard, so a
	// page view after an action and an edit cost one round trip instead of
	// two (one to read the session, one for the workspace). See
	// Store.provisional.
	GuardKey func(id string) string
	// GuardedRoutes are the actions (method and gin route, "POST
	// /image/edits") that may start from a provisional session: each must
	// change nothing before its first workspace command, which carries the
	// guard. Other actions always read the session from the backend first.
	GuardedRoutes []string
	// Prefetch, if not nil, reads workspace id under the request's guard
	// (in ctx), for a page view that starts from a provisional session.
	Prefetch func(ctx context.Context, workspaceID string) error
	// ObserveCopy, if not nil, receives the outcome of every request that
	// started from a copy: CopyConfirmed, CopyNewer, CopyRefused or
	// CopyUnchecked, for metrics.
	ObserveCopy func(result string)
}

// Outcomes of a request that started from a replica's copy of its session.
const (
	CopyConfirmed = "confirmed" // Redis held exactly the copy
	CopyNewer     = "newer"     // Redis held another state the request could go on with
	CopyRefused   = "refused"   // the session ended or changed: nothing was done
	CopyUnchecked = "unchecked" // nothing the request did needed the session
)

// ErrChanged means a request started from this replica's copy of its
// session (see Options.GuardKey), and the backend holds another state of
// the session than that copy, or none (it expired or was revoked): the
// request's action, decided on the copy, was not carried out. Reloading the
// page shows the session as it is.
var ErrChanged = errors.New("session changed or ended since this page was loaded")

// Store is a gin-contrib/sessions Store on a Backend. It only ever adopts IDs
// it issued itself: an unknown, expired or forged cookie gets a fresh session
// with a fresh ID, and the request is marked StatusMiss.
type Store struct {
	backend Backend
	codecs  []securecookie.Codec
	opts    Options
	cookie  sessions.Options
	cache   *cache // nil: every load asks the backend
	guarded map[string]bool
}

// NewStore returns a Store. It fails when no key is given or a key is short.
func NewStore(backend Backend, opts Options) (*Store, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("session store needs at least one signing key")
	}
	pairs := make([][]byte, 0, 2*len(opts.Keys))
	for i, k := range opts.Keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("session key %d is %d bytes; at least 32 are needed", i+1, len(k))
		}
		pairs = append(pairs, k, nil) // signed, not encrypted: the value is a random ID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(int(opts.Lifetime / time.Second))
		sc.SetSerializer(securecookie.NopEncoder{})
	}
	st := &Store{
		backend: backend, codecs: codecs, opts: opts,
		cookie: sessions.Options{Path: "/", MaxAge: int(opts.Lifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode},
	}
	if opts.GuardKey != nil {
		st.guarded = make(map[string]bool, len(opts.GuardedRoutes))
		for _, r := range opts.GuardedRoutes {
			st.guarded[r] = true
		}
	}
	if opts.CacheSize > 0 {
		c, err := newCache(opts)
		if err != nil {
			return nil, err
		}
		st.cache = c
	}
	return st, nil
}

// RandomKey returns 32 random bytes, for a single replica with no configured key.
func RandomKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generating session key: %w", err)
	}
	return k, nil
}

// Options sets the cookie defaults (part of sessions.Store).
func (s *Store) Options(o sessions.Options) { s.cookie = o }

// Get returns the request's session, loading it once per request.
func (s *Store) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return gsessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or starts a fresh one.
// It always returns a session; err is non-nil only for a backend failure.
func (s *Store) New(r *http.Request, name string) (*gsessions.Session, error) {
	sess := gsessions.NewSession(s, name)
	opts := s.cookie
	sess.Options = opts.ToGorillaOptions()
	sess.IsNew = true
	info := infoFor(r, name)
	info.status = StatusNew

	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	info.status = StatusMiss
	var raw []byte
	if err := s.codecs[0].Decode(name, c.Value, &raw); err != nil {
		if len(s.codecs) == 1 || securecookie.DecodeMulti(name, c.Value, &raw, s.codecs[1:]...) != nil {
			return sess, nil
		}
		info.resign = true // signed with an older key: re-sign on the next save
	}
	id := string(raw)
	cv := s.versionOf(r, name, id)
	info.client = cv
	info.workspace = cv.workspace
	// A request that changes state (POST, PUT, PATCH, DELETE) never takes
	// its session from a replica's copy as it is: a session that expired,
	// was revoked or was deleted in the backend is noticed at the user's
	// next action, never acted on. Page views may still be served from
	// memory, for at most the cache's refresh interval.
	tag := cv.tag
	if !safeMethod(r.Method) {
		tag = ""
	}
	p, found, err := s.load(r, id, tag, info)
	if err != nil || !found {
		return sess, err
	}
	if s.opts.Now().Sub(p.Created) >= s.opts.Lifetime {
		s.cache.forget(id)
		if err := s.backend.Delete(r.Context(), id); err != nil {
			return sess, err
		}
		return sess, nil
	}
	sess.ID, sess.Values, sess.IsNew = id, p.Values, false
	info.created = p.Created
	info.tag = p.Tag
	info.status = StatusHit
	if g := info.guard; g != nil {
		g.Changed = func(ctx context.Context, current []byte, found bool) error {
			return s.changed(sess, info, current, found)
		}
	}
	return sess, nil
}

// load returns session id: from this replica's cache when the cookie's tag
// proves the copy current, else provisionally from the cache (see
// provisional), else from the backend (which restarts the idle timer there).
func (s *Store) load(r *http.Request, id, tag string, info *sessionInfo) (payload, bool, error) {
	if p, ok := s.cache.lookup(id, tag); ok {
		return p, true, nil
	}
	if p, ok := s.provisional(r, id); ok {
		info.guard = &workspace.Guard{Key: s.opts.GuardKey(id), Value: p.raw, TTL: s.opts.IdleTTL}
		return p, true, nil
	}
	ctx := r.Context()
	data, found, err := s.backend.Load(ctx, id, s.opts.IdleTTL)
	if err != nil || !found {
		s.cache.forget(id)
		return payload{}, false, err
	}
	p, err := decodePayload(data)
	if err != nil {
		// Typically a deploy changed what a session holds: start afresh
		// rather than answer 500 for the rest of the session's life.
		s.opts.Logger.WarnContext(ctx, "discarding undecodable session", "err", err)
		s.cache.forget(id)
		return payload{}, false, nil
	}
	s.cache.remember(id, p)
	return p, true, nil
}

// provisional returns this replica's copy of session id, whatever its tag
// and age, for a request that may start from it: a page view, or an action
// in Options.GuardedRoutes, when Options.GuardKey is set and the request
// came through Middleware.
//
// Such a request carries a workspace.Guard for the copy: its first
// workspace command runs only if the backend still holds exactly the
// copy's bytes, in the same script, which also restarts the session's idle
// timer as a load would. So the copy is confirmed at the moment the action
// happens, atomically, and no round trip is spent on reading the session
// first. A page view is confirmed in Middleware, before its handler runs
// (Store.confirm); an action by its first workspace command, or by Save.
// When the backend holds another state, Store.changed decides.
func (s *Store) provisional(r *http.Request, id string) (payload, bool) {
	ri, ok := r.Context().Value(infoKey{}).(*requestInfo)
	if !ok || !ri.guardable || s.opts.GuardKey == nil {
		return payload{}, false
	}
	p, ok := s.cache.latest(id)
	if !ok || p.raw == nil || s.opts.Now().Sub(p.Created) >= s.opts.Lifetime {
		return payload{}, false
	}
	if !safeMethod(r.Method) {
		// An action decides on the session before its first workspace
		// command: which workspace, and whether the CSRF token matches.
		// Both are set once and never change, so the copy decides as
		// Redis would, if it has them; a copy from before the session's
		// first upload would answer "no image" without any command that
		// could notice the upload another replica saved.
		ws, _ := p.Values[workspaceKey].(string)
		tok, _ := p.Values[csrfKey].(string)
		if !workspace.ValidID(ws) || tok == "" {
			return payload{}, false
		}
	}
	return p, true
}

// changed judges what the backend holds (found false: nothing) for a
// session the request started from a copy of, when that is not the copy.
//
// Before the handler runs (a page view being confirmed), the request simply
// goes on with what the backend holds, as if it had read it there: a newer
// state, or a new session when it is gone. Once the handler runs, its
// decisions (the CSRF check, the workspace it acts on) were taken on the
// copy: it goes on only if the session's values are the copy's, and
// otherwise fails with ErrChanged, having changed nothing.
func (s *Store) changed(sess *gsessions.Session, info *sessionInfo, current []byte, found bool) error {
	var cur payload
	if found {
		var err error
		cur, err = decodePayload(current)
		found = err == nil && s.opts.Now().Sub(cur.Created) < s.opts.Lifetime
	}
	if !found {
		s.cache.forget(sess.ID)
		info.copyResult = CopyRefused
		info.status = StatusMiss // what X-Session says, even when the handler already runs
		if info.gone != nil {
			// As for a session found gone at the start: no replica's copy
			// may show it again on the strength of the client's cookie.
			info.gone()
		}
		if !info.started {
			sess.ID, sess.Values, sess.IsNew = "", map[any]any{}, true
			info.tag, info.created = "", time.Time{}
			info.guard = nil // a new session has nothing to check
		}
		return ErrChanged
	}
	if info.started && !sameValues(cur, info.guard.Value) {
		info.copyResult = CopyRefused
		return ErrChanged
	}
	info.copyResult = CopyNewer
	s.cache.remember(sess.ID, cur)
	if !info.started {
		sess.Values = copyValues(cur.Values)
	}
	info.tag, info.created = cur.Tag, cur.Created
	return nil
}

// sameValues reports whether cur holds the values of the stored bytes the
// request's decisions were taken on (the guard's: the copy's, or a state
// with the copy's values that changed accepted).
func sameValues(cur payload, decidedOn []byte) bool {
	prev, err := decodePayload(decidedOn)
	return err == nil && reflect.DeepEqual(cur.Values, prev.Values)
}

// confirm makes sure a request that started from a copy of its session
// works on what the backend holds before its handler runs: through
// Options.Prefetch, whose workspace read carries the check, or else by
// reading the session. It returns ErrChanged when the session turned out
// to be gone (the request goes on with a new one).
func (s *Store) confirm(ctx context.Context, sess *gsessions.Session, info *sessionInfo) error {
	g := info.guard
	if g == nil || g.Held() {
		return nil
	}
	if id, _ := sess.Values[workspaceKey].(string); s.opts.Prefetch != nil && workspace.ValidID(id) {
		if err := s.opts.Prefetch(workspace.WithGuard(ctx, g), id); err != nil || g.Held() {
			return err
		}
	}
	return s.check(ctx, sess, info)
}

// check reads the session from the backend to confirm the copy the request
// started from, when no workspace command has.
func (s *Store) check(ctx context.Context, sess *gsessions.Session, info *sessionInfo) error {
	g := info.guard
	data, found, err := s.backend.Load(ctx, sess.ID, s.opts.IdleTTL)
	if err != nil {
		return err
	}
	if !found || !bytes.Equal(data, g.Value) {
		if err := s.changed(sess, info, data, found); err != nil {
			return err
		}
	}
	g.Confirm()
	return nil
}

// Save stores the session and sets its cookie; a MaxAge < 0 deletes both.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *gsessions.Session) error {
	ctx := r.Context()
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			s.cache.forget(sess.ID)
			if err := s.backend.Delete(ctx, sess.ID); err != nil {
				return err
			}
		}
		replaceCookie(w, s.httpCookie(r, sess, sess.Name(), ""))
		replaceCookie(w, s.httpCookie(r, sess, versionCookie(sess.Name()), ""))
		return nil
	}
	info := infoFor(r, sess.Name())
	if g := info.guard; g != nil && !g.Held() && sess.ID != "" {
		// The request started from a copy that no workspace command has
		// confirmed: never save over a session without knowing it is the
		// one the request read.
		if err := s.check(ctx, sess, info); err != nil {
			return err
		}
	}
	now := s.opts.Now()
	if sess.ID == "" || info.created.IsZero() {
		info.created = now
	}
	tag := newTag()
	data, err := encodePayload(payload{Created: info.created, Values: sess.Values, Tag: tag})
	if err != nil {
		return err
	}
	if len(data) > s.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), s.opts.MaxBytes)
	}
	ttl := min(s.opts.IdleTTL, info.created.Add(s.opts.Lifetime).Sub(now))
	if ttl <= 0 && sess.ID != "" {
		// The absolute lifetime ended while this request ran. Redis reads a
		// zero TTL as "never expire" and rejects a negative one, so the
		// session ends here, as if it had expired between load and save.
		s.cache.forget(sess.ID)
		if err := s.backend.Delete(ctx, sess.ID); err != nil {
			return err
		}
		return ErrGone
	}
	newCookie := sess.ID == "" || info.resign
	if sess.ID != "" {
		if err := s.backend.Update(ctx, sess.ID, data, ttl); err != nil {
			s.cache.forget(sess.ID)
			return err
		}
	} else {
		id, err := newID()
		if err != nil {
			return err
		}
		if err := s.backend.Create(ctx, id, data, ttl); err != nil {
			return err
		}
		sess.ID = id
	}
	if s.cache != nil {
		// Cache what a load would return, not the request's own values: a
		// value the handler stored as an int comes back from JSON as a
		// float64, and a hit must look exactly like a miss.
		if stored, err := decodePayload(data); err == nil {
			s.cache.remember(sess.ID, stored)
		}
	}
	info.tag = tag
	// The version cookie changes with every save: it carries the new tag,
	// which is what lets the other replicas see that their copies are older.
	return s.setCookies(r, w, sess, info, newCookie)
}

// setCookies signs the session's ID, tag and workspace token with the
// first key and sets the version cookie, and with withID the session cookie
// too, each replacing one set earlier in this response.
//
// The session cookie holds the ID alone, exactly as before versions
// existed, so that during a rolling update a replica of the previous
// release still finds the session (it would take an ID with versions in
// it for an unknown session, and issue a new one over it).
func (s *Store) setCookies(r *http.Request, w http.ResponseWriter, sess *gsessions.Session, info *sessionInfo, withID bool) error {
	if withID {
		value, err := securecookie.EncodeMulti(sess.Name(), []byte(sess.ID), s.codecs...)
		if err != nil {
			return fmt.Errorf("signing session cookie: %w", err)
		}
		replaceCookie(w, s.httpCookie(r, sess, sess.Name(), value))
	}
	cv := cookieValue{id: sess.ID, tag: info.tag, workspace: info.workspace}
	if !safeMethod(r.Method) {
		// A response to a request that changes state vouches for no state.
		// A client may send several at once (two tabs, a script), and its
		// cookie jar keeps whichever response came last, not the newest
		// state: a replica holding that state would then serve it, missing
		// the others' changes. The client's next read asks the backend and
		// brings the cookie up to date.
		cv.tag, cv.workspace = "", ""
	}
	if !withID && cv == info.client {
		// The client's cookie says exactly this already (the second edit
		// in a row): a new signature would only cost bytes and CPU.
		return nil
	}
	name := versionCookie(sess.Name())
	value, err := securecookie.EncodeMulti(name, []byte(cv.String()), s.codecs...)
	if err != nil {
		return fmt.Errorf("signing session version cookie: %w", err)
	}
	replaceCookie(w, s.httpCookie(r, sess, name, value))
	info.client = cv
	return nil
}

// dropVersion expires the client's version cookie.
func (s *Store) dropVersion(r *http.Request, w http.ResponseWriter, sess *gsessions.Session, info *sessionInfo) {
	c := s.httpCookie(r, sess, versionCookie(sess.Name()), "")
	c.MaxAge = -1
	replaceCookie(w, c)
	info.client = cookieValue{}
}

// versionOf returns what the request's version cookie says about session
// id; nothing when it is missing, invalid, or about another session.
func (s *Store) versionOf(r *http.Request, name, id string) cookieValue {
	c, err := r.Cookie(versionCookie(name))
	if err != nil {
		return cookieValue{}
	}
	var raw []byte
	if securecookie.DecodeMulti(versionCookie(name), c.Value, &raw, s.codecs...) != nil {
		return cookieValue{}
	}
	cv := parseCookieValue(string(raw))
	if cv.id != id {
		return cookieValue{}
	}
	return cv
}

// versionCookie names the cookie that carries the versions of session
// cookie name.
func versionCookie(name string) string { return name + "_v" }

// Delete removes a session by ID from the backend (the cookie is left alone).
func (s *Store) Delete(ctx context.Context, id string) error {
	s.cache.forget(id)
	return s.backend.Delete(ctx, id)
}

func (s *Store) httpCookie(r *http.Request, sess *gsessions.Session, name, value string) *http.Cookie {
	return s.secure(r, gsessions.NewCookie(name, value, sess.Options))
}

// cookieFor returns a cookie with the store's default options, for one that
// belongs to no particular session.
func (s *Store) cookieFor(r *http.Request, name, value string) *http.Cookie {
	return s.secure(r, gsessions.NewCookie(name, value, s.cookie.ToGorillaOptions()))
}

// secure sets c's Secure attribute as Options.Secure says.
func (s *Store) secure(r *http.Request, c *http.Cookie) *http.Cookie {
	switch s.opts.Secure {
	case "always":
		c.Secure = true
	case "never":
		c.Secure = false
	default:
		c.Secure = s.opts.IsHTTPS != nil && s.opts.IsHTTPS(r)
	}
	return c
}

// newID returns 32 random bytes, URL-safe base64: unguessable, server-issued.
func newID() (string, error) { return randid.New(32) }

// safeMethod reports whether an HTTP method only reads (RFC 9110 §9.2.1).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
