// Package web serves easel's HTML pages: the upload form, the editor and the
// image blobs they show. Forms follow POST-redirect-GET with flash messages;
// every form carries the session's CSRF token. Handlers are thin: the work
// is done by the workspace service.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static returns the embedded stylesheets and scripts, served under /static.
func Static() http.FileSystem {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the folder exists
	}
	return http.FS(sub)
}

// Handler serves the pages.
type Handler struct {
	svc         *workspace.Service
	renderer    *workspace.Renderer
	composer    *compose.Service
	aiEnabled   bool
	previewEdge int
	log         *slog.Logger
	servedBy    string
	maxUpload   int64
	pages       map[string]*template.Template
	assets      *assets
	presign     Presigner
}

// Presigner hands out direct download URLs of blobs (the S3 store with
// --s3-presign): the URL, how long a client may reuse it, and whether the
// blob exists.
type Presigner interface {
	URL(ctx context.Context, digest string, params url.Values) (u string, reuse time.Duration, found bool, err error)
}

// Deps are what the pages need.
type Deps struct {
	Service     *workspace.Service
	Renderer    *workspace.Renderer
	Composer    *compose.Service
	AIEnabled   bool // the ai composite mode is offered
	PreviewEdge int
	Log         *slog.Logger
	ServedBy    string // this replica's name, shown in the footer
	MaxUpload   int64
	Presign     Presigner // nil: blobs are served by easel
}

// New parses the embedded templates.
func New(deps Deps) (*Handler, error) {
	h := &Handler{svc: deps.Service, renderer: deps.Renderer, composer: deps.Composer, aiEnabled: deps.AIEnabled,
		previewEdge: deps.PreviewEdge, log: deps.Log, servedBy: deps.ServedBy, maxUpload: deps.MaxUpload,
		presign: deps.Presign, pages: map[string]*template.Template{}}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h.assets = a
	funcs := template.FuncMap{"lower": strings.ToLower, "percent": func(f float64) float64 { return f * 100 }, "asset": a.url}
	for _, page := range []string{"index", "image", "job", "error"} {
		t, err := template.New(page).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/tools.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", page, err)
		}
		h.pages[page] = t
	}
	return h, nil
}

// pageData is what every page's layout needs.
type pageData struct {
	Title     string
	CSRF      string
	ServedBy  string
	Session   session.Status
	Flashes   []session.Flash
	MaxUpload string
	// The form's: the session has an image to go back to.
	InProgress bool
	Detail     string
	// The editor's.
	State              *workspace.State
	Preview            string // digest of the preview render
	PreviewW, PreviewH int
	Adjustments        []adjustment
	AIEnabled          bool
	// Script loads the editor's script: on the editor, also when it shows
	// no image, so that the message after an expired session can be shown.
	Script bool
	// The job page's.
	Job     *compose.Job
	Refresh int // seconds; the page reloads itself
}

// render saves the session (before the body, so a new cookie can still be
// set), then writes the page.
func (h *Handler) render(c *gin.Context, status int, page string, d pageData) {
	s := sessions.Default(c)
	d.ServedBy = h.servedBy
	d.Session = session.StatusOf(c.Request.Context())
	d.Flashes = append(d.Flashes, session.TakeFlashes(c, s)...)
	tok, err := session.CSRFToken(s)
	if err == nil {
		err = s.Save()
	}
	if err != nil && !errors.Is(err, session.ErrGone) {
		h.fail(c, err)
		return
	}
	d.CSRF = tok
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := h.pages[page].ExecuteTemplate(c.Writer, "layout", d); err != nil {
		h.log.Error("rendering page", "page", page, "err", err)
	}
}

// fail shows an error page for an error that cannot become a flash message
// (the store is down, or the form itself is not trustworthy).
func (h *Handler) fail(c *gin.Context, err error) {
	p := problem.From(err)
	if p.Status >= 500 {
		_ = c.Error(err)
	}
	problem.SetRetryAfter(c, p)
	c.Header("Cache-Control", "no-store")
	c.Status(p.Status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	d := pageData{Title: http.StatusText(p.Status), Detail: p.Detail, ServedBy: h.servedBy, Session: session.StatusOf(c.Request.Context())}
	if err := h.pages["error"].ExecuteTemplate(c.Writer, "layout", d); err != nil {
		h.log.Error("rendering error page", "err", err)
	}
	c.Abort()
}

// redirect saves the session (with its flash messages) and answers 303.
func (h *Handler) redirect(c *gin.Context, to string) {
	if err := sessions.Default(c).Save(); err != nil && !errors.Is(err, session.ErrGone) {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, to)
}

// checkCSRF verifies the form's csrf_token against the session. A mismatch
// answers 403 at once and leaves the session untouched.
func (h *Handler) checkCSRF(c *gin.Context) bool {
	if session.ValidCSRF(sessions.Default(c), c.Request.PostFormValue("csrf_token")) {
		return true
	}
	h.fail(c, problem.New(http.StatusForbidden,
		"This form has expired or did not come from this site (its security token does not match your session). Reload the page and try again."))
	return false
}
