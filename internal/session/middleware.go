package session

import (
	"context"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

type infoKey struct{}

// requestInfo carries what New learned about the request's session to the
// middleware and to Save, without touching the session's values.
type requestInfo struct {
	status  Status
	created time.Time
}

func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{} // outside the middleware: a throwaway
}

// StatusOf returns the session status of the request behind ctx, or "" when
// the session middleware did not run.
func StatusOf(ctx context.Context) Status {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info.status
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
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), infoKey{}, &requestInfo{}))
		if _, err := s.Get(c.Request, name); err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		inner(c)
	}
}
