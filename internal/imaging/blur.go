package imaging

import (
	"context"
	"image"
	"math"
)

// Gaussian blur is separable: a horizontal pass over rows, then a vertical
// pass over strips of columns, both in float32 with edges replicated.
// Small sigmas use an exact sampled Gaussian; from boxSigma up, three
// successive box filters whose widths match the Gaussian's variance
// (W. M. Wells, 1986) cost O(1) per pixel whatever the sigma, so sigma 50
// is as fast as sigma 3.
const (
	boxSigma   = 1.0
	stripWidth = 16 // columns per vertical strip: 64 bytes of one row
)

// lineFilter is a 1-D blur: an exact kernel or a cascade of boxes.
type lineFilter struct {
	gauss []float32 // odd-length normalised kernel, or nil
	boxes []int     // box radii, or nil
	reach int       // the largest radius, for padding
}

func newLineFilter(sigma float64) lineFilter {
	if sigma < boxSigma {
		r := max(1, int(math.Ceil(3*sigma)))
		k := make([]float32, 2*r+1)
		var sum float64
		for i := range k {
			d := float64(i - r)
			sum += math.Exp(-d * d / (2 * sigma * sigma))
		}
		for i := range k {
			d := float64(i - r)
			k[i] = float32(math.Exp(-d*d/(2*sigma*sigma)) / sum)
		}
		return lineFilter{gauss: k, reach: r}
	}
	const n = 3
	wIdeal := math.Sqrt(12*sigma*sigma/n + 1)
	wl := int(math.Floor(wIdeal))
	if wl%2 == 0 {
		wl--
	}
	wu := wl + 2
	m := int(math.Round((12*sigma*sigma - n*float64(wl*wl) - 4*n*float64(wl) - 3*n) / float64(-4*wl-4)))
	f := lineFilter{}
	for i := range n {
		wd := wu
		if i < m {
			wd = wl
		}
		f.boxes = append(f.boxes, wd/2)
		f.reach = max(f.reach, wd/2)
	}
	return f
}

// apply4 filters a row of interleaved 4-channel pixels in place; tmp is
// scratch at least len(row)+8·reach long.
func (f lineFilter) apply4(row, tmp []float32) {
	n := len(row) / 4
	pad4 := func(r int) []float32 {
		p := tmp[:len(row)+8*r]
		for i := range r {
			copy(p[4*i:4*i+4], row[:4])
			copy(p[4*(r+n+i):4*(r+n+i)+4], row[len(row)-4:])
		}
		copy(p[4*r:], row)
		return p
	}
	if f.gauss != nil {
		p := pad4(len(f.gauss) / 2)
		for x := 0; x < len(row); x += 4 {
			var s0, s1, s2, s3 float32
			q := p[x : x+4*len(f.gauss)]
			for k, wt := range f.gauss {
				v := q[4*k : 4*k+4 : 4*k+4]
				s0 += wt * v[0]
				s1 += wt * v[1]
				s2 += wt * v[2]
				s3 += wt * v[3]
			}
			o := row[x : x+4 : x+4]
			o[0], o[1], o[2], o[3] = s0, s1, s2, s3
		}
		return
	}
	for _, r := range f.boxes {
		p := pad4(r)
		inv := 1 / float32(2*r+1)
		var s0, s1, s2, s3 float32
		for i := 0; i < 4*(2*r+1); i += 4 {
			s0, s1, s2, s3 = s0+p[i], s1+p[i+1], s2+p[i+2], s3+p[i+3]
		}
		row[0], row[1], row[2], row[3] = s0*inv, s1*inv, s2*inv, s3*inv
		span := 4 * (2*r + 1)
		for x := 4; x < len(row); x += 4 {
			add := p[x+span-4 : x+span : x+span]
			sub := p[x-4 : x : x]
			s0 += add[0] - sub[0]
			s1 += add[1] - sub[1]
			s2 += add[2] - sub[2]
			s3 += add[3] - sub[3]
			o := row[x : x+4 : x+4]
			o[0], o[1], o[2], o[3] = s0*inv, s1*inv, s2*inv, s3*inv
		}
	}
}

// applyStrip filters, along y, a strip of h rows of m values stored row
// by row, in place; tmp is scratch of at least (h+2·reach)·m.
func (f lineFilter) applyStrip(strip, tmp []float32, m int) {
	h := len(strip) / m
	padRows := func(r int) []float32 {
		p := tmp[:(h+2*r)*m]
		for i := range r {
			copy(p[i*m:(i+1)*m], strip[:m])
			copy(p[(r+h+i)*m:(r+h+i+1)*m], strip[(h-1)*m:])
		}
		copy(p[r*m:], strip)
		return p
	}
	if f.gauss != nil {
		p := padRows(len(f.gauss) / 2)
		clear(strip)
		for y := range h {
			out := strip[y*m : (y+1)*m]
			for k, wt := range f.gauss {
				for j, v := range p[(y+k)*m : (y+k+1)*m] {
					out[j] += wt * v
				}
			}
		}
		return
	}
	acc := make([]float32, m)
	for _, r := range f.boxes {
		p := padRows(r)
		inv := 1 / float32(2*r+1)
		clear(acc)
		for k := 0; k <= 2*r; k++ {
			for j, v := range p[k*m : (k+1)*m] {
				acc[j] += v
			}
		}
		for j, v := range acc {
			strip[j] = v * inv
		}
		for y := 1; y < h; y++ {
			add, sub := p[(y+2*r)*m:(y+2*r+1)*m], p[(y-1)*m:y*m]
			out := strip[y*m : (y+1)*m]
			for j := range acc {
				acc[j] += add[j] - sub[j]
				out[j] = acc[j] * inv
			}
		}
	}
}

// blur returns src blurred by a Gaussian of the given sigma (pixels),
// writing into dst (which may be src, or nil for a new image).
func blur(ctx context.Context, src, dst *image.NRGBA, sigma float64) (*image.NRGBA, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	opaque := isOpaque(src)
	in := src
	if !opaque {
		var err error
		if in, err = premultiplied(ctx, src); err != nil {
			return nil, err
		}
		dst = in // a private copy: filter it in place
	}
	if dst == nil {
		dst = image.NewNRGBA(image.Rect(0, 0, w, h))
	}
	f := newLineFilter(sigma)
	// Horizontal: one row at a time, in → dst. Alpha of opaque images
	// stays 255 through the filters, since the weights sum to one.
	err := parallel(ctx, h, func(lo, hi int) {
		line := make([]float32, 4*w)
		tmp := make([]float32, 4*w+8*f.reach)
		for y := lo; y < hi; y++ {
			s := in.Pix[in.PixOffset(in.Rect.Min.X, in.Rect.Min.Y+y):][:4*w]
			d := dst.Pix[dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y):][:4*w]
			for i, v := range s {
				line[i] = float32(v)
			}
			f.apply4(line, tmp)
			for i, v := range line {
				d[i] = clamp8f(v)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// Vertical: strips of columns of dst, in place, each held row by row
	// so the filter runs along y over contiguous values.
	strips := (w + stripWidth - 1) / stripWidth
	err = parallel(ctx, strips, func(lo, hi int) {
		buf := make([]float32, 4*stripWidth*h)
		tmp := make([]float32, 4*stripWidth*(h+2*f.reach))
		for st := lo; st < hi; st++ {
			x0 := st * stripWidth
			m := 4 * (min(x0+stripWidth, w) - x0) // values per row in this strip
			strip := buf[:m*h]
			for y := range h {
				row := dst.Pix[dst.PixOffset(dst.Rect.Min.X+x0, dst.Rect.Min.Y+y):][:m]
				out := strip[y*m : (y+1)*m]
				for i, v := range row {
					out[i] = float32(v)
				}
			}
			f.applyStrip(strip, tmp, m)
			for y := range h {
				row := dst.Pix[dst.PixOffset(dst.Rect.Min.X+x0, dst.Rect.Min.Y+y):][:m]
				for i, v := range strip[y*m : (y+1)*m] {
					row[i] = clamp8f(v)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !opaque {
		if err := unpremultiplyInPlace(ctx, dst); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// clamp8f rounds v to the nearest byte value, saturating.
func clamp8f(v float32) uint8 {
	switch {
	case v >= 254.5:
		return 255
	case v > 0:
		return uint8(v + 0.5)
	}
	return 0
}

// sharpen applies an unsharp mask: out = src + amount·(src − blur(src,
// radius)) on R, G and B; alpha is kept.
func sharpen(ctx context.Context, src, dst *image.NRGBA, amount, radius float64) (*image.NRGBA, error) {
	blurred, err := blur(ctx, src, nil, radius)
	if err != nil {
		return nil, err
	}
	if dst == nil {
		dst = blurred // combine into the blur's buffer: one allocation
	}
	w := src.Rect.Dx()
	a := int32(math.Round(amount * 256))
	err = parallel(ctx, src.Rect.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:4*w]
			b := blurred.Pix[y*blurred.Stride:][:4*w]
			d := dst.Pix[dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y):][:4*w]
			for i := 0; i+3 < len(s); i += 4 {
				for c := range 3 {
					v := int32(s[i+c])
					v += (a*(v-int32(b[i+c])) + 128) >> 8
					d[i+c] = uint8(min(max(v, 0), 255))
				}
				d[i+3] = s[i+3]
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}
