package imaging

import (
	"context"
	"image"
	"math"
)

// dihedral applies one of the eight lossless flips/rotations, numbered as
// EXIF orientations: 1 identity, 2 flip horizontal, 3 rotate 180°,
// 4 flip vertical, 5 transpose, 6 rotate 90° clockwise, 7 transverse,
// 8 rotate 90° counter-clockwise. Every destination pixel is copied from
// one source pixel, so no quality is lost.
func dihedral(ctx context.Context, src *image.NRGBA, o int) (*image.NRGBA, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	// The source of destination (x, y) is (ax+bx·x+cx·y, ay+by·x+cy·y).
	var ax, bx, cx, ay, by, cy int
	switch o {
	case 1:
		bx, cy = 1, 1
	case 2:
		ax, bx, cy = w-1, -1, 1
	case 3:
		ax, bx, ay, cy = w-1, -1, h-1, -1
	case 4:
		bx, ay, cy = 1, h-1, -1
	case 5:
		cx, by = 1, 1
	case 6:
		cx, ay, by = 1, h-1, -1
	case 7:
		ax, cx, ay, by = w-1, -1, h-1, -1
	case 8:
		ax, cx, by = w-1, -1, 1
	default:
		return src, nil
	}
	s := src.Stride
	base := src.PixOffset(src.Rect.Min.X+ax, src.Rect.Min.Y+ay)
	stepX, stepY := 4*bx+s*by, 4*cx+s*cy
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	err := parallel(ctx, dh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			si := base + y*stepY
			d := dst.Pix[y*dst.Stride:][:4*dw]
			for x := 0; x < len(d); x += 4 {
				*(*[4]uint8)(d[x : x+4]) = [4]uint8(src.Pix[si : si+4])
				si += stepX
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// crop copies the rectangle r out of src.
func crop(ctx context.Context, src *image.NRGBA, r rect) (*image.NRGBA, error) {
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	err := parallel(ctx, r.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			i := src.PixOffset(src.Rect.Min.X+r.x0, src.Rect.Min.Y+r.y0+y)
			copy(dst.Pix[y*dst.Stride:][:4*r.Dx()], src.Pix[i:])
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// rotateAny rotates src clockwise by deg degrees about its centre, onto a
// canvas just large enough to hold it, with bilinear sampling. Canvas
// corners take the fill colour (NRGBA; transparent when fill is zero), and
// the rotated edges are anti-aliased against it.
func rotateAny(ctx context.Context, src *image.NRGBA, deg float64, fill [4]uint8) (*image.NRGBA, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := rotatedSize(w, h, deg)
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	sin, cos := math.Sincos(deg * math.Pi / 180)
	// Premultiplied fill, for blending in premultiplied space.
	fa := float64(fill[3]) / 255
	pf := [4]float64{float64(fill[0]) * fa, float64(fill[1]) * fa, float64(fill[2]) * fa, float64(fill[3])}
	scx, scy := float64(w)/2, float64(h)/2
	dcx, dcy := float64(dw)/2, float64(dh)/2
	sample := func(x, y int) [4]float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return pf
		}
		p := src.Pix[src.PixOffset(src.Rect.Min.X+x, src.Rect.Min.Y+y):]
		a := float64(p[3]) / 255
		return [4]float64{float64(p[0]) * a, float64(p[1]) * a, float64(p[2]) * a, float64(p[3])}
	}
	err := parallel(ctx, dh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			d := dst.Pix[y*dst.Stride:][:4*dw]
			// Inverse mapping of the row's first pixel centre; stepping x
			// by one moves the source point by (cos, -sin).
			dx0, dy := 0.5-dcx, float64(y)+0.5-dcy
			rsx := dx0*cos + dy*sin + scx - 0.5
			rsy := -dx0*sin + dy*cos + scy - 0.5
			for x := range dw {
				sx, sy := rsx+float64(x)*cos, rsy-float64(x)*sin
				// Fast path: all four neighbours inside an opaque area,
				// bilinear in 8-bit fixed point.
				if sx >= 0 && sy >= 0 && sx < float64(w-1) && sy < float64(h-1) {
					x0, y0 := int(sx), int(sy)
					i := src.PixOffset(src.Rect.Min.X+x0, src.Rect.Min.Y+y0)
					p0, p1 := src.Pix[i:i+8:i+8], src.Pix[i+src.Stride:i+src.Stride+8:i+src.Stride+8]
					if p0[3]&p0[7]&p1[3]&p1[7] == 255 {
						fx, fy := uint32((sx-float64(x0))*256), uint32((sy-float64(y0))*256)
						w00, w10 := (256-fx)*(256-fy), fx*(256-fy)
						w01, w11 := (256-fx)*fy, fx*fy
						o := d[4*x : 4*x+4 : 4*x+4]
						for c := range 3 {
							o[c] = uint8((uint32(p0[c])*w00 + uint32(p0[4+c])*w10 + uint32(p1[c])*w01 + uint32(p1[4+c])*w11 + 1<<15) >> 16)
						}
						o[3] = 255
						continue
					}
				}
				if sx < -1 || sy < -1 || sx > float64(w) || sy > float64(h) {
					*(*[4]uint8)(d[4*x : 4*x+4]) = fill
					continue
				}
				x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
				fx, fy := sx-float64(x0), sy-float64(y0)
				p00, p10 := sample(x0, y0), sample(x0+1, y0)
				p01, p11 := sample(x0, y0+1), sample(x0+1, y0+1)
				var c [4]float64
				for i := range c {
					top := p00[i] + (p10[i]-p00[i])*fx
					bot := p01[i] + (p11[i]-p01[i])*fx
					c[i] = top + (bot-top)*fy
				}
				if c[3] < 0.5 {
					d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = 0, 0, 0, 0
					continue
				}
				inv := 255 / c[3]
				d[4*x] = clamp8(c[0] * inv)
				d[4*x+1] = clamp8(c[1] * inv)
				d[4*x+2] = clamp8(c[2] * inv)
				d[4*x+3] = clamp8(c[3])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// clamp8 rounds v to the nearest byte value, saturating (NaN gives 0).
func clamp8(v float64) uint8 {
	switch {
	case v >= 254.5:
		return 255
	case v > 0:
		return uint8(v + 0.5)
	}
	return 0
}
