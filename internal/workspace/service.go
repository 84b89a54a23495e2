package workspace

import (
	"context"
	"fmt"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/budget"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/store"
)

// Service is what the web pages and the API call: it validates images,
// stores them as blobs and keeps workspaces pointing at them. It knows
// nothing of HTTP or sessions.
type Service struct {
	Blobs      blob.Store
	Workspaces Store
	Limits     imaging.Limits
	// TTL is how long a workspace and its blobs live after their last change.
	TTL time.Duration
	// Budget admits every decode, render and export by the memory it will
	// hold (see estimate.go); a refusal is a *budget.Busy (503). nil
	// admits everything.
	Budget *budget.Budget
}

// Upload validates data as an image (by content, never by a client's claim),
// stores it, and makes it the original of workspace id (created if needed).
// Invalid images are *imaging.Error values and store nothing.
//
// Where the image and the workspace are both on one Redis server, storing
// the one and changing the other is one round trip: the image's writes are
// batched (store.Batch) and go in one pipeline before the workspace's
// script, which Redis runs after them. If the script refuses the change
// (the session ended), the image is stored all the same, but nothing refers
// to it and it expires.
func (s *Service) Upload(ctx context.Context, id string, data []byte) (*Workspace, error) {
	ctx, _ = store.WithBatch(ctx)
	img, err := s.Asset(ctx, data)
	if err != nil {
		return nil, err
	}
	w, err := s.Workspaces.SetOriginal(ctx, id, img)
	if err != nil {
		return nil, fmt.Errorf("setting original: %w", err)
	}
	if err := store.Flush(ctx); err != nil {
		return nil, store.Unavailable("storing image", err)
	}
	return w, nil
}

// Asset validates and stores an image that is not (yet) any workspace's
// original: a background or an overlay.
//
// Validating decodes the pixels, so it is admitted against the memory
// budget first (sized from the header): a busy replica answers a
// *budget.Busy and stores nothing.
func (s *Service) Asset(ctx context.Context, data []byte) (Image, error) {
	info, err := s.inspect(ctx, data)
	if err != nil {
		return Image{}, err
	}
	d, err := s.Blobs.Put(ctx, data, s.TTL)
	if err != nil {
		return Image{}, fmt.Errorf("storing image: %w", err)
	}
	return Image{Digest: d, Width: info.Width, Height: info.Height, Format: info.Format}, nil
}

// Get returns workspace id; found == false when it does not exist.
func (s *Service) Get(ctx context.Context, id string) (*Workspace, bool, error) {
	if !ValidID(id) {
		return nil, false, nil
	}
	return s.Workspaces.Get(ctx, id)
}

// inspect is imaging.Inspect under the memory budget. The upload's own
// bytes are counted too: the body's reservation (upload.Reader) ended
// when it was read.
func (s *Service) inspect(ctx context.Context, data []byte) (imaging.Info, error) {
	head, err := imaging.Header(data, s.Limits)
	if err != nil {
		return imaging.Info{}, err
	}
	release, err := s.Budget.Acquire(ctx, inspectBytes(head)+int64(len(data)))
	if err != nil {
		return imaging.Info{}, err
	}
	defer release()
	return imaging.Inspect(data, s.Limits)
}
