package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/store"
	"github.com/gin-gonic/gin"
)

// Response headers that make consistency visible to clients and the probe.
const (
	HeaderServedBy  = "X-Served-By"
	HeaderSession   = "X-Session"
	HeaderRequestID = "X-Request-ID"
)

// contentSecurityPolicy allows only this origin's own scripts, styles and
// images (plus data: and blob: images for the page's previews).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// identify sets the request ID and the headers every response carries.
func (s *Server) identify(c *gin.Context) {
	id := c.GetHeader(HeaderRequestID)
	if !validRequestID(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set("request_id", id)
	h := c.Writer.Header()
	h.Set(HeaderRequestID, id)
	h.Set(HeaderServedBy, s.cfg.PodName)
	h.Set(HeaderSession, "none") // replaced by the session middleware on routes that use a session
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'; !ok {
			return false
		}
	}
	return true
}

// observe records metrics and writes the access log line.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	code := c.Writer.Status()
	s.metrics.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(code)).Inc()
	s.metrics.durations.WithLabelValues(route).Observe(d.Seconds())
	if code == http.StatusInsufficientStorage && !c.GetBool(refusalCounted) {
		s.metrics.refusals.WithLabelValues("store_full").Inc() // Redis refused a write at maxmemory
	}
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return // probes and scrapes would drown the log
	}
	level := slog.LevelInfo
	if code >= 500 {
		level = slog.LevelError
	}
	attrs := []any{
		"request_id", c.GetString("request_id"), "method", c.Request.Method, "route", route,
		"path", c.Request.URL.Path, "status", code, "duration_ms", float64(d.Microseconds()) / 1000,
		"session", c.Writer.Header().Get(HeaderSession), "served_by", s.cfg.PodName, "client", c.ClientIP(),
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, "err", c.Errors.String())
	}
	s.log.Log(c.Request.Context(), level, "request", attrs...)
}

// recoverPanic turns a panic into a 500 without a stack trace to the client
// (the stack goes to the log).
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("panic", "request_id", c.GetString("request_id"), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				problem.Write(c, fmt.Errorf("panic: %v", v))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// sessionHeader publishes the session lookup result and counts it. The
// result can still change while the handler runs: a request that started
// from this replica's copy of its session learns from its first workspace
// command that the session is gone (a miss after all), so the header is
// brought up to date when the response starts, and counted at the end.
func (s *Server) sessionHeader(c *gin.Context) {
	w := &sessionStatusWriter{ResponseWriter: c.Writer, ctx: c.Request.Context()}
	w.update()
	c.Writer = w
	c.Next()
	s.metrics.sessions.WithLabelValues(string(w.sent)).Inc()
}

// sessionStatusWriter sets X-Session to the request's session status as it
// is when the response's header is sent.
type sessionStatusWriter struct {
	gin.ResponseWriter
	ctx  context.Context
	sent session.Status
}

func (w *sessionStatusWriter) update() {
	if w.Written() { // every later chunk of the body: nothing to look up
		return
	}
	if st := session.StatusOf(w.ctx); st != w.sent {
		w.Header().Set(HeaderSession, string(st))
		w.sent = st
	}
}

func (w *sessionStatusWriter) WriteHeader(code int) {
	w.update()
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionStatusWriter) WriteHeaderNow() {
	w.update()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *sessionStatusWriter) Write(b []byte) (int, error) {
	w.update()
	return w.ResponseWriter.Write(b)
}

func (w *sessionStatusWriter) WriteString(s string) (int, error) {
	w.update()
	return w.ResponseWriter.WriteString(s)
}

// sessionUnavailable answers a request whose session could not be loaded:
// 503 with a retry hint. Nothing is written to the store.
func (s *Server) sessionUnavailable(c *gin.Context, err error) {
	s.log.Warn("session store unavailable", "request_id", c.GetString("request_id"), "err", err)
	c.Header(HeaderSession, "error")
	if !errors.Is(err, store.ErrUnavailable) {
		err = store.Unavailable("loading session", err)
	}
	problem.Write(c, err)
}

// limitBody caps the request body before anything parses it: multipart
// parsing of an unbounded body would otherwise fill the disk or memory.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// isHTTPS reports whether the client used HTTPS: directly, or according to
// the X-Forwarded-Proto of a trusted proxy.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
