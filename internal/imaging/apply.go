package imaging

import (
	"context"
	"fmt"
	"image"
	"math"
)

// Apply validates the op against img's size and returns the edited image.
// img is never modified; the result is a new image. Apply rejects
// composite ops with [CodeUnresolved]: they need [ReplayOptions.Resolve].
func (o Op) Apply(ctx context.Context, img *image.NRGBA) (*image.NRGBA, error) {
	return ReplayOptions{}.apply(ctx, img, o, false)
}

// Resolver fetches the image a composite op refers to, by the SHA-256
// digest in [Op.Result].
type Resolver func(ctx context.Context, digest string) (*image.NRGBA, error)

// ReplayOptions configures [ReplayOptions.Replay].
type ReplayOptions struct {
	// Resolve supplies composite results. Without it, replaying a
	// composite op fails with [CodeUnresolved].
	Resolve Resolver
	// Original is the size of the full-resolution image the edit list was
	// recorded against. When set and img is smaller (a preview proxy), the
	// ops' pixel parameters (crop rectangles, resize targets, blur and
	// sharpen radii, composite sizes) are scaled to the proxy, so that the
	// preview shows what the full-resolution export will be. Zero means
	// img is the original.
	Original image.Point
}

// Replay applies ops in order to img with default options; see
// [ReplayOptions.Replay].
func Replay(ctx context.Context, img *image.NRGBA, ops []Op) (*image.NRGBA, error) {
	return ReplayOptions{}.Replay(ctx, img, ops)
}

// Replay applies ops in order to img and returns the result. img is never
// modified (it may be returned as is when ops is empty). Each op is
// validated against the size before it; a failure is returned wrapped with
// the op's position, with any *[Error] reachable through errors.As.
// Intermediate images that Replay made itself are edited in place where an
// op allows it, which keeps peak memory near two images.
func (r ReplayOptions) Replay(ctx context.Context, img *image.NRGBA, ops []Op) (*image.NRGBA, error) {
	fw, fh := img.Rect.Dx(), img.Rect.Dy()
	if r.Original.X > 0 && r.Original.Y > 0 {
		fw, fh = r.Original.X, r.Original.Y
	}
	owned := false
	for i, o := range ops {
		if err := o.Validate(fw, fh); err != nil {
			return nil, fmt.Errorf("edit %d (%s): %w", i+1, o, err)
		}
		pw, ph := img.Rect.Dx(), img.Rect.Dy()
		po := o
		if pw != fw || ph != fh {
			po = o.scaled(fw, fh, pw, ph)
		}
		next, err := r.apply(ctx, img, po, owned)
		if err != nil {
			return nil, fmt.Errorf("edit %d (%s): %w", i+1, o, err)
		}
		owned = owned || next != img
		img = next
		fw, fh = o.Bounds(fw, fh)
	}
	return img, nil
}

// scaled maps an op recorded against a fw×fh image onto a pw×ph proxy.
func (o Op) scaled(fw, fh, pw, ph int) Op {
	kx, ky := float64(pw)/float64(fw), float64(ph)/float64(fh)
	k := math.Sqrt(kx * ky)
	px := func(v int, s float64) int { return int(math.Round(float64(v) * s)) }
	switch o.Op {
	case OpCrop:
		if o.Aspect != "" {
			return o
		}
		x0, y0 := min(px(o.X, kx), pw-1), min(px(o.Y, ky), ph-1)
		x1, y1 := min(px(o.X+o.Width, kx), pw), min(px(o.Y+o.Height, ky), ph)
		o.X, o.Y, o.Width, o.Height = x0, y0, max(1, x1-x0), max(1, y1-y0)
	case OpResize:
		if ow, oh := o.Bounds(fw, fh); ow <= pw && oh <= ph {
			return o // the proxy has enough pixels to make the exact result
		}
		if o.Width != 0 {
			o.Width = max(1, px(o.Width, kx))
		}
		if o.Height != 0 {
			o.Height = max(1, px(o.Height, ky))
		}
	case OpBlur:
		o.Sigma = math.Max(o.Sigma*k, 0.05)
	case OpSharpen:
		o.Radius = math.Max(o.Radius*k, 0.05)
	case OpComposite:
		o.Width, o.Height = max(1, px(o.Width, kx)), max(1, px(o.Height, ky))
	}
	return o
}

// apply runs one op. When owned is true img belongs to the caller's replay
// and per-pixel ops may overwrite it instead of allocating.
func (r ReplayOptions) apply(ctx context.Context, img *image.NRGBA, o Op, owned bool) (*image.NRGBA, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if err := o.Validate(w, h); err != nil {
		return nil, err
	}
	var dst *image.NRGBA
	if owned {
		dst = img
	}
	alloc := func() *image.NRGBA {
		if dst == nil {
			dst = image.NewNRGBA(image.Rect(0, 0, w, h))
		}
		return dst
	}
	switch o.Op {
	case OpCrop:
		rc := rect{o.X, o.Y, o.X + o.Width, o.Y + o.Height}
		if o.Aspect != "" {
			rc = aspectRect(w, h, o.Aspect)
		}
		return crop(ctx, img, rc)
	case OpResize:
		return resize(ctx, img, o)
	case OpRotate:
		if q, ok := rightAngle(o.Angle); ok {
			return dihedral(ctx, img, [4]int{1, 6, 3, 8}[q])
		}
		fill, _ := parseHexColor(o.Fill) // transparent when unset
		return rotateAny(ctx, img, o.Angle, fill)
	case OpFlip:
		if o.Direction == FlipHorizontal {
			return dihedral(ctx, img, 2)
		}
		return dihedral(ctx, img, 4)
	case OpBrightness, OpContrast, OpGamma, OpInvert:
		return alloc(), applyLUT(ctx, img, alloc(), lutFor(o))
	case OpSaturation, OpHue, OpGrayscale, OpSepia:
		return alloc(), applyMatrix(ctx, img, alloc(), matrixFor(o))
	case OpBlur:
		return blur(ctx, img, dst, o.Sigma)
	case OpSharpen:
		return sharpen(ctx, img, dst, o.Amount, o.Radius)
	case OpComposite:
		return r.composite(ctx, o)
	}
	return nil, invalidOp("op", "unknown op %q", o.Op)
}

func (r ReplayOptions) composite(ctx context.Context, o Op) (*image.NRGBA, error) {
	if r.Resolve == nil {
		return nil, &Error{Code: CodeUnresolved, Field: "result",
			Message: "the composite result is not available here; render the edit list through the workspace"}
	}
	res, err := r.Resolve(ctx, o.Result)
	if err != nil {
		return nil, &Error{Code: CodeUnresolved, Field: "result", Message: "the composite result could not be loaded", Err: err}
	}
	if res == nil {
		return nil, &Error{Code: CodeUnresolved, Field: "result", Message: "the composite result could not be loaded"}
	}
	if res.Rect.Dx() == o.Width && res.Rect.Dy() == o.Height {
		return crop(ctx, res, rect{0, 0, o.Width, o.Height}) // a private copy: the resolver may cache res
	}
	return resample(ctx, res, o.Width, o.Height)
}
