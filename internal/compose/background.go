package compose

import (
	"context"
	"image"
	"image/color"
	"math"

	"github.com/easelhq/easel/internal/imaging"
)

// maxDistance is the largest Euclidean distance between two RGB colours.
var maxDistance = math.Sqrt(3 * 255 * 255)

// replaceBackground cuts the subject out of a plain background and places
// it on the requested one.
func replaceBackground(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	img := normalized(in.Image)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	mask := subjectMask(img, in.Request.Tolerance)
	report(progress, 0.3)
	if err := feather(ctx, mask, w, h, in.Request.Feather); err != nil {
		return nil, err
	}
	report(progress, 0.5)
	bg, err := background(ctx, in, w, h)
	if err != nil {
		return nil, err
	}
	report(progress, 0.7)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	err = bands(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			for x := range w {
				i := y*img.Stride + 4*x
				s, b := img.Pix[i:i+4:i+4], bg.Pix[y*bg.Stride+4*x:][:4:4]
				as := float64(s[3]) / 255 * float64(mask[y*w+x])
				over(out.Pix[y*out.Stride+4*x:][:4:4], s, as, b, float64(b[3])/255)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// over writes to dst the colour s (straight alpha as) over b (alpha ab).
func over(dst, s []uint8, as float64, b []uint8, ab float64) {
	ao := as + ab*(1-as)
	if ao <= 0 {
		dst[0], dst[1], dst[2], dst[3] = 0, 0, 0, 0
		return
	}
	for c := range 3 {
		v := (float64(s[c])*as + float64(b[c])*ab*(1-as)) / ao
		dst[c] = uint8(math.Round(min(max(v, 0), 255)))
	}
	dst[3] = uint8(math.Round(ao * 255))
}

// subjectMask returns, per pixel, 1 for the subject and 0 for background:
// background is what a flood fill reaches from the border through pixels
// within tolerance of the border's typical colour (the per-channel median
// of the opaque border pixels) or nearly transparent.
func subjectMask(img *image.NRGBA, tolerance float64) []float32 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	ref := borderMedian(img)
	limit := tolerance * maxDistance
	limit2 := limit * limit
	isBackground := func(i int) bool {
		p := img.Pix[(i/w)*img.Stride+4*(i%w):][:4:4]
		if p[3] < 16 {
			return true
		}
		dr, dg, db := float64(p[0])-float64(ref.R), float64(p[1])-float64(ref.G), float64(p[2])-float64(ref.B)
		return dr*dr+dg*dg+db*db <= limit2
	}
	mask := make([]float32, w*h)
	for i := range mask {
		mask[i] = 1
	}
	var queue []int
	visit := func(i int) {
		if mask[i] == 1 && isBackground(i) {
			mask[i] = 0
			queue = append(queue, i)
		}
	}
	for x := range w {
		visit(x)
		visit((h-1)*w + x)
	}
	for y := range h {
		visit(y * w)
		visit(y*w + w - 1)
	}
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		x, y := i%w, i/w
		if x > 0 {
			visit(i - 1)
		}
		if x < w-1 {
			visit(i + 1)
		}
		if y > 0 {
			visit(i - w)
		}
		if y < h-1 {
			visit(i + w)
		}
	}
	return mask
}

// borderMedian returns the per-channel median of img's opaque border pixels
// (white when there are none).
func borderMedian(img *image.NRGBA) color.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var hist [3][256]int
	n := 0
	add := func(x, y int) {
		p := img.Pix[y*img.Stride+4*x:][:4:4]
		if p[3] < 128 {
			return
		}
		for c := range 3 {
			hist[c][p[c]]++
		}
		n++
	}
	for x := range w {
		add(x, 0)
		add(x, h-1)
	}
	for y := 1; y < h-1; y++ {
		add(0, y)
		add(w-1, y)
	}
	if n == 0 {
		return color.NRGBA{255, 255, 255, 255}
	}
	var med [3]uint8
	for c := range 3 {
		seen := 0
		for v := range 256 {
			seen += hist[c][v]
			if 2*seen >= n {
				med[c] = uint8(v)
				break
			}
		}
	}
	return color.NRGBA{med[0], med[1], med[2], 255}
}

// background renders the requested background at w×h.
func background(ctx context.Context, in Input, w, h int) (*image.NRGBA, error) {
	bg := in.Request.Background
	switch {
	case bg == nil:
		return nil, &Failure{Message: "The request has no background."}
	case bg.Asset != "":
		src, err := asset(in, bg.Asset)
		if err != nil {
			return nil, err
		}
		out, err := imaging.Op{Op: imaging.OpResize, Width: w, Height: h, Fit: imaging.FitCover}.Apply(ctx, src)
		if err != nil {
			return nil, &Failure{Message: "The background image could not be scaled to this image's size.", Err: err}
		}
		return normalized(out), nil
	case bg.Gradient != nil:
		if len(bg.Gradient) != 2 {
			return nil, &Failure{Message: "A gradient needs two colours."}
		}
		top, err := ParseColor(bg.Gradient[0])
		if err != nil {
			return nil, &Failure{Message: "The gradient's first colour is not valid.", Err: err}
		}
		bottom, err := ParseColor(bg.Gradient[1])
		if err != nil {
			return nil, &Failure{Message: "The gradient's second colour is not valid.", Err: err}
		}
		return gradient(ctx, w, h, top, bottom)
	default:
		c, err := ParseColor(bg.Color)
		if err != nil {
			return nil, &Failure{Message: "The background colour is not valid.", Err: err}
		}
		return gradient(ctx, w, h, c, c)
	}
}

// gradient fills a w×h image from top (first row) to bottom (last row).
func gradient(ctx context.Context, w, h int, top, bottom color.NRGBA) (*image.NRGBA, error) {
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	lerp := func(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	err := bands(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			t := 0.0
			if h > 1 {
				t = float64(y) / float64(h-1)
			}
			px := [4]uint8{lerp(top.R, bottom.R, t), lerp(top.G, bottom.G, t), lerp(top.B, bottom.B, t), lerp(top.A, bottom.A, t)}
			row := out.Pix[y*out.Stride:][:4*w]
			for i := 0; i < len(row); i += 4 {
				copy(row[i:i+4], px[:])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
