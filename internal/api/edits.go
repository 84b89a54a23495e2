package api

import (
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/easelhq/easel/internal/httpcache"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// Edit appends one operation, sent as JSON such as {"op":"rotate","angle":90},
// to the session's edit list.
func (h *Handler) Edit(c *gin.Context) {
	id, ok := h.workspaceID(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, "an edit is a small JSON object; this body is too large"))
		return
	}
	op, err := imaging.ParseOp(body)
	if err != nil {
		problem.Write(c, err)
		return
	}
	st, err := h.svc.Edit(c.Request.Context(), id, op)
	if err != nil {
		problem.Write(c, err)
		return
	}
	h.writeState(c, http.StatusOK, st)
}

// Move returns a handler for undo, redo or reset.
func (h *Handler) Move(m workspace.Movement) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := h.workspaceID(c)
		if !ok {
			return
		}
		st, err := h.svc.Move(c.Request.Context(), id, m)
		if err != nil {
			problem.Write(c, err)
			return
		}
		h.writeState(c, http.StatusOK, st)
	}
}

// Render answers the edited image: ?size=preview|full&format=jpeg|png|webp
// and, for JPEG, &quality=1…100.
func (h *Handler) Render(c *gin.Context) {
	id, ok := h.workspaceID(c)
	if !ok {
		return
	}
	w, found, err := h.svc.Get(c.Request.Context(), id)
	if err == nil && !found {
		err = workspace.ErrNotFound
	}
	var st *workspace.State
	if err == nil {
		st, err = workspace.StateOf(w)
	}
	quality := workspace.DefaultQuality
	if q, ok := c.GetQuery("quality"); ok && err == nil {
		if quality, err = strconv.Atoi(q); err != nil {
			err = problem.New(http.StatusBadRequest, "quality must be a whole number from 1 to 100 (JPEG only)")
		}
	}
	var r *workspace.Rendered
	if err == nil {
		r, err = h.renderer.RenderQuality(c.Request.Context(), st, c.DefaultQuery("size", workspace.SizePreview), c.DefaultQuery("format", "jpeg"), quality)
	}
	if err != nil {
		problem.Write(c, err)
		return
	}
	if httpcache.Validate(c, r.Digest, "private, no-cache") {
		return
	}
	disposition := ""
	if c.Query("download") != "" {
		disposition = `attachment; filename="easel-` + r.Digest[:12] + "." + r.Format + `"`
	}
	if h.presign != nil && c.DefaultQuery("size", workspace.SizePreview) == workspace.SizeFull {
		h.redirectToRender(c, r, disposition)
		return
	}
	if disposition != "" {
		c.Header("Content-Disposition", disposition)
	}
	c.Data(http.StatusOK, workspace.ContentTypes[r.Format], r.Data)
}

// redirectToRender sends a full-size render's download to the bucket: a
// presigned URL answered with the render's type and disposition.
func (h *Handler) redirectToRender(c *gin.Context, r *workspace.Rendered, disposition string) {
	params := url.Values{"response-content-type": {workspace.ContentTypes[r.Format]}}
	if disposition != "" {
		params.Set("response-content-disposition", disposition)
	}
	u, _, found, err := h.presign.URL(c.Request.Context(), r.Digest, params)
	if err == nil && !found {
		err = problem.New(http.StatusServiceUnavailable, "the render is not stored yet; try again")
	}
	if err != nil {
		problem.Write(c, err)
		return
	}
	// The render of this state may change with the next edit: the redirect
	// is not cached (the image behind it is, by its digest).
	c.Header("Cache-Control", "private, no-cache")
	c.Redirect(http.StatusFound, u)
}

// workspaceID returns the session's workspace, or answers 409 when there is
// none (nothing uploaded in this session).
func (h *Handler) workspaceID(c *gin.Context) (string, bool) {
	id := session.WorkspaceID(sessions.Default(c))
	if id == "" {
		problem.Write(c, workspace.ErrNotFound)
		return "", false
	}
	return id, true
}
