package server

import (
	"net/http"

	"github.com/easelhq/easel/api"
	eapi "github.com/easelhq/easel/internal/api"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/upload"
	"github.com/easelhq/easel/internal/web"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes builds the engine. Every URL easel answers is in this function.
func (s *Server) routes() (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	proxies := make([]string, len(s.cfg.TrustedProxies))
	for i, p := range s.cfg.TrustedProxies {
		proxies[i] = p.String()
	}
	if err := r.SetTrustedProxies(proxies); err != nil {
		return nil, err
	}
	r.Use(s.identify, s.observe, s.recoverPanic)

	pages, err := web.New(s.svc, s.log, s.cfg.PodName, s.cfg.Upload.MaxBytes)
	if err != nil {
		return nil, err
	}
	rest := eapi.New(s.svc, s.log, s.cfg.Upload.MaxBytes)
	uploadLimit := limitBody(s.cfg.Upload.MaxBytes + upload.Overhead)

	// Stateless: no session lookup, no store round trip.
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	r.GET("/api/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", api.Spec) })
	r.StaticFS("/static", web.Static())
	r.GET("/blobs/:digest", pages.Blob)

	// Session routes: the session is loaded before the handler runs.
	st := r.Group("/", session.Middleware(s.sessions, s.cfg.Session.CookieName, s.sessionUnavailable), s.sessionHeader)
	st.GET("/", pages.Index)
	st.POST("/image", uploadLimit, pages.Upload)
	st.GET("/image", pages.Editor)

	v1 := st.Group("/api/v1", rest.CSRF)
	v1.GET("/workspace", rest.Workspace)
	v1.POST("/image", uploadLimit, rest.Upload)
	return r, nil
}
