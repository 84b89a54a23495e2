// Package workspace keeps a user's editing state in the shared store: the
// original image, an ordered, non-destructive edit list and a cursor for
// undo and redo. Any replica may change a workspace at any time; changes are
// atomic, so concurrent edits arriving at different replicas are all kept.
package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/easelhq/easel/internal/randid"
)

// ErrNotFound means the workspace does not exist (never created, or expired).
var ErrNotFound = errors.New("workspace not found")

// ErrConflict means the workspace changed since the version a conditional
// change was based on; re-read, re-check and retry.
var ErrConflict = errors.New("workspace changed concurrently")

// MaxEdits bounds a workspace's edit list, so that replaying it stays fast
// and its Redis list stays small.
const MaxEdits = 200

// ErrTooManyEdits means the edit list is full.
var ErrTooManyEdits = fmt.Errorf("the edit list is full (%d edits): reset or download and start again", MaxEdits)

// ErrNoImage means the workspace has no original image yet.
var ErrNoImage = errors.New("workspace has no image")

// Image describes a stored image blob.
type Image struct {
	Digest string `json:"digest"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Format string `json:"format"`
	// Progressive is true for a progressive JPEG, whose decode holds every
	// DCT coefficient at full size even when it shrinks on load: the
	// memory budget charges it so.
	Progressive bool `json:"progressive,omitempty"`
}

// Workspace is one user's editing state. Edits[:Cursor] are applied;
// Edits[Cursor:] are the redo tail.
type Workspace struct {
	ID       string
	Original *Image
	Edits    []json.RawMessage
	Cursor   int
	// Version increases with every change; conditional changes compare it.
	Version int64
	// Token names this exact state: every change gets a new one, never
	// reused, not even when Redis loses changes in a failover and Version
	// counts up again from an older value. A replica may serve a cached
	// workspace to a request that proves, with the token its client last
	// saw, that the copy is that state (see Cached). Empty: the state has no
	// token (a workspace last changed by an easel from before tokens), so
	// it is never served from a cache.
	Token string
}

// Applied returns the edits up to the cursor.
func (w *Workspace) Applied() []json.RawMessage { return w.Edits[:w.Cursor] }

// Store persists workspaces. Every method is atomic on one workspace.
type Store interface {
	// Get returns a workspace; found == false with a nil error when missing.
	Get(ctx context.Context, id string) (w *Workspace, found bool, err error)
	// SetOriginal creates the workspace or replaces its image, clearing the
	// edit list.
	SetOriginal(ctx context.Context, id string, img Image) (*Workspace, error)
	// Append adds an edit at the cursor, dropping any redo tail. With
	// ifVersion >= 0 it fails with ErrConflict unless the workspace is still
	// at that version; with ifVersion < 0 it appends whatever happened since.
	Append(ctx context.Context, id string, edit json.RawMessage, ifVersion int64) (*Workspace, error)
	// Move changes the cursor: Undo (-1), Redo (+1) or Reset (to 0, dropping
	// every edit). Undo at 0 and Redo at the end change nothing.
	Move(ctx context.Context, id string, m Movement) (*Workspace, error)
}

// Movement is a cursor change.
type Movement string

// Cursor movements.
const (
	Undo  Movement = "undo"
	Redo  Movement = "redo"
	Reset Movement = "reset"
)

// NewID returns a fresh random workspace ID.
func NewID() (string, error) { return randid.New(16) }

// ValidID reports whether id looks like one NewID makes.
func ValidID(id string) bool { return randid.Valid(id, 16) }

// newTag returns a random tag for a new state. It needs to be unique, not
// secret: clients only ever see it inside a signed cookie.
func newTag() string { return strconv.FormatUint(rand.Uint64(), 36) }

// token combines a state's version and tag into its Token. The version
// keeps a token changing even when an easel from before tokens changes the
// workspace (it bumps the version but not the tag, during a rolling update).
func token(version int64, tag string) string {
	return strconv.FormatInt(version, 36) + "-" + tag
}
