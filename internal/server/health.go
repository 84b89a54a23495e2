package server

import (
	"context"
	"net/http"
	"time"

	"github.com/easelhq/easel/internal/problem"
	"github.com/gin-gonic/gin"
)

// healthz answers while the process is alive: it checks nothing external,
// so a Redis outage never makes Kubernetes restart healthy replicas.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 when this replica should receive traffic: not draining,
// and the shared store (if any) answers a ping.
func (s *Server) readyz(c *gin.Context) {
	if s.draining.Load() {
		c.Header("Retry-After", problem.RetryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	if s.pinger != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		if err := s.pinger.Ping(ctx); err != nil {
			c.Header("Retry-After", problem.RetryAfter)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "store unavailable", "detail": err.Error()})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
