package session

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

type infoKey struct{}

// requestInfo carries what New learned about a request's sessions to the
// middleware and to Save, without touching the sessions' values.
type requestInfo struct {
	primary string // the session the middleware loaded: its status is X-Session
	byName  map[string]*sessionInfo
}

type sessionInfo struct {
	status  Status
	created time.Time
	resign  bool // the cookie was signed with a rotated-out key
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
		if _, err := s.Get(c.Request, name); err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		inner(c)
	}
}
