package compose

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"sync"
	"sync/atomic"
)

// Builtin is the pure-Go compositor: background replacement and overlay.
// It is deterministic: the same input always gives the same pixels, which
// lets a job whose replica died be re-run from scratch elsewhere.
type Builtin struct{}

// Compose implements Compositor for the replace-background and overlay modes.
func (Builtin) Compose(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	if in.Image == nil || in.Image.Rect.Empty() {
		return nil, &Failure{Message: "There is no image to composite."}
	}
	report(progress, 0)
	var (
		out *image.NRGBA
		err error
	)
	switch in.Request.Mode {
	case ModeReplaceBackground:
		out, err = replaceBackground(ctx, in, progress)
	case ModeOverlay:
		out, err = overlay(ctx, in, progress)
	default:
		return nil, &Failure{Message: fmt.Sprintf("The built-in compositor cannot do %q; configure an AI backend for that.", in.Request.Mode)}
	}
	if err != nil {
		return nil, err
	}
	report(progress, 1)
	return out, nil
}

// asset returns the decoded asset d or a Failure saying it is missing.
func asset(in Input, d string) (*image.NRGBA, error) {
	img := in.Assets[d]
	if img == nil || img.Rect.Empty() {
		return nil, &Failure{Message: "The uploaded image this composite uses has expired; upload it again."}
	}
	return img, nil
}

// normalized returns img with its bounds starting at 0,0 (no copy when they
// already do).
func normalized(img *image.NRGBA) *image.NRGBA {
	if img.Rect.Min == (image.Point{}) {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		copy(out.Pix[y*out.Stride:][:4*w], img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w])
	}
	return out
}

// bands calls fn for consecutive row bands [lo, hi) of [0, n) on
// GOMAXPROCS goroutines, like imaging's pixel loops, and checks ctx before
// each band.
func bands(ctx context.Context, n int, fn func(lo, hi int)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	band := max(16, (n+workers*4-1)/(workers*4))
	count := (n + band - 1) / band
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, count) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				fn(i*band, min(i*band+band, n))
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}
