package compose

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/easelhq/easel/internal/imaging"
)

// overlay places the asset on the image at the requested centre, width
// (relative to the image's width), opacity and blend mode.
func overlay(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	r := in.Request
	base := normalized(in.Image)
	src, err := asset(in, r.Asset)
	if err != nil {
		return nil, err
	}
	W, H := base.Rect.Dx(), base.Rect.Dy()
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	tw := max(1, int(math.Round(r.Scale*float64(W))))
	th := max(1, int(math.Round(float64(tw)*float64(sh)/float64(sw))))
	if tw > imaging.MaxEdge || th > imaging.MaxEdge || int64(tw)*int64(th) > imaging.MaxResultPixels {
		return nil, &Failure{Message: fmt.Sprintf("At scale %g the overlay would be %d×%d pixels, more than allowed; choose a smaller scale.", r.Scale, tw, th)}
	}
	ov := src
	if tw != sw || th != sh {
		ov, err = imaging.Op{Op: imaging.OpResize, Width: tw, Height: th, Fit: imaging.FitFill}.Apply(ctx, src)
		if err != nil {
			return nil, &Failure{Message: "The overlay could not be scaled.", Err: err}
		}
	}
	ov = normalized(ov)
	report(progress, 0.4)
	out := image.NewNRGBA(base.Rect)
	copy(out.Pix, base.Pix)
	x0 := int(math.Round(r.X*float64(W) - float64(tw)/2))
	y0 := int(math.Round(r.Y*float64(H) - float64(th)/2))
	area := image.Rect(x0, y0, x0+tw, y0+th).Intersect(out.Rect)
	if area.Empty() {
		return out, nil
	}
	blend := blendFunc(r.Blend)
	err = bands(ctx, area.Dy(), func(lo, hi int) {
		for y := area.Min.Y + lo; y < area.Min.Y+hi; y++ {
			for x := area.Min.X; x < area.Max.X; x++ {
				d := out.Pix[y*out.Stride+4*x:][:4:4]
				s := ov.Pix[(y-y0)*ov.Stride+4*(x-x0):][:4:4]
				blendPixel(d, s, r.Opacity, blend)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// blendFunc returns the separable blend function B(cb, cs) of a mode, on
// channel values in 0…1 (W3C Compositing and Blending Level 1).
func blendFunc(mode string) func(cb, cs float64) float64 {
	switch mode {
	case BlendMultiply:
		return func(cb, cs float64) float64 { return cb * cs }
	case BlendScreen:
		return func(cb, cs float64) float64 { return cb + cs - cb*cs }
	case BlendOverlay:
		return func(cb, cs float64) float64 {
			if cb <= 0.5 {
				return 2 * cb * cs
			}
			return 1 - 2*(1-cb)*(1-cs)
		}
	default:
		return func(_, cs float64) float64 { return cs }
	}
}

// blendPixel composites source pixel s (its alpha scaled by opacity) onto
// backdrop d in place: the blended colour where both are opaque, the source
// where the backdrop is transparent, then source-over.
func blendPixel(d, s []uint8, opacity float64, blend func(cb, cs float64) float64) {
	as := float64(s[3]) / 255 * opacity
	if as <= 0 {
		return
	}
	ab := float64(d[3]) / 255
	ao := as + ab*(1-as)
	for c := range 3 {
		cb, cs := float64(d[c])/255, float64(s[c])/255
		mixed := (1-ab)*cs + ab*blend(cb, cs)
		v := (as*mixed + (1-as)*ab*cb) / ao
		d[c] = uint8(math.Round(min(max(v, 0), 1) * 255))
	}
	d[3] = uint8(math.Round(ao * 255))
}
