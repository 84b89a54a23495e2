package web

import (
	"net/http"

	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/gin-gonic/gin"
)

// Refuse returns the answer to a form the server declined before reading
// it (the store is full, the client is over a limit): see refused. The form
// is not read, so neither is its CSRF token. An error that is no refusal
// (the limiter's store is down) gets the error page.
func (h *Handler) Refuse(to string) func(*gin.Context, error) {
	return func(c *gin.Context, err error) {
		p := problem.From(err)
		if !p.Refused() {
			h.fail(c, err)
			return
		}
		h.refused(c, p, to)
		c.Abort()
	}
}

// refused shows a refusal (busy, over a limit, full) of a form whose page
// is at to. The upload form is shown again at once, with the refusal's own
// status (503, 429 or 507), its Retry-After and the reason as its message:
// the user sees why and can send the photo again from there, and a client
// that reads statuses (the probe, a script) retries when it is told to. The
// editor's forms get the reason as a flash message on the editor, as their
// other errors do. Nothing is stored.
func (h *Handler) refused(c *gin.Context, p problem.Problem, to string) {
	problem.SetRetryAfter(c, p)
	if to == "/" {
		d := h.indexData(c)
		d.Flashes = []session.Flash{{Kind: session.FlashError, Text: p.Detail}}
		h.render(c, p.Status, "index", d)
		return
	}
	session.AddFlash(c, session.FlashError, p.Detail)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, to)
}
