package compose

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/workspace"
)

// Workspaces is what compose needs of the workspace service.
type Workspaces interface {
	// Snapshot returns the workspace's current image (original and applied
	// edits); workspace.ErrNotFound or ErrNoImage when there is none.
	Snapshot(ctx context.Context, wsID string) (Snapshot, error)
	// Render returns a snapshot's pixels at full resolution.
	Render(ctx context.Context, s Snapshot) (*image.NRGBA, error)
	// AppendEdit appends op to the workspace's edit list.
	AppendEdit(ctx context.Context, wsID string, op imaging.Op) error
}

// WorkspaceAdapter implements Workspaces on the workspace package.
type WorkspaceAdapter struct {
	Service  *workspace.Service
	Renderer *workspace.Renderer
}

// Snapshot implements Workspaces.
func (a WorkspaceAdapter) Snapshot(ctx context.Context, wsID string) (Snapshot, error) {
	w, found, err := a.Service.Get(ctx, wsID)
	if err != nil {
		return Snapshot{}, err
	}
	if !found {
		return Snapshot{}, workspace.ErrNotFound
	}
	st, err := workspace.StateOf(w)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Original: *w.Original, Edits: w.Applied(), Width: st.Width, Height: st.Height}, nil
}

// Render implements Workspaces through the renderer, so a render another
// replica already made (the full-size download) is reused.
func (a WorkspaceAdapter) Render(ctx context.Context, s Snapshot) (*image.NRGBA, error) {
	orig := s.Original
	w := &workspace.Workspace{Original: &orig, Edits: s.Edits, Cursor: len(s.Edits)}
	st, err := workspace.StateOf(w)
	if err != nil {
		return nil, err
	}
	r, err := a.Renderer.Render(ctx, st, workspace.SizeFull, imaging.FormatPNG)
	if err != nil {
		if errors.Is(err, workspace.ErrImageExpired) {
			return nil, &Failure{Message: "The image has expired from the store; upload it again.", Err: err}
		}
		return nil, err
	}
	// Not admitted again: Execute's reservation (jobBytes) covers this
	// decode, and ctx says so (budget.Covered).
	img, _, err := imaging.Decode(ctx, r.Data, imaging.Limits{})
	if err != nil {
		return nil, fmt.Errorf("decoding the render: %w", err)
	}
	return img, nil
}

// AppendEdit implements Workspaces.
func (a WorkspaceAdapter) AppendEdit(ctx context.Context, wsID string, op imaging.Op) error {
	if _, err := a.Service.Edit(ctx, wsID, op); err != nil {
		if errors.Is(err, workspace.ErrNotFound) {
			return &Failure{Message: "The workspace expired before the composite finished; upload the image again.", Err: err}
		}
		return err
	}
	return nil
}
