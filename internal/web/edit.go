package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// adjustment describes one slider form of the editor.
type adjustment struct {
	Op, Title, Label, Field string
	Min, Max, Step, Value   float64
	Field2, Label2          string
	Value2                  float64
}

// adjustments are the editor's slider tools, with the ranges imaging accepts.
var adjustments = []adjustment{
	{Op: "brightness", Title: "Brightness", Label: "Amount", Field: "amount", Min: -1, Max: 1, Step: 0.05, Value: 0.2},
	{Op: "contrast", Title: "Contrast", Label: "Amount", Field: "amount", Min: -1, Max: 1, Step: 0.05, Value: 0.2},
	{Op: "saturation", Title: "Saturation", Label: "Amount", Field: "amount", Min: -1, Max: 1, Step: 0.05, Value: 0.2},
	{Op: "hue", Title: "Hue", Label: "Degrees", Field: "degrees", Min: -180, Max: 180, Step: 1, Value: 30},
	{Op: "gamma", Title: "Gamma", Label: "Value", Field: "value", Min: 0.1, Max: 5, Step: 0.05, Value: 1.2},
	{Op: "blur", Title: "Blur", Label: "Sigma (pixels)", Field: "sigma", Min: 0.1, Max: 20, Step: 0.1, Value: 2},
	{Op: "sharpen", Title: "Sharpen", Label: "Amount", Field: "amount", Min: 0.1, Max: 5, Step: 0.1, Value: 1, Field2: "radius", Label2: "Radius (pixels)", Value2: 1.5},
}

// Edit applies one tool's form as an edit and returns to the editor.
func (h *Handler) Edit(c *gin.Context) {
	if !h.checkCSRF(c) {
		return
	}
	op, err := imaging.ParseOp(formOp(c.Request))
	if err == nil {
		err = h.withWorkspace(c, func(id string) error {
			_, err := h.svc.Edit(c.Request.Context(), id, op)
			return err
		})
	}
	h.after(c, err, "Applied: "+op.String()+".")
}

// Move returns the handler of the undo, redo and reset buttons.
func (h *Handler) Move(m workspace.Movement) gin.HandlerFunc {
	done := map[workspace.Movement]string{workspace.Undo: "Undone.", workspace.Redo: "Redone.", workspace.Reset: "Reset to the original."}[m]
	return func(c *gin.Context) {
		if !h.checkCSRF(c) {
			return
		}
		err := h.withWorkspace(c, func(id string) error {
			_, err := h.svc.Move(c.Request.Context(), id, m)
			return err
		})
		h.after(c, err, done)
	}
}

// after ends a form POST: a flash saying what happened or what to fix, then
// 303 to the editor. Only a store failure shows an error page instead.
func (h *Handler) after(c *gin.Context, err error, success string) {
	switch p := problem.From(err); {
	case err == nil:
		session.AddFlash(c, session.FlashInfo, success)
	case p.Status >= 500 && !p.Refused():
		h.fail(c, err)
		return
	default:
		session.AddFlash(c, session.FlashError, p.Detail)
	}
	h.redirect(c, "/image")
}

func (h *Handler) withWorkspace(c *gin.Context, f func(id string) error) error {
	id := session.WorkspaceID(sessions.Default(c))
	if id == "" {
		return workspace.ErrNotFound
	}
	return f(id)
}

// formOp turns a tool's form into the op's JSON: numbers where the value is
// one, strings otherwise; empty fields are left out.
func formOp(r *http.Request) []byte {
	m := map[string]any{}
	for k, vs := range r.PostForm {
		if k == "csrf_token" || len(vs) == 0 || vs[0] == "" {
			continue
		}
		if f, err := strconv.ParseFloat(vs[0], 64); err == nil && k != "op" && k != "aspect" {
			m[k] = f
		} else {
			m[k] = vs[0]
		}
	}
	if m["aspect"] != nil { // the aspect preset replaces the rectangle
		for _, k := range []string{"x", "y", "width", "height"} {
			delete(m, k)
		}
	}
	if m["op"] == "rotate" {
		if a, ok := m["angle"].(float64); ok && a == float64(int(a)) && int(a)%90 == 0 {
			delete(m, "fill") // right angles are lossless and need no fill
		}
	}
	b, _ := json.Marshal(m) // a map of strings and float64s always marshals
	return b
}
