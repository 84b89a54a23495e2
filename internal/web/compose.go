package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/upload"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// Composite takes the composite panel's form, queues the job and sends the
// browser to its progress page. Uploaded backgrounds and overlays are
// stored as assets first.
func (h *Handler) Composite(c *gin.Context) {
	req, err := h.compositeRequest(c)
	// A busy replica's refusal read nothing: checking the CSRF field would
	// parse the body after all, outside the memory budget.
	if p := problem.From(err); p.Status != http.StatusRequestEntityTooLarge && !p.Refused() && !h.checkCSRF(c) {
		return
	}
	var j compose.Job
	if err == nil {
		err = h.withWorkspace(c, func(id string) error {
			var err error
			j, err = h.composer.Submit(c.Request.Context(), id, req)
			return err
		})
	}
	if err != nil {
		h.after(c, err, "")
		return
	}
	h.redirect(c, "/jobs/"+j.ID)
}

// compositeRequest builds the compose request from the form's fields.
func (h *Handler) compositeRequest(c *gin.Context) (compose.Request, error) {
	r := c.Request
	var file []byte
	var haveFile bool
	var err error
	// The form is parsed (r.FormValue) under the body's reservation, and
	// that ends before the asset's decode is admitted (svc.Asset).
	release, err := upload.Reader{Max: h.maxUpload, Budget: h.svc.Budget}.Admit(r)
	if err != nil {
		return compose.Request{}, err
	}
	switch r.FormValue("mode") {
	case compose.ModeReplaceBackground:
		file, haveFile, err = upload.ReadOptional(r, "background", h.maxUpload)
	case compose.ModeOverlay:
		file, err = upload.Read(r, "overlay", h.maxUpload)
		haveFile = err == nil
	default:
		err = r.ParseMultipartForm(1 << 20)
	}
	release()
	if err != nil {
		return compose.Request{}, err
	}
	m := map[string]any{"mode": r.FormValue("mode")}
	if haveFile {
		img, err := h.svc.Asset(c.Request.Context(), file)
		if err != nil {
			return compose.Request{}, err
		}
		if m["mode"] == compose.ModeOverlay {
			m["asset"] = img.Digest
		} else {
			m["background"] = map[string]any{"asset": img.Digest}
		}
	} else if m["mode"] == compose.ModeReplaceBackground {
		bg := map[string]any{"color": r.FormValue("color")}
		if to := r.FormValue("gradient_to"); to != "" && r.FormValue("gradient") == "on" {
			bg = map[string]any{"gradient": []string{r.FormValue("color"), to}}
		}
		m["background"] = bg
	}
	for _, k := range []string{"x", "y", "scale", "opacity", "tolerance", "feather"} {
		if v := r.FormValue(k); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return compose.Request{}, &problem.Error{Status: http.StatusBadRequest, Field: k, Detail: fmt.Sprintf("%s must be a number, got %q", k, v)}
			}
			m[k] = f
		}
	}
	for _, k := range []string{"blend", "prompt"} {
		if v := r.FormValue(k); v != "" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m) // strings, numbers and maps of them always marshal
	return compose.ParseRequest(b)
}

// Job shows a composite's progress, refreshing itself until the job ends,
// then returns to the editor with the outcome as a flash message. It works
// without JavaScript; the poll may land on any replica.
func (h *Handler) Job(c *gin.Context) {
	s := sessions.Default(c)
	j, err := h.composer.Find(c.Request.Context(), session.WorkspaceID(s), c.Param("id"))
	if err == nil && j.Status == compose.StatusSucceeded {
		// Another replica committed the composite, outside any request of
		// this client: read the workspace past every replica cache, so that
		// the cookie names the state with the composite in it.
		_, _, err = h.svc.Get(workspace.ReadFresh(c.Request.Context()), session.WorkspaceID(s))
	}
	if err != nil {
		h.after(c, err, "")
		return
	}
	switch j.Status {
	case compose.StatusSucceeded:
		session.AddFlash(c, session.FlashInfo, "Composite applied: it is the last step of the history, so Undo takes it back.")
		h.redirect(c, "/image")
		return
	case compose.StatusFailed:
		session.AddFlash(c, session.FlashError, j.Error)
		h.redirect(c, "/image")
		return
	}
	h.render(c, http.StatusOK, "job", pageData{Title: "Compositing", Job: &j, Refresh: 1})
}
