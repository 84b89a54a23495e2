// Package problem turns errors into what a user is told: an HTTP status and
// a sentence saying what to fix. The API writes it as application/problem+json
// (RFC 9457); the web pages show the same sentence as a flash message.
package problem

import (
	"errors"
	"net/http"

	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-gonic/gin"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the offending input field, when there is one.
	Field string `json:"field,omitempty"`
}

// RetryAfter is the hint, in seconds, sent with 503 answers.
const RetryAfter = "2"

// Error is an error that already knows its status and user-facing detail.
type Error struct {
	Status int
	Detail string
	Field  string
}

func (e *Error) Error() string { return e.Detail }

// New returns an *Error.
func New(status int, detail string) *Error { return &Error{Status: status, Detail: detail} }

// From classifies err. Unknown errors are 500 with a generic detail: the
// cause goes to the log, never to the client.
func From(err error) Problem {
	var pe *Error
	var ie *imaging.Error
	switch {
	case errors.As(err, &pe):
		return Problem{Status: pe.Status, Detail: pe.Detail, Field: pe.Field}
	case errors.As(err, &ie):
		p := Problem{Status: http.StatusUnprocessableEntity, Detail: ie.Message, Field: ie.Field}
		switch ie.Code {
		case imaging.CodeEmpty, imaging.CodeInvalidOp:
			p.Status = http.StatusBadRequest
		case imaging.CodeUnsupported:
			p.Status = http.StatusUnsupportedMediaType
		case imaging.CodeTooManyPixels:
			p.Status = http.StatusRequestEntityTooLarge
		}
		return p
	case errors.Is(err, store.ErrUnavailable):
		return Problem{Status: http.StatusServiceUnavailable, Detail: "the session store is unreachable right now; please retry in a few seconds"}
	case errors.Is(err, session.ErrChanged):
		return Problem{Status: http.StatusConflict, Detail: "your session ended or changed since this page was loaded, and nothing was changed: reload the page and try again"}
	case errors.Is(err, session.ErrTooLarge):
		return Problem{Status: http.StatusRequestEntityTooLarge, Detail: "the session grew past its size limit; start over with a new upload"}
	case errors.Is(err, workspace.ErrNotFound), errors.Is(err, workspace.ErrNoImage):
		return Problem{Status: http.StatusConflict, Detail: "there is no image in this session yet: upload one first"}
	case errors.Is(err, workspace.ErrTooManyEdits):
		return Problem{Status: http.StatusConflict, Detail: workspace.ErrTooManyEdits.Error()}
	case errors.Is(err, workspace.ErrImageExpired):
		return Problem{Status: http.StatusGone, Detail: "the image has expired from the store; upload it again"}
	case errors.Is(err, workspace.ErrConflict):
		return Problem{Status: http.StatusConflict, Detail: "the workspace changed at the same time; please retry"}
	}
	return Problem{Status: http.StatusInternalServerError, Detail: "something went wrong on our side; the error was logged"}
}

// Write sends err as application/problem+json with the status it claims,
// and aborts the gin chain. 5xx causes are logged by the access log.
func Write(c *gin.Context, err error) {
	p := From(err)
	p.Type = "about:blank"
	p.Title = http.StatusText(p.Status)
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", RetryAfter)
	}
	if p.Status >= 500 {
		_ = c.Error(err)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
