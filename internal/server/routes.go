package server

import (
	"net/http"

	"github.com/easelhq/easel/api"
	eapi "github.com/easelhq/easel/internal/api"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/upload"
	"github.com/easelhq/easel/internal/web"
	"github.com/easelhq/easel/internal/workspace"
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

	deps := web.Deps{
		Service: s.svc, Renderer: s.renderer, Composer: s.composer, AIEnabled: s.composer.AIEnabled(),
		PreviewEdge: s.cfg.PreviewEdge, Log: s.log, ServedBy: s.cfg.PodName, MaxUpload: s.cfg.Upload.MaxBytes,
	}
	var presign eapi.Presigner
	if s.presign != nil { // a nil *blob.Presigner must not become a non-nil interface
		deps.Presign, presign = s.presign, s.presign
	}
	pages, err := web.New(deps)
	if err != nil {
		return nil, err
	}
	rest := eapi.New(s.svc, s.renderer, s.composer, s.log, s.cfg.Upload.MaxBytes, presign)
	uploadLimit := limitBody(s.cfg.Upload.MaxBytes + upload.Overhead)
	smallBody := limitBody(64 << 10) // forms and JSON edits

	// Stateless: no session lookup, no store round trip.
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	r.GET("/api/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", api.Spec) })
	r.StaticFS("/static", web.Static())
	r.GET("/assets/:name", pages.Asset) // content-hashed, cached for a year
	r.GET("/blobs/:digest", pages.Blob)

	// Session routes: the session is loaded before the handler runs.
	st := r.Group("/", session.Middleware(s.sessions, s.cfg.Session.CookieName, s.sessionUnavailable), s.sessionHeader)
	st.GET("/", pages.Index)
	st.POST("/image", uploadLimit, s.admit(admitUpload, pages.Refuse("/")), pages.Upload)
	st.GET("/image", pages.Editor)
	st.POST("/image/edits", smallBody, pages.Edit)
	st.POST("/image/undo", smallBody, pages.Move(workspace.Undo))
	st.POST("/image/redo", smallBody, pages.Move(workspace.Redo))
	st.POST("/image/reset", smallBody, pages.Move(workspace.Reset))
	st.POST("/image/composite", uploadLimit, s.admit(admitUpload, pages.Refuse("/image")), pages.Composite)
	st.GET("/jobs/:id", pages.Job)

	v1 := st.Group("/api/v1", rest.CSRF)
	v1.GET("/workspace", rest.Workspace)
	v1.POST("/image", uploadLimit, s.admit(admitUpload, problem.Write), rest.Upload)
	v1.POST("/workspace/edits", smallBody, rest.Edit)
	v1.POST("/workspace/undo", smallBody, rest.Move(workspace.Undo))
	v1.POST("/workspace/redo", smallBody, rest.Move(workspace.Redo))
	v1.POST("/workspace/reset", smallBody, rest.Move(workspace.Reset))
	v1.GET("/workspace/render", rest.Render)
	v1.POST("/assets", uploadLimit, s.admit(admitUpload, problem.Write), rest.Asset)
	v1.POST("/workspace/composite", smallBody, s.admit(admitState, problem.Write), rest.Composite)
	v1.GET("/jobs/:id", rest.Job)
	return r, nil
}

// guardedRoutes are the actions that may start from a replica's copy of
// their session (session.Options.GuardedRoutes): each changes nothing before
// its first workspace command, which checks the copy in the same script.
// An upload stores its blob first, which changes nothing a user sees: a blob
// no workspace references expires. The composite and asset routes are not
// here: they queue a job or store an asset without a workspace command.
func guardedRoutes() []string {
	return []string{
		"POST /image", "POST /image/edits", "POST /image/undo", "POST /image/redo", "POST /image/reset",
		"POST /api/v1/image", "POST /api/v1/workspace/edits",
		"POST /api/v1/workspace/undo", "POST /api/v1/workspace/redo", "POST /api/v1/workspace/reset",
	}
}
