// Package problem turns errors into what a user is told: an HTTP status and
// a sentence saying what to fix. The API writes it as application/problem+json
// (RFC 9457); the web pages show the same sentence as a flash message.
package problem

import (
	"errors"
	"net/http"
	"strconv"
	"time"

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
	// retryAfter is sent as the Retry-After header (see [SetRetryAfter]).
	retryAfter time.Duration
	refused    bool
}

// Refused reports whether p comes from a [Refusal]: nothing went wrong,
// the work was declined for now. The web pages show it as a flash message
// on the page the user came from, even when its status is a 5xx.
func (p Problem) Refused() bool { return p.refused }

// RetryAfter is the hint, in seconds, sent with 503 answers that carry no
// hint of their own.
const RetryAfter = "2"

// Refusal is an error that means "not now" or "not this much": the replica
// is busy (503), the client is over a limit (429), the store is full (507).
// Packages that refuse work return their own error types implementing it,
// so they need not import this package (errors.As finds it in a chain).
type Refusal interface {
	error
	// HTTPStatus is the status to answer with.
	HTTPStatus() int
	// RetryAfter is when a retry may succeed; 0 sends no Retry-After.
	RetryAfter() time.Duration
}

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
	var re Refusal
	switch {
	case errors.As(err, &pe):
		return Problem{Status: pe.Status, Detail: pe.Detail, Field: pe.Field}
	case errors.As(err, &re):
		return Problem{Status: re.HTTPStatus(), Detail: re.Error(), retryAfter: re.RetryAfter(), refused: true}
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
	SetRetryAfter(c, p)
	if p.Status >= 500 {
		_ = c.Error(err)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// SetRetryAfter sets the Retry-After header that p calls for: its own hint
// (whole seconds, rounded up), else [RetryAfter] on a 503.
func SetRetryAfter(c *gin.Context, p Problem) {
	switch {
	case p.retryAfter > 0:
		c.Header("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	case p.Status == http.StatusServiceUnavailable:
		c.Header("Retry-After", RetryAfter)
	}
}
