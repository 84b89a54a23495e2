package workspace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"strconv"
	"sync"

	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/store"
	"golang.org/x/sync/singleflight"
)

// Render sizes.
const (
	SizePreview = "preview"
	SizeFull    = "full"
)

// DefaultQuality is the JPEG quality of renders that ask for none.
const DefaultQuality = 90

// ContentTypes maps an output format to its media type.
var ContentTypes = map[string]string{"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

// RenderCache remembers which blob holds the render of a given (original,
// edit list, size, format), so that any replica serves a render another
// replica made. Lookup returns found == false with a nil error when the
// render is unknown.
type RenderCache interface {
	Lookup(ctx context.Context, key string) (digest string, found bool, err error)
	Remember(ctx context.Context, key, digest string) error
}

// Renderer replays edit lists on images. It is safe for concurrent use:
// identical renders requested at once on one replica are computed once.
type Renderer struct {
	svc         *Service
	cache       RenderCache
	previewEdge int
	flight      singleflight.Group
	proxies     *proxyCache
}

// NewRenderer returns a renderer whose previews have a long edge of at most
// previewEdge pixels. It also makes svc validate images by decoding this
// preview and hand it to the renderer, so that an upload followed by its
// first preview on this replica decodes the photo once.
func NewRenderer(svc *Service, cache RenderCache, previewEdge int) *Renderer {
	r := &Renderer{svc: svc, cache: cache, previewEdge: previewEdge, proxies: newProxyCache(8)}
	svc.proxies, svc.previewEdge = r.proxies, previewEdge
	return r
}

// Rendered is an encoded render and its blob digest (a strong ETag).
type Rendered struct {
	Data   []byte
	Digest string
	Format string
}

// Render returns st's image after its applied edits, at size (SizePreview or
// SizeFull) in format (jpeg, png or webp), JPEG at [DefaultQuality].
func (r *Renderer) Render(ctx context.Context, st *State, size, format string) (*Rendered, error) {
	return r.RenderQuality(ctx, st, size, format, DefaultQuality)
}

// RenderQuality is [Renderer.Render] with a JPEG quality from 1 to 100;
// PNG and WebP are lossless and ignore it.
func (r *Renderer) RenderQuality(ctx context.Context, st *State, size, format string, quality int) (*Rendered, error) {
	if _, ok := ContentTypes[format]; !ok {
		return nil, &imaging.Error{Code: imaging.CodeInvalidOp, Field: "format", Message: "format must be jpeg, png or webp"}
	}
	if size != SizePreview && size != SizeFull {
		return nil, &imaging.Error{Code: imaging.CodeInvalidOp, Field: "size", Message: "size must be preview or full"}
	}
	if quality < 1 || quality > 100 {
		return nil, &imaging.Error{Code: imaging.CodeInvalidOp, Field: "quality", Message: fmt.Sprintf("quality must be from 1 to 100, got %d", quality)}
	}
	if format != imaging.FormatJPEG {
		quality = DefaultQuality // one cached render per lossless format
	}
	key, err := renderKey(st, size, format, quality, r.previewEdge)
	if err != nil {
		return nil, err
	}
	v, err, _ := r.flight.Do(key, func() (any, error) {
		if d, found, err := r.cache.Lookup(ctx, key); err != nil {
			return nil, err
		} else if found {
			if data, ok, err := r.svc.Blobs.Get(ctx, d); err != nil {
				return nil, err
			} else if ok {
				return &Rendered{Data: data, Digest: d, Format: format}, nil
			}
		}
		data, err := r.admitted(ctx, st, size, format, quality)
		if err != nil {
			return nil, err
		}
		// The image and its cache entry travel in one round trip where
		// both are in Redis; the image is stored first.
		bctx, _ := store.WithBatch(ctx)
		d, err := r.svc.Blobs.Put(bctx, data, r.svc.TTL)
		if err != nil {
			return nil, err
		}
		if err := r.cache.Remember(bctx, key, d); err != nil {
			return nil, err
		}
		if err := store.Flush(bctx); err != nil {
			return nil, store.Unavailable("storing render", err)
		}
		return &Rendered{Data: data, Digest: d, Format: format}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Rendered), nil
}

// admitted is render under the memory budget: the budget is held only
// while pixels are, not while the cache and the blob store are asked.
func (r *Renderer) admitted(ctx context.Context, st *State, size, format string, quality int) ([]byte, error) {
	_, _, proxied := r.proxies.get(st.Original.Digest)
	release, err := r.svc.Budget.Acquire(ctx, renderBytes(st, size, r.previewEdge, proxied && size == SizePreview))
	if err != nil {
		return nil, err
	}
	defer release()
	return r.render(ctx, st, size, format, quality)
}

func (r *Renderer) render(ctx context.Context, st *State, size, format string, quality int) ([]byte, error) {
	base, full, err := r.base(ctx, st.Original, size)
	if err != nil {
		return nil, err
	}
	opts := imaging.ReplayOptions{Resolve: r.resolve, Original: full}
	out, err := opts.Replay(ctx, base, st.Applied())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, out, format, quality); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// base returns the image to replay on (the original, or its preview proxy)
// and the original's size.
func (r *Renderer) base(ctx context.Context, orig *Image, size string) (*image.NRGBA, image.Point, error) {
	edge := 0 // full size
	if size == SizePreview {
		if p, full, ok := r.proxies.get(orig.Digest); ok {
			return p, full, nil
		}
		edge = r.previewEdge
	}
	img, full, err := r.decode(ctx, orig.Digest, edge)
	if err != nil {
		return nil, image.Point{}, err
	}
	if size == SizePreview {
		r.proxies.put(orig.Digest, img, full)
	}
	return img, full, nil
}

// decode returns the image at digest, upright, and its full size: at full
// size when edge is 0, else as the preview proxy with a long edge of edge,
// decoded at reduced scale where the format allows (imaging.DecodePreview).
func (r *Renderer) decode(ctx context.Context, digest string, edge int) (*image.NRGBA, image.Point, error) {
	data, found, err := r.svc.Blobs.Get(ctx, digest)
	if err != nil {
		return nil, image.Point{}, err
	}
	if !found {
		return nil, image.Point{}, fmt.Errorf("image %s: %w", digest[:12], ErrImageExpired)
	}
	if edge > 0 {
		img, info, err := imaging.DecodePreview(ctx, data, r.svc.Limits, edge)
		return img, image.Pt(info.Width, info.Height), err
	}
	img, _, err := imaging.Decode(ctx, data, r.svc.Limits)
	if err != nil {
		return nil, image.Point{}, err
	}
	return img, img.Rect.Size(), nil
}

func (r *Renderer) resolve(ctx context.Context, digest string) (*image.NRGBA, error) {
	img, _, err := r.decode(ctx, digest, 0)
	return img, err
}

// ErrImageExpired means a blob the workspace refers to is gone.
var ErrImageExpired = errors.New("the image has expired; upload it again")

// pixelsRevision changes when decoding gives different pixels for the same
// bytes, so that renders cached (for the TTL, and by replicas of the
// previous release during a rolling update) under the old decoding are not
// served. "srgb": embedded ICC profiles are converted to sRGB on decode.
const pixelsRevision = "srgb"

// renderKey names a render by everything it depends on.
func renderKey(st *State, size, format string, quality, edge int) (string, error) {
	ops, err := json.Marshal(st.Applied())
	if err != nil {
		return "", fmt.Errorf("encoding edits: %w", err)
	}
	if quality != DefaultQuality {
		// Only a non-default quality changes the key, so the renders cached
		// before quality could be chosen stay valid.
		format += "@q" + strconv.Itoa(quality)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(st.Original.Digest), ops, []byte(size), []byte(format), []byte(strconv.Itoa(edge)), []byte(pixelsRevision)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// proxyCache keeps the last few decoded preview proxies of originals on
// this replica: every edit re-renders the preview, and decoding a 12 MP
// original each time would cost far more than the edit.
type proxyCache struct {
	mu    sync.Mutex
	max   int
	order []string
	items map[string]proxy
}

type proxy struct {
	img  *image.NRGBA
	full image.Point
}

func newProxyCache(max int) *proxyCache { return &proxyCache{max: max, items: map[string]proxy{}} }

func (c *proxyCache) get(d string) (*image.NRGBA, image.Point, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.items[d]
	return p.img, p.full, ok
}

func (c *proxyCache) put(d string, img *image.NRGBA, full image.Point) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[d]; ok {
		return
	}
	c.items[d] = proxy{img: img, full: full}
	c.order = append(c.order, d)
	if len(c.order) > c.max {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}
