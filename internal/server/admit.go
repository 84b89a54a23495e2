package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/easelhq/easel/internal/quota"
	"github.com/easelhq/easel/internal/store"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// What an admitted route creates.
const (
	admitUpload = iota // an upload: store guard and the client's upload budgets
	admitState         // new state without an upload (an API composite): store guard only
)

// admit guards the routes that create new state, before their handler
// reads the body: while the store is past its high-water mark they are
// refused (507), and uploads are counted against the client's budgets
// (429). It is middleware rather than part of the workspace service because
// both checks are about the HTTP request (the client's address, the
// announced size) and are worth most before a byte of the body is read,
// decoded or stored; views, edits, undo and downloads never pass here, so
// existing users keep working while new work is refused.
//
// refuse answers a refusal: problem+json on the API, a flash message on
// the web pages.
func (s *Server) admit(kind int, refuse func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.admitErr(c, kind); err != nil {
			s.countRefusal(c, err)
			drain(c.Request)
			refuse(c, err)
			c.Abort()
			return
		}
		body := c.Request.Body
		var counted *countingReader
		if kind == admitUpload && c.Request.ContentLength < 0 && s.uploads.Enabled() {
			counted = &countingReader{ReadCloser: body}
			c.Request.Body = counted
		}
		c.Next()
		if counted != nil && counted.n > 0 {
			// Announced no length: charged what was read, after the fact;
			// an over-budget client meets the limit on its next upload.
			if err := s.uploads.Charge(c.Request.Context(), c.ClientIP(), sessionKey(c), counted.n); err != nil {
				s.log.Debug("charging an upload of unannounced length", "err", err)
			}
		}
	}
}

func (s *Server) admitErr(c *gin.Context, kind int) error {
	ctx := c.Request.Context()
	if s.fill != nil {
		if err := s.fill.Check(c.FullPath()); err != nil {
			return err
		}
	}
	if kind != admitUpload {
		return nil
	}
	addr, sess := c.ClientIP(), sessionKey(c)
	if err := s.uploads.Admit(ctx, addr, sess); err != nil {
		return limiterErr(err)
	}
	if n := c.Request.ContentLength; n > 0 {
		if err := s.uploads.Charge(ctx, addr, sess, n); err != nil {
			return limiterErr(err)
		}
		if s.fill != nil {
			s.fill.Admitted(n)
		}
	}
	return nil
}

// limiterErr classifies a limiter's store failure as any store failure is
// (503, or 507 when Redis refused the write at maxmemory).
func limiterErr(err error) error {
	var ex *quota.Exceeded
	if errors.As(err, &ex) {
		return err
	}
	return store.Unavailable("checking upload limits", err)
}

// countRefusal counts a refusal by reason (easel_refusals_total).
func (s *Server) countRefusal(c *gin.Context, err error) {
	var ex *quota.Exceeded
	var full *store.Full
	switch {
	case errors.As(err, &ex):
		s.metrics.refusals.WithLabelValues(ex.Reason).Inc()
	case errors.As(err, &full):
		s.metrics.refusals.WithLabelValues("store_full").Inc()
	default:
		return
	}
	c.Set(refusalCounted, true)
}

// refusalCounted marks a request whose refusal was counted here, so that
// observe does not count its 507 again.
const refusalCounted = "refusal_counted"

// sessionKey names the request's session in the limiter's keys: a digest
// of its ID (the ID is a secret), or "" for a request without a session
// yet, which only its address's budget covers.
func sessionKey(c *gin.Context) string {
	id := sessions.Default(c).ID()
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// drain reads and discards what is left of a refused request's body (it is
// capped by limitBody): a browser that is still sending a large form when
// the answer comes would otherwise see the connection reset instead of the
// message. A client that asked "Expect: 100-continue" has sent no body.
func drain(r *http.Request) {
	if r.Header.Get("Expect") != "" || r.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
}

// countingReader counts the bytes of a body of unannounced length.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n += int64(n)
	return n, err
}
