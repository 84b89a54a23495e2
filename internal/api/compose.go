package api

import (
	"io"
	"net/http"

	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/session"
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// Asset stores an image to use as a background or an overlay (multipart
// field "image", validated like uploads) and answers its digest.
func (h *Handler) Asset(c *gin.Context) {
	data, err := h.uploads().Read(c.Request, "image")
	if err != nil {
		problem.Write(c, err)
		return
	}
	img, err := h.svc.Asset(c.Request.Context(), data)
	if err != nil {
		problem.Write(c, err)
		return
	}
	c.JSON(http.StatusCreated, img)
}

// Composite queues a composite of the session's image and answers 202 with
// the job to follow; any replica can answer the poll.
func (h *Handler) Composite(c *gin.Context) {
	id, ok := h.workspaceID(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, "a composite request is a small JSON object; this body is too large"))
		return
	}
	req, err := compose.ParseRequest(body)
	if err != nil {
		problem.Write(c, err)
		return
	}
	j, err := h.composer.Submit(c.Request.Context(), id, req)
	if err != nil {
		problem.Write(c, err)
		return
	}
	c.Header("Location", "/api/v1/jobs/"+j.ID)
	c.JSON(http.StatusAccepted, j.View())
}

// Job reports a composite job of the session's workspace.
func (h *Handler) Job(c *gin.Context) {
	wsID := session.WorkspaceID(sessions.Default(c))
	j, err := h.composer.Find(c.Request.Context(), wsID, c.Param("id"))
	if err == nil && j.Status == compose.StatusSucceeded {
		// Another replica committed the composite, outside any request of
		// this client: read the workspace past every replica cache, so that
		// the cookie names the state with the composite in it.
		_, _, err = h.svc.Get(workspace.ReadFresh(c.Request.Context()), wsID)
	}
	if err != nil {
		problem.Write(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, j.View())
}
