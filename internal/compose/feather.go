package compose

import (
	"context"
	"math"
)

// feather blurs a w×h mask in place with an approximate Gaussian of the
// given sigma (three box blurs, each a running sum, so the cost does not
// grow with sigma). sigma ≤ 0 leaves the mask as is.
func feather(ctx context.Context, mask []float32, w, h int, sigma float64) error {
	if sigma <= 0 || w == 0 || h == 0 {
		return nil
	}
	tmp := make([]float32, len(mask))
	for _, r := range boxRadii(sigma, 3) {
		if err := boxRows(ctx, mask, tmp, w, h, r); err != nil {
			return err
		}
		transpose(tmp, mask, w, h)
		if err := boxRows(ctx, mask, tmp, h, w, r); err != nil {
			return err
		}
		transpose(tmp, mask, h, w)
	}
	return nil
}

// boxRadii returns the radii of n box blurs whose succession approximates a
// Gaussian of sigma (W. Jarosz, "Fast image convolutions").
func boxRadii(sigma float64, n int) []int {
	ideal := math.Sqrt(12*sigma*sigma/float64(n) + 1)
	wl := int(math.Floor(ideal))
	if wl%2 == 0 {
		wl--
	}
	wu := wl + 2
	m := int(math.Round((12*sigma*sigma - float64(n*wl*wl) - float64(4*n*wl) - float64(3*n)) / float64(-4*wl-4)))
	radii := make([]int, n)
	for i := range radii {
		size := wu
		if i < m {
			size = wl
		}
		radii[i] = (size - 1) / 2
	}
	return radii
}

// boxRows averages each row of src (w wide, h rows) over [x-r, x+r] into
// dst, extending the edge values beyond the row.
func boxRows(ctx context.Context, src, dst []float32, w, h, r int) error {
	if r <= 0 {
		copy(dst, src)
		return ctx.Err()
	}
	return bands(ctx, h, func(lo, hi int) {
		prefix := make([]float64, w+1)
		inv := 1 / float64(2*r+1)
		for y := lo; y < hi; y++ {
			row := src[y*w : (y+1)*w]
			for x, v := range row {
				prefix[x+1] = prefix[x] + float64(v)
			}
			out := dst[y*w : (y+1)*w]
			for x := range row {
				a, b := x-r, x+r
				sum := prefix[min(b, w-1)+1] - prefix[max(a, 0)]
				if a < 0 {
					sum += float64(-a) * float64(row[0])
				}
				if b > w-1 {
					sum += float64(b-(w-1)) * float64(row[w-1])
				}
				out[x] = float32(sum * inv)
			}
		}
	})
}

// transpose writes the w×h matrix src into dst as h×w.
func transpose(src, dst []float32, w, h int) {
	const tile = 32
	for y0 := 0; y0 < h; y0 += tile {
		for x0 := 0; x0 < w; x0 += tile {
			for y := y0; y < min(y0+tile, h); y++ {
				for x := x0; x < min(x0+tile, w); x++ {
					dst[x*h+y] = src[y*w+x]
				}
			}
		}
	}
}
