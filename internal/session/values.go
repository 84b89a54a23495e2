package session

import (
	"github.com/easelhq/easel/internal/workspace"
	"github.com/gin-contrib/sessions"
)

// Keys of the small state a session holds.
const (
	workspaceKey = "ws"
	flashPrefix  = "flash_"
)

// Flash kinds.
const (
	FlashInfo  = "info"
	FlashError = "error"
)

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind string `json:"k"` // FlashInfo or FlashError
	Text string `json:"t"`
}

// WorkspaceID returns the session's workspace ID, or "" when it has none.
func WorkspaceID(s sessions.Session) string {
	id, _ := s.Get(workspaceKey).(string)
	return id
}

// WorkspaceIDOrNew returns the session's workspace ID, or a fresh one when
// the session has none yet (the caller stores it with SetWorkspaceID once the
// workspace exists).
func WorkspaceIDOrNew(s sessions.Session) (string, error) {
	if id := WorkspaceID(s); workspace.ValidID(id) {
		return id, nil
	}
	return workspace.NewID()
}

// SetWorkspaceID points the session at a workspace. Setting the ID it
// already holds changes nothing, so it does not cost a session save (and a
// new cookie, which would make every replica's copy stale).
func SetWorkspaceID(s sessions.Session, id string) {
	if WorkspaceID(s) != id {
		s.Set(workspaceKey, id)
	}
}
