package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/easelhq/easel/internal/imaging"
)

// MaxEdits bounds a workspace's edit list, so that replaying it stays fast
// and its Redis list stays small.
const MaxEdits = 200

// maxAttempts bounds the optimistic retries of a size-dependent edit.
const maxAttempts = 20

// ErrTooManyEdits means the edit list is full.
var ErrTooManyEdits = fmt.Errorf("the edit list is full (%d edits): reset or download and start again", MaxEdits)

// State is a workspace with its edit list parsed, and the size of the image
// after the applied edits.
type State struct {
	*Workspace
	Ops           []imaging.Op // all edits, the redo tail included
	Width, Height int          // after Ops[:Cursor]
}

// State parses w's edit list and computes the current size without
// touching any pixel.
func StateOf(w *Workspace) (*State, error) {
	if w.Original == nil {
		return nil, ErrNoImage
	}
	st := &State{Workspace: w, Width: w.Original.Width, Height: w.Original.Height}
	for i, raw := range w.Edits {
		op, err := imaging.ParseOp(raw)
		if err != nil {
			return nil, fmt.Errorf("decoding stored edit %d: %w", i+1, err)
		}
		st.Ops = append(st.Ops, op)
		if i < w.Cursor {
			st.Width, st.Height = op.Bounds(st.Width, st.Height)
		}
	}
	return st, nil
}

// Applied returns the edits up to the cursor.
func (s *State) Applied() []imaging.Op { return s.Ops[:s.Cursor] }

// Edit validates op against the workspace's current size and appends it.
//
// An op whose meaning does not depend on the size (rotate, colour, filters)
// is appended unconditionally: however many replicas append at once, every
// edit lands exactly once. An op with pixel coordinates (crop, resize,
// composite) is appended only if the workspace is still at the version it
// was checked against; otherwise it is checked again and retried, so that a
// crop is never applied to an image it was not validated for.
func (s *Service) Edit(ctx context.Context, id string, op imaging.Op) (*State, error) {
	raw, err := json.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("encoding edit: %w", err)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		w, found, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, ErrNotFound
		}
		st, err := StateOf(w)
		if err != nil {
			return nil, err
		}
		if st.Cursor >= MaxEdits {
			return nil, ErrTooManyEdits
		}
		if err := op.Validate(st.Width, st.Height); err != nil {
			return nil, err
		}
		version := int64(-1)
		if sizeDependent(op) {
			version = w.Version
		}
		w, err = s.Workspaces.Append(ctx, id, raw, version)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return StateOf(w)
	}
	return nil, ErrConflict
}

// Move undoes, redoes or resets.
func (s *Service) Move(ctx context.Context, id string, m Movement) (*State, error) {
	w, err := s.Workspaces.Move(ctx, id, m)
	if err != nil {
		return nil, err
	}
	return StateOf(w)
}

func sizeDependent(op imaging.Op) bool {
	switch op.Op {
	case imaging.OpCrop, imaging.OpResize, imaging.OpComposite:
		return true
	}
	return false
}
