package workspace

import (
	"context"
	"fmt"
	"image"
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

	// proxies and previewEdge are set by NewRenderer: validating an image
	// then decodes its preview proxy, which goes into the renderer's cache.
	proxies     *proxyCache
	previewEdge int
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
	info, proxy, err := s.validate(ctx, data)
	if err != nil {
		return Image{}, err
	}
	d, err := s.Blobs.Put(ctx, data, s.TTL)
	if err != nil {
		return Image{}, fmt.Errorf("storing image: %w", err)
	}
	if proxy != nil {
		s.proxies.put(d, proxy, image.Pt(info.Width, info.Height))
	}
	return Image{Digest: d, Width: info.Width, Height: info.Height, Format: info.Format, Progressive: info.Progressive}, nil
}

// validate checks that data is an image within s.Limits by decoding all of
// its pixel data (imaging.Inspect, a JPEG at 1/8 scale). With a renderer
// attached it decodes the preview proxy instead, in the same single pass,
// and returns it: a JPEG shrinks on load, so validating a 48 MP photo costs
// a 1600 px decode, and its first preview none (before, both decoded it at
// full size). Assets' proxies are kept too: they are small, and an asset
// may become an original.
//
// The decode is admitted against the memory budget first, sized from the
// header (validateBytes): a busy replica answers a *budget.Busy having
// decoded nothing.
func (s *Service) validate(ctx context.Context, data []byte) (imaging.Info, *image.NRGBA, error) {
	head, err := imaging.Header(data, s.Limits)
	if err != nil {
		return imaging.Info{}, nil, err
	}
	release, err := s.Budget.Acquire(ctx, s.validateBytes(head, len(data)))
	if err != nil {
		return imaging.Info{}, nil, err
	}
	defer release()
	if s.proxies == nil {
		info, err := imaging.Inspect(data, s.Limits)
		return info, nil, err
	}
	proxy, info, err := imaging.DecodePreview(ctx, data, s.Limits, s.previewEdge)
	return info, proxy, err
}

// Get returns workspace id; found == false when it does not exist.
func (s *Service) Get(ctx context.Context, id string) (*Workspace, bool, error) {
	if !ValidID(id) {
		return nil, false, nil
	}
	return s.Workspaces.Get(ctx, id)
}
