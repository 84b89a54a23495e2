package session

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

type infoKey struct{}

// requestInfo carries what New learned about a request's sessions to the
// middleware and to Save, without touching the sessions' values.
type requestInfo struct {
	primary string // the session the middleware loaded: its status is X-Session
	byName  map[string]*sessionInfo
	flash   *flashJar // the primary session's flash cookie
	// guardable: the request may start from a copy of its session
	// (Store.provisional): a page view, or an action in GuardedRoutes.
	guardable bool
}

type sessionInfo struct {
	status  Status
	created time.Time
	resign  bool // the cookie was signed with a rotated-out key
	// tag names the session state loaded or saved (payload.Tag);
	// workspace is the token of the latest workspace state the request saw
	// (workspace.Token); client is what the client's cookie says, or what
	// the cookie set in this response says once one is set.
	tag, workspace string
	client         cookieValue
	// guard is set when the request started from this replica's copy of
	// the session (Store.provisional); started once the handler runs.
	guard      *workspace.Guard
	started    bool
	copyResult string // Copy*, once known
	// gone, if not nil, expires the client's version cookie: called when a
	// request finds its session gone after its handler started.
	gone func()
}

// sessionInfo returns the request's record of session name, attaching one
// to the request if none is there yet (when the Store is used without
// Middleware), so that Save sees what New learned, such as the creation time
// that the absolute lifetime counts from.
func infoFor(r *http.Request, name string) *sessionInfo {
	ri, ok := r.Context().Value(infoKey{}).(*requestInfo)
	if !ok {
		ri = &requestInfo{byName: map[string]*sessionInfo{}}
		*r = *r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
	}
	si, ok := ri.byName[name]
	if !ok {
		si = &sessionInfo{}
		ri.byName[name] = si
	}
	return si
}

// StatusOf returns the status of the session the middleware loaded for the
// request behind ctx, or "" when the middleware did not run.
func StatusOf(ctx context.Context) Status {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		if si, ok := ri.byName[ri.primary]; ok {
			return si.status
		}
	}
	return ""
}

// Middleware loads the request's session before any handler runs, so that a
// backend failure is answered by onError (a 503) instead of being logged and
// replaced by an empty session that a later Save would write over the real
// one. It then installs gin-contrib/sessions, so handlers use
// sessions.Default(c) as usual; the session is not loaded twice.
func Middleware(s *Store, name string, onError func(*gin.Context, error)) gin.HandlerFunc {
	inner := sessions.Sessions(name, s)
	return func(c *gin.Context) {
		ri := &requestInfo{primary: name, byName: map[string]*sessionInfo{}}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), infoKey{}, ri))
		ri.flash = s.newFlashJar(c.Request, name)
		ri.guardable = safeMethod(c.Request.Method) || s.guarded[c.Request.Method+" "+c.FullPath()]
		sess, err := s.Get(c.Request, name)
		if err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		info := ri.byName[name]
		// Every workspace state the request reads from the store or makes
		// goes into the cookie, so that the next request, on any replica,
		// can prove which state its client last saw.
		tracker := workspace.NewTracker(info.workspace, func(w *workspace.Workspace) {
			if info.workspace == w.Token {
				return
			}
			info.workspace = w.Token
			if sess.ID != "" && !c.Writer.Written() {
				// Signing cannot fail with keys NewStore accepted.
				_ = s.setCookies(c.Request, c.Writer, sess, info, false)
			}
		})
		ctx := workspace.WithTracker(c.Request.Context(), tracker)
		if info.guard != nil {
			if safeMethod(c.Request.Method) {
				// A page view shows what the backend holds, never a copy
				// it has not confirmed.
				if err := s.confirm(ctx, sess, info); err != nil && !errors.Is(err, ErrChanged) {
					onError(c, err)
					c.Abort()
					return
				}
			}
			if info.guard != nil && !info.guard.Held() {
				ctx = workspace.WithGuard(ctx, info.guard)
			}
		}
		c.Request = c.Request.WithContext(ctx)
		if info.status == StatusMiss && info.client != (cookieValue{}) {
			// The client's session is gone from the backend (this request
			// read it there). Its version cookie would let a replica that
			// still holds a copy show that session on the next page view:
			// drop it, so that every replica asks the backend.
			s.dropVersion(c.Request, c.Writer, sess, info)
		}
		if !sess.IsNew && (info.client.tag != info.tag || info.resign) {
			// The version cookie is missing (a session from before
			// versions), older than the session, or the session cookie was
			// signed with a retired key: bring them up to date, so that the
			// next request can be served from a replica's memory.
			if err := s.setCookies(c.Request, c.Writer, sess, info, info.resign); err != nil {
				onError(c, err)
				c.Abort()
				return
			}
		}
		if info.guard != nil {
			info.gone = func() {
				if !c.Writer.Written() {
					s.dropVersion(c.Request, c.Writer, sess, info)
				}
			}
		}
		info.started = true
		inner(c)
		s.observeCopy(info)
	}
}

// observeCopy reports how a request that started from a copy of its
// session ended (Options.ObserveCopy).
func (s *Store) observeCopy(info *sessionInfo) {
	if s.opts.ObserveCopy == nil || (info.guard == nil && info.copyResult == "") {
		return
	}
	r := info.copyResult
	switch {
	case r != "":
	case info.guard.Held():
		r = CopyConfirmed
	default:
		r = CopyUnchecked
	}
	s.opts.ObserveCopy(r)
}
