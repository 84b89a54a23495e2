package web

import (
	"fmt"
	"net/http"

	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/upload"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// Index shows the upload form, and a link back to the editor when the
// session already has an image. A session names its workspace only once an
// upload succeeded, and the workspace lives as long as the session, so the
// form needs no workspace read (no Redis round trip): in the rare case that
// Redis lost it, the editor says plainly that there is no image.
func (h *Handler) Index(c *gin.Context) {
	h.render(c, http.StatusOK, "index", h.indexData(c))
}

// indexData is what the upload form shows.
func (h *Handler) indexData(c *gin.Context) pageData {
	d := pageData{Title: "Upload", MaxUpload: fmt.Sprintf("%d MiB", h.maxUpload>>20)}
	d.InProgress = session.WorkspaceID(sessions.Default(c)) != ""
	return d
}

// Upload takes the form's image, stores it and redirects to the editor
// (POST-redirect-GET). Invalid files come back to the form as a flash
// message; the session's existing image is kept.
func (h *Handler) Upload(c *gin.Context) {
	data, err := upload.Reader{Max: h.maxUpload, Budget: h.svc.Budget}.Read(c.Request, "image")
	// An oversized body is cut off before its CSRF field could be read, and
	// a busy replica refuses it unread; neither stores anything, so they
	// get their flash message without the check.
	if p := problem.From(err); p.Status != http.StatusRequestEntityTooLarge && !p.Refused() && !h.checkCSRF(c) {
		return
	}
	s := sessions.Default(c)
	if err == nil {
		var w *workspace.Workspace
		if w, err = h.upload(c, s, data); err == nil {
			session.AddFlash(c, session.FlashInfo, fmt.Sprintf("Uploaded a %d×%d %s image.", w.Original.Width, w.Original.Height, w.Original.Format))
			h.redirect(c, "/image")
			return
		}
	}
	switch p := problem.From(err); {
	case p.Refused():
		h.refused(c, p, "/")
		return
	case p.Status >= 500:
		h.fail(c, err)
		return
	}
	session.AddFlash(c, session.FlashError, problem.From(err).Detail)
	h.redirect(c, "/")
}

// Editor shows the session's image with its edits applied (a preview,
// rendered once by any replica and cached), or explains plainly why there
// is none.
func (h *Handler) Editor(c *gin.Context) {
	w, err := h.workspace(c)
	var st *workspace.State
	if err == nil && w != nil {
		st, err = workspace.StateOf(w)
	}
	d := pageData{Title: "Editor", State: st, Adjustments: adjustments, AIEnabled: h.aiEnabled, Script: true}
	if err == nil && st != nil {
		var r *workspace.Rendered
		if r, err = h.renderer.Render(c.Request.Context(), st, workspace.SizePreview, "jpeg"); err == nil {
			d.Preview = r.Digest
			d.PreviewW, d.PreviewH = imaging.PreviewSize(st.Width, st.Height, h.previewEdge)
		}
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "image", d)
}

// upload stores data as the image of the session's workspace, creating the
// workspace when the session has none.
func (h *Handler) upload(c *gin.Context, s sessions.Session, data []byte) (*workspace.Workspace, error) {
	id, err := session.WorkspaceIDOrNew(s)
	if err != nil {
		return nil, err
	}
	w, err := h.svc.Upload(c.Request.Context(), id, data)
	if err != nil {
		return nil, err
	}
	session.SetWorkspaceID(s, id)
	return w, nil
}

// workspace returns the session's workspace, or nil when it has none.
func (h *Handler) workspace(c *gin.Context) (*workspace.Workspace, error) {
	id := session.WorkspaceID(sessions.Default(c))
	if id == "" {
		return nil, nil
	}
	w, found, err := h.svc.Get(c.Request.Context(), id)
	if err != nil || !found {
		return nil, err
	}
	return w, nil
}
