package web

import (
	"net/http"

	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/gin-gonic/gin"
)

// Refuse returns the answer to a form the server declined before reading
// it (the store is full, the client is over a limit): the reason as a flash
// message on the page at to, as the handlers show any refusal. The form is
// not read, so neither is its CSRF token; nothing is stored but the flash
// cookie. An error that is no refusal (the limiter's store is down) gets
// the error page.
func (h *Handler) Refuse(to string) func(*gin.Context, error) {
	return func(c *gin.Context, err error) {
		p := problem.From(err)
		if !p.Refused() {
			h.fail(c, err)
			return
		}
		problem.SetRetryAfter(c, p)
		session.AddFlash(c, session.FlashError, p.Detail)
		c.Header("Cache-Control", "no-store")
		c.Redirect(http.StatusSeeOther, to)
		c.Abort()
	}
}
