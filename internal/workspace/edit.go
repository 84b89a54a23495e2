package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/easelhq/easel/internal/imaging"
)

// maxAttempts bounds the optimistic retries of a size-dependent edit.
const maxAttempts = 20

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
// An op that keeps the image's size (colour, filters, flips, quarter
// turns) is valid on any image if it is valid at all, so it is checked on
// its own and appended in one round trip, without reading the workspace
// first. An op with pixel coordinates (crop, resize, composite), or one
// whose result size depends on the image (rotation by any other angle), is
// checked against the current size, and appended only if the workspace is
// still at the version it was checked against; otherwise it is checked
// again and retried, so that a crop is never applied to an image it was not
// validated for. Either way, however many replicas append at once, every
// edit lands exactly once.
func (s *Service) Edit(ctx context.Context, id string, op imaging.Op) (*State, error) {
	raw, err := json.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("encoding edit: %w", err)
	}
	if op.KeepsSize() {
		if err := op.Validate(1, 1); err != nil {
			return nil, err
		}
		w, err := s.Workspaces.Append(ctx, id, raw, -1)
		if err != nil {
			return nil, err
		}
		return StateOf(w)
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
		if err := op.Validate(st.Width, st.Height); err != nil {
			return nil, err
		}
		w, err = s.Workspaces.Append(ctx, id, raw, w.Version)
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
