// Package api serves easel's JSON API under /api/v1, as described by
// api/openapi.yaml. Errors are application/problem+json. It calls the same
// workspace service as the web pages and duplicates none of their logic.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/upload"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// HeaderCSRF carries the session's CSRF token on unsafe API calls.
const HeaderCSRF = "X-CSRF-Token"

// Handler serves /api/v1.
type Handler struct {
	svc       *workspace.Service
	renderer  *workspace.Renderer
	composer  *compose.Service
	log       *slog.Logger
	maxUpload int64
	presign   Presigner
}

// Presigner hands out direct download URLs of blobs (the S3 store with
// --s3-presign): the URL, how long a client may reuse it, and whether the
// blob exists. params are S3's response-* overrides.
type Presigner interface {
	URL(ctx context.Context, digest string, params url.Values) (u string, reuse time.Duration, found bool, err error)
}

// New returns the API handler. presign may be nil: full-size renders are
// then served by easel.
func New(svc *workspace.Service, renderer *workspace.Renderer, composer *compose.Service, log *slog.Logger, maxUpload int64, presign Presigner) *Handler {
	return &Handler{svc: svc, renderer: renderer, composer: composer, log: log, maxUpload: maxUpload, presign: presign}
}

// uploads reads upload bodies within the size limit and the memory budget.
func (h *Handler) uploads() upload.Reader {
	return upload.Reader{Max: h.maxUpload, Budget: h.svc.Budget}
}

// WorkspaceView is the JSON shape of a workspace.
type WorkspaceView struct {
	CSRFToken string           `json:"csrf_token"`
	Image     *workspace.Image `json:"image"`
	Edits     []imaging.Op     `json:"edits"`
	// Labels says each edit in words, as the editor's history shows it
	// ("crop 800×600 at 10,20"), so a page can update itself in place.
	Labels  []string `json:"labels"`
	Cursor  int      `json:"cursor"`
	Current *Size    `json:"current"`
}

// Size is an image's dimensions.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// CSRF guards unsafe methods of a request that rides on an existing session:
// such a request must repeat the session's token in X-CSRF-Token. A request
// without a known session has nothing a forged request could abuse.
func (h *Handler) CSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if session.StatusOf(c.Request.Context()) == session.StatusHit &&
		!session.ValidCSRF(sessions.Default(c), c.GetHeader(HeaderCSRF)) {
		problem.Write(c, problem.New(http.StatusForbidden,
			"this request uses a session cookie, so it must send the session's CSRF token in the X-CSRF-Token header (GET /api/v1/workspace returns it as csrf_token)"))
		return
	}
	c.Next()
}

// Upload stores the image in field "image" as the session's original.
func (h *Handler) Upload(c *gin.Context) {
	data, err := h.uploads().Read(c.Request, "image")
	if err != nil {
		problem.Write(c, err)
		return
	}
	s := sessions.Default(c)
	id, err := session.WorkspaceIDOrNew(s)
	if err != nil {
		problem.Write(c, err)
		return
	}
	w, err := h.svc.Upload(c.Request.Context(), id, data)
	if err != nil {
		problem.Write(c, err)
		return
	}
	session.SetWorkspaceID(s, id)
	if !h.save(c) {
		return
	}
	c.Header("Location", "/api/v1/workspace")
	c.JSON(http.StatusCreated, w.Original)
}

// Workspace returns the session's editing state and its CSRF token.
func (h *Handler) Workspace(c *gin.Context) {
	s := sessions.Default(c)
	var st *workspace.State
	if id := session.WorkspaceID(s); id != "" {
		w, found, err := h.svc.Get(c.Request.Context(), id)
		if err != nil {
			problem.Write(c, err)
			return
		}
		if found {
			if st, err = workspace.StateOf(w); err != nil {
				problem.Write(c, err)
				return
			}
		}
	}
	h.writeState(c, http.StatusOK, st)
}

// writeState answers with the workspace view (st may be nil: no image).
func (h *Handler) writeState(c *gin.Context, status int, st *workspace.State) {
	s := sessions.Default(c)
	v := WorkspaceView{Edits: []imaging.Op{}, Labels: []string{}}
	if st != nil {
		v.Image, v.Cursor = st.Original, st.Cursor
		v.Edits = append(v.Edits, st.Ops...)
		for _, op := range st.Ops {
			v.Labels = append(v.Labels, op.String())
		}
		v.Current = &Size{Width: st.Width, Height: st.Height}
	}
	tok, err := session.CSRFToken(s)
	if err != nil {
		problem.Write(c, err)
		return
	}
	v.CSRFToken = tok
	if !h.save(c) {
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, v)
}

// save persists the session; on failure it writes the problem and reports false.
func (h *Handler) save(c *gin.Context) bool {
	if err := sessions.Default(c).Save(); err != nil && !errors.Is(err, session.ErrGone) {
		problem.Write(c, err)
		return false
	}
	return true
}
