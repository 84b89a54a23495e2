package imaging

import (
	"context"
	"encoding/binary"
	"image"
	"math"
	"runtime"
)

// Gaussian blur is separable: a horizontal pass over rows, then a vertical
// pass down strips of columns. Small sigmas use an exact sampled Gaussian
// (integer weights); from boxSigma up, three successive box filters whose
// widths match the Gaussian's variance (W. M. Wells, 1986) cost O(1) per
// pixel whatever the sigma.
//
// Both passes work on integers, several channels per uint64 word (SWAR):
// an opaque pixel is one word holding R, G and B in 21-bit lanes; any
// other pixel is two words, R|G and B|A in 32-bit lanes. The filters
// never divide between stages: each box sums (scaling by its width) and
// the Gaussian's weights sum to gaussOne, so a pass's result is the exact
// weighted sum, divided and rounded once when it is written back as
// bytes. Sums never go negative and never outgrow their lane (a laneCodec
// picks 32-bit lanes when 21 bits could overflow), so adding and
// subtracting whole words adds and subtracts every lane at once.
const (
	boxSigma = 1.0
	gaussOne = 1 << 12
	lane21   = 1<<21 - 1
)

// lineFilter is a 1-D blur: an exact kernel or a cascade of boxes.
type lineFilter struct {
	gauss []uint64 // odd-length kernel in 1/gaussOne, summing to gaussOne; or nil
	boxes []int    // box radii, or nil
	scale uint64   // what the filter multiplies a flat signal by
}

func newLineFilter(sigma float64) lineFilter {
	if sigma < boxSigma {
		r := max(1, int(math.Ceil(3*sigma)))
		wf := make([]float64, 2*r+1)
		var sum float64
		for i := range wf {
			d := float64(i - r)
			wf[i] = math.Exp(-d * d / (2 * sigma * sigma))
			sum += wf[i]
		}
		k := make([]uint64, len(wf))
		var total uint64
		for i, v := range wf {
			k[i] = uint64(math.Round(v / sum * gaussOne))
			total += k[i]
		}
		k[r] += gaussOne - total // the rounding remainder goes to the centre
		return lineFilter{gauss: k, scale: gaussOne}
	}
	const n = 3
	wIdeal := math.Sqrt(12*sigma*sigma/n + 1)
	wl := int(math.Floor(wIdeal))
	if wl%2 == 0 {
		wl--
	}
	wu := wl + 2
	m := int(math.Round((12*sigma*sigma - n*float64(wl*wl) - 4*n*float64(wl) - 3*n) / float64(-4*wl-4)))
	f := lineFilter{scale: 1}
	for i := range n {
		wd := wu
		if i < m {
			wd = wl
		}
		f.boxes = append(f.boxes, wd/2)
		f.scale *= uint64(wd)
	}
	return f
}

// A laneCodec moves pixels between bytes and words, and divides each lane by
// the filter's scale on the way back.
type laneCodec struct {
	rgb bool   // one word per pixel, R|G<<21|B<<42; alpha is 255
	div uint64 // (lane·div + 1<<31) >> 32 is lane/scale, rounded
}

func newLaneCodec(opaque bool, scale uint64) laneCodec {
	return laneCodec{rgb: opaque && 255*scale <= lane21, div: (1<<32 + scale/2) / scale}
}

// words is how many words a pixel takes.
func (c laneCodec) words() int {
	if c.rgb {
		return 1
	}
	return 2
}

// pack writes the pixels px into words, plane by plane: for two-word
// pixels all R|G words come first, then all B|A words.
func (c laneCodec) pack(words []uint64, px []uint8) {
	n := len(px) / 4
	if c.rgb {
		words = words[:n]
		for i := range words {
			v := uint64(binary.LittleEndian.Uint32(px[4*i:]))
			words[i] = v&0xff | v&0xff00<<13 | v&0xff0000<<26
		}
		return
	}
	rg, ba := words[:n], words[n:2*n]
	for i := range rg {
		p := px[4*i : 4*i+4 : 4*i+4]
		rg[i] = uint64(p[0]) | uint64(p[1])<<32
		ba[i] = uint64(p[2]) | uint64(p[3])<<32
	}
}

// unpack writes words, each lane divided and rounded, into the pixels px.
func (c laneCodec) unpack(px []uint8, words []uint64) {
	n := len(px) / 4
	d := c.div
	lane := func(v uint64) uint8 { return uint8((v*d + 1<<31) >> 32) }
	if c.rgb {
		words = words[:n]
		for i, v := range words {
			p := px[4*i : 4*i+4 : 4*i+4]
			p[0], p[1], p[2], p[3] = lane(v&lane21), lane(v>>21&lane21), lane(v>>42), 255
		}
		return
	}
	rg, ba := words[:n], words[n:2*n]
	for i := range rg {
		p := px[4*i : 4*i+4 : 4*i+4]
		p[0], p[1] = lane(uint64(uint32(rg[i]))), lane(rg[i]>>32)
		p[2], p[3] = lane(uint64(uint32(ba[i]))), lane(ba[i]>>32)
	}
}

// row filters a row of words held in a, using b as scratch of the same
// length, and returns the one that holds the result.
func (f lineFilter) row(a, b []uint64) []uint64 {
	if f.gauss != nil {
		gaussRow(b, a, f.gauss)
		return b
	}
	for _, r := range f.boxes {
		boxRow(b, a, r)
		a, b = b, a
	}
	return a
}

// gaussRow convolves src with k into dst, replicating the edges.
func gaussRow(dst, src []uint64, k []uint64) {
	n, r := len(src), len(k)/2
	for i := range dst[:n] {
		var s uint64
		if i >= r && i+r < n {
			for t, v := range src[i-r : i+r+1][:len(k)] {
				s += k[t] * v
			}
		} else {
			for t, w := range k {
				s += w * src[min(max(i+t-r, 0), n-1)]
			}
		}
		dst[i] = s
	}
}

// boxRow writes into dst the sums of src over windows of radius r,
// replicating the edges.
func boxRow(dst, src []uint64, r int) {
	n := len(src)
	last := n - 1
	var s uint64
	for k := -r; k <= r; k++ {
		s += src[min(max(k, 0), last)]
	}
	// The window of i is [i-r, i+r]; moving on adds i+r+1 and drops i-r.
	lo := min(r, n)      // below lo the dropped word clamps to 0
	hi := max(n-r-1, lo) // from hi on the added one clamps to last
	for i := range lo {
		dst[i] = s
		s += src[min(i+r+1, last)] - src[0]
	}
	if lo < hi {
		out := dst[lo:hi]
		add := src[lo+r+1:][:len(out)]
		sub := src[lo-r:][:len(out)]
		for j := range out {
			out[j] = s
			s += add[j] - sub[j]
		}
	}
	for i := hi; i < n; i++ {
		dst[i] = s
		s += src[last] - src[max(i-r, 0)]
	}
}

// blur returns src blurred by a Gaussian of the given sigma (pixels),
// writing into dst (which may be src, or nil for a new image).
func blur(ctx context.Context, src, dst *image.NRGBA, sigma float64) (*image.NRGBA, error) {
	return blurInto(ctx, src, dst, newLineFilter(sigma), nil)
}

// sharpen applies an unsharp mask: out = src + amount·(src − blur(src,
// radius)) on R, G and B; alpha is kept.
func sharpen(ctx context.Context, src, dst *image.NRGBA, amount, radius float64) (*image.NRGBA, error) {
	return blurInto(ctx, src, dst, newLineFilter(radius), &unsharp{src: src, amount: int32(math.Round(amount * 256))})
}

// unsharp turns a blur into an unsharp mask of src: src + amount·(src −
// blurred) on R, G and B, with src's alpha; amount is in 1/256ths.
type unsharp struct {
	src    *image.NRGBA
	amount int32
}

// apply writes into dst the mask of the pixels s against the blurred
// pixels b (all three of the same length; dst may be s or b).
func (u *unsharp) apply(dst, s, b []uint8) {
	b, dst = b[:len(s)], dst[:len(s)]
	a := u.amount
	mask := func(s, b uint8) uint8 {
		v := int32(s)
		v += (a*(v-int32(b)) + 128) >> 8
		return uint8(min(max(v, 0), 255))
	}
	for i := 0; i+3 < len(s); i += 4 {
		ps, pb, pd := (*[4]uint8)(s[i:]), (*[4]uint8)(b[i:]), (*[4]uint8)(dst[i:])
		*pd = [4]uint8{mask(ps[0], pb[0]), mask(ps[1], pb[1]), mask(ps[2], pb[2]), ps[3]}
	}
}

// blurInto filters src with f in both directions into dst (src, or nil for
// a new image), or, with us set (for src), sharpens src using the blur as
// the mask.
func blurInto(ctx context.Context, src, dst *image.NRGBA, f lineFilter, us *unsharp) (*image.NRGBA, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if isOpaque(src) {
		c := newLaneCodec(true, f.scale)
		if us != nil && dst == src {
			dst = nil // the mask needs src intact after the horizontal pass
		}
		if dst == nil {
			dst = image.NewNRGBA(image.Rect(0, 0, w, h))
		}
		if err := filterRows(ctx, src, dst, f, c); err != nil {
			return nil, err
		}
		return dst, filterColumns(ctx, dst, f, c, us)
	}
	// Colour is filtered premultiplied, in a private copy.
	c := newLaneCodec(false, f.scale)
	pm, err := premultiplied(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := filterRows(ctx, pm, pm, f, c); err != nil {
		return nil, err
	}
	if err := filterColumns(ctx, pm, f, c, nil); err != nil {
		return nil, err
	}
	if err := unpremultiplyInPlace(ctx, pm); err != nil {
		return nil, err
	}
	if us == nil {
		return pm, nil
	}
	if dst == nil {
		dst = pm // each pixel of the blur is read just before it is replaced
	}
	return dst, parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			us.apply(dst.Pix[dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y):][:4*w],
				src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:4*w],
				pm.Pix[y*pm.Stride:][:4*w])
		}
	})
}

// filterRows filters each row of in with f into the same row of out (which
// may be in).
func filterRows(ctx context.Context, in, out *image.NRGBA, f lineFilter, c laneCodec) error {
	w := in.Rect.Dx()
	return parallel(ctx, in.Rect.Dy(), func(lo, hi int) {
		k := c.words()
		a, b := make([]uint64, k*w), make([]uint64, k*w)
		for y := lo; y < hi; y++ {
			c.pack(a, in.Pix[in.PixOffset(in.Rect.Min.X, in.Rect.Min.Y+y):][:4*w])
			// Each plane is filtered alone, and both end up in the same
			// buffer, since they go through the same stages.
			res := f.row(a[:w], b[:w])
			if k == 2 {
				f.row(a[w:], b[w:])
			}
			if &res[0] == &b[0] {
				res = b
			} else {
				res = a
			}
			c.unpack(out.Pix[out.PixOffset(out.Rect.Min.X, out.Rect.Min.Y+y):][:4*w], res)
		}
	})
}

// maxStripWidth bounds the width in pixels of the vertical pass's strips:
// wide strips read longer runs of each row (the hardware prefetcher does
// not cross the jump to the next row), and even at sigma 50 the stages'
// rings of a 256-pixel strip fit in a core's L2 cache.
const maxStripWidth = 256

// filterColumns filters img along y with f, in place, strip by strip: each
// strip streams down the image through the filter's stages, each stage
// keeping the few rows it still needs, so every pixel is read and written
// once, in order. With us set it writes the unsharp mask of us.src instead.
func filterColumns(ctx context.Context, img *image.NRGBA, f lineFilter, c laneCodec, us *unsharp) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	// As few strips as maxStripWidth allows, in a multiple of the cores so
	// that none waits for another at the end.
	workers := runtime.GOMAXPROCS(0)
	strips := (w + maxStripWidth - 1) / maxStripWidth
	strips = (strips + workers - 1) / workers * workers
	width := (w + strips - 1) / strips
	strips = (w + width - 1) / width
	return parallelMin(ctx, strips, 1, func(lo, hi int) {
		k := c.words()
		stages := f.stages(h, k*width)
		out := make([]uint64, k*width)
		blurred := make([]uint8, 4*width)
		for st := lo; st < hi; st++ {
			x0 := st * width
			sw := min(x0+width, w) - x0
			row := func(img *image.NRGBA, y int) []uint8 {
				return img.Pix[img.PixOffset(img.Rect.Min.X+x0, img.Rect.Min.Y+y):][:4*sw]
			}
			next := 0 // the next image row the first stage reads
			pull := func(dst []uint64) {
				c.pack(dst, row(img, next))
				next++
			}
			for i := range stages {
				stages[i].start(k*sw, pull)
				pull = stages[i].next
			}
			for y := range h {
				pull(out)
				if us == nil {
					c.unpack(row(img, y), out)
					continue
				}
				c.unpack(blurred[:4*sw], out)
				us.apply(row(img, y), row(us.src, y), blurred[:4*sw])
			}
		}
	})
}

// A stage is one 1-D filter of the vertical pass, turning a stream of h
// rows of m words into the stream of its filtered rows. It pulls input
// rows one at a time and keeps the last 2r+2 of them in a ring: enough for
// the window of the current row and, at the top edge, row 0.
type stage struct {
	h, m  int
	r     int
	gauss []uint64 // the kernel, or nil for a box
	ring  []uint64 // rows·cap words
	rows  int      // ring capacity in rows
	acc   []uint64 // box: the window sum for row p
	pull  func(dst []uint64)
	n, p  int // input rows pulled; next output row
}

// stages returns the filter's stages for strips of h rows of at most m
// words.
func (f lineFilter) stages(h, m int) []stage {
	if f.gauss != nil {
		r := len(f.gauss) / 2
		return []stage{{h: h, r: r, gauss: f.gauss, rows: 2*r + 2, ring: make([]uint64, (2*r+2)*m)}}
	}
	st := make([]stage, len(f.boxes))
	for i, r := range f.boxes {
		st[i] = stage{h: h, r: r, rows: 2*r + 2, ring: make([]uint64, (2*r+2)*m), acc: make([]uint64, m)}
	}
	return st
}

// in returns input row i, clamped to the image; it must be in the ring.
func (s *stage) in(i int) []uint64 {
	k := min(max(i, 0), s.h-1) % s.rows
	return s.ring[k*s.m : k*s.m+s.m]
}

// fill pulls input rows up to row i (clamped).
func (s *stage) fill(i int) {
	for ; s.n <= min(i, s.h-1); s.n++ {
		k := s.n % s.rows
		s.pull(s.ring[k*s.m : k*s.m+s.m])
	}
}

// start rewinds the stage for a strip of rows of m words read from pull.
func (s *stage) start(m int, pull func(dst []uint64)) {
	s.m, s.pull, s.n, s.p = m, pull, 0, 0
	if s.gauss != nil {
		return
	}
	// The window of row 0 is r+1 copies of row 0, then rows 1…r.
	s.fill(s.r)
	acc := s.acc[:m]
	for j, v := range s.in(0) {
		acc[j] = uint64(s.r+1) * v
	}
	for k := 1; k <= s.r; k++ {
		for j, v := range s.in(k) {
			acc[j] += v
		}
	}
}

// next writes the next output row into dst.
func (s *stage) next(dst []uint64) {
	p := s.p
	s.p++
	dst = dst[:s.m]
	if s.gauss != nil {
		s.fill(p + s.r)
		clear(dst)
		for t, w := range s.gauss {
			for j, v := range s.in(p + t - s.r)[:len(dst)] {
				dst[j] += w * v
			}
		}
		return
	}
	s.fill(p + s.r + 1)
	acc := s.acc[:len(dst)]
	add, sub := s.in(p + s.r + 1)[:len(dst)], s.in(p - s.r)[:len(dst)]
	for j, a := range acc {
		dst[j] = a
		acc[j] = a + add[j] - sub[j]
	}
}
