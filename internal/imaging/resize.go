package imaging

import (
	"context"
	"image"
	"math"
)

// The resampling filter is Catmull-Rom (a sharp cubic with a support of 2,
// close to Lanczos-2 in quality and cheaper than Lanczos-3), widened by the
// scale factor when shrinking so it also acts as the anti-aliasing low-pass. Weights are
// precomputed per output coordinate as 14-bit fixed point that sums to
// exactly one, so flat areas stay exactly flat.
const (
	support     = 2
	weightBits  = 14
	weightOne   = 1 << weightBits
	weightRound = 1 << (weightBits - 1)
)

// kernel holds, for each output coordinate, the first source coordinate and
// the weights of the source coordinates from there on.
type kernel struct {
	start []int
	taps  int
	w     []int32 // len(start)×taps, zero-padded
}

// catmullRom is the cubic convolution kernel with B = 0, C = 1/2.
func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

// newKernel builds the weights that map sn source samples onto dn.
func newKernel(sn, dn int) kernel {
	scale := float64(sn) / float64(dn)
	fscale := math.Max(scale, 1)
	reach := support * fscale
	taps := min(sn, int(math.Ceil(reach))*2+1)
	k := kernel{start: make([]int, dn), taps: taps, w: make([]int32, dn*taps)}
	tmp := make([]float64, taps)
	for i := range dn {
		center := (float64(i)+0.5)*scale - 0.5
		lo := max(0, int(math.Ceil(center-reach)))
		hi := min(sn-1, int(math.Floor(center+reach)))
		if hi-lo+1 > taps { // keep the taps nearest the centre
			lo = max(0, min(sn-taps, int(math.Round(center))-taps/2))
			hi = lo + taps - 1
		}
		sum := 0.0
		for j := lo; j <= hi; j++ {
			tmp[j-lo] = catmullRom((float64(j) - center) / fscale)
			sum += tmp[j-lo]
		}
		if sum == 0 { // cannot happen with this kernel, but never divide by it
			tmp[0], sum = 1, 1
		}
		// Shift windows at the right edge left, with leading zero weights,
		// so every window has taps samples and the loops need no checks.
		start := min(lo, sn-taps)
		ws := k.w[i*taps : (i+1)*taps][lo-start:]
		total, best := int32(0), 0
		for j := 0; j <= hi-lo; j++ {
			ws[j] = int32(math.Round(tmp[j] / sum * weightOne))
			total += ws[j]
			if ws[j] > ws[best] {
				best = j
			}
		}
		ws[best] += weightOne - total
		k.start[i] = start
	}
	return k
}

// resample resizes src to exactly dw×dh with a separable Catmull-Rom filter,
// running the cheaper of the two pass orders. Transparent images are
// filtered premultiplied, so colour does not bleed out of invisible pixels.
func resample(ctx context.Context, src *image.NRGBA, dw, dh int) (*image.NRGBA, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if dw == w && dh == h {
		return crop(ctx, src, rect{0, 0, w, h})
	}
	kx, ky := newKernel(w, dw), newKernel(h, dh)
	opaque := isOpaque(src)
	img := src
	if !opaque {
		var err error
		if img, err = premultiplied(ctx, src); err != nil {
			return nil, err
		}
	}
	// A horizontal tap costs about twice a vertical one (the vertical
	// pass is a plain multiply-add over whole rows), so weigh it double.
	hFirst := 2*int64(h)*int64(dw)*int64(kx.taps)+int64(dw)*int64(dh)*int64(ky.taps) <=
		int64(w)*int64(dh)*int64(ky.taps)+2*int64(dw)*int64(dh)*int64(kx.taps)
	var err error
	if hFirst {
		if dw != w {
			if img, err = resampleH(ctx, img, kx, dw); err != nil {
				return nil, err
			}
		}
		if dh != h {
			img, err = resampleV(ctx, img, ky, dh)
		}
	} else {
		if dh != h {
			if img, err = resampleV(ctx, img, ky, dh); err != nil {
				return nil, err
			}
		}
		if dw != w {
			img, err = resampleH(ctx, img, kx, dw)
		}
	}
	if err != nil {
		return nil, err
	}
	if !opaque {
		err = unpremultiplyInPlace(ctx, img)
	}
	return img, err
}

func resampleH(ctx context.Context, src *image.NRGBA, k kernel, dw int) (*image.NRGBA, error) {
	h := src.Rect.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, dw, h))
	err := parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:4*src.Rect.Dx()]
			d := dst.Pix[y*dst.Stride:][:4*dw]
			for x := range dw {
				ws := k.w[x*k.taps : (x+1)*k.taps]
				p := s[4*k.start[x]:][:4*len(ws)]
				var r, g, b, a int32
				for j, wt := range ws {
					q := p[4*j : 4*j+4 : 4*j+4]
					r += wt * int32(q[0])
					g += wt * int32(q[1])
					b += wt * int32(q[2])
					a += wt * int32(q[3])
				}
				o := d[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = fix8(r), fix8(g), fix8(b), fix8(a)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

func resampleV(ctx context.Context, src *image.NRGBA, k kernel, dh int) (*image.NRGBA, error) {
	w := src.Rect.Dx()
	dst := image.NewNRGBA(image.Rect(0, 0, w, dh))
	err := parallel(ctx, dh, func(lo, hi int) {
		acc := make([]int32, 4*w)
		for y := lo; y < hi; y++ {
			clear(acc)
			for j, wt := range k.w[y*k.taps : (y+1)*k.taps] {
				sy := k.start[y] + j
				if wt == 0 {
					continue
				}
				s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+sy):][:len(acc)]
				for i, v := range s {
					acc[i] += wt * int32(v)
				}
			}
			d := dst.Pix[y*dst.Stride:][:len(acc)]
			for i, v := range acc {
				d[i] = fix8(v)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// fix8 converts a 14-bit fixed-point sum to a byte, rounding and saturating
// (the kernel's negative lobes can overshoot).
func fix8(v int32) uint8 {
	v = (v + weightRound) >> weightBits
	return uint8(min(max(v, 0), 255))
}

// Preview returns img scaled down so that its longer side is at most
// maxEdge pixels, for the editor's proxy. An image that already fits is
// returned as is (not copied).
func Preview(ctx context.Context, img *image.NRGBA, maxEdge int) (*image.NRGBA, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if maxEdge <= 0 || (w <= maxEdge && h <= maxEdge) {
		return img, nil
	}
	dw, dh := resizeSize(w, h, maxEdge, maxEdge, FitContain)
	return resample(ctx, img, dw, dh)
}

// resize implements the resize op.
func resize(ctx context.Context, img *image.NRGBA, o Op) (*image.NRGBA, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if o.Fit != FitCover || o.Width == 0 || o.Height == 0 {
		dw, dh := resizeSize(w, h, o.Width, o.Height, o.Fit)
		return resample(ctx, img, dw, dh)
	}
	// Cover: scale so both sides reach the box, then crop the centre.
	s := math.Max(float64(o.Width)/float64(w), float64(o.Height)/float64(h))
	sw := max(o.Width, int(math.Round(float64(w)*s)))
	sh := max(o.Height, int(math.Round(float64(h)*s)))
	scaled, err := resample(ctx, img, sw, sh)
	if err != nil {
		return nil, err
	}
	x, y := (sw-o.Width)/2, (sh-o.Height)/2
	return crop(ctx, scaled, rect{x, y, x + o.Width, y + o.Height})
}
