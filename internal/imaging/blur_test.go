package imaging

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// refBlur is the same filter as blur, in float64 and without any of its
// tricks: every stage is a plain convolution over the edge-replicated
// signal, on premultiplied channels. It returns premultiplied RGBA.
func refBlur(src *image.NRGBA, f lineFilter) [][4]float64 {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	px := make([][4]float64, w*h)
	for y := range h {
		for x := range w {
			c := src.NRGBAAt(src.Rect.Min.X+x, src.Rect.Min.Y+y)
			a := float64(c.A) / 255
			px[y*w+x] = [4]float64{float64(c.R) * a, float64(c.G) * a, float64(c.B) * a, float64(c.A)}
		}
	}
	var kernels [][]float64
	if f.gauss != nil {
		k := make([]float64, len(f.gauss))
		for i, v := range f.gauss {
			k[i] = float64(v) / gaussOne
		}
		kernels = append(kernels, k)
	}
	for _, r := range f.boxes {
		k := make([]float64, 2*r+1)
		for i := range k {
			k[i] = 1 / float64(2*r+1)
		}
		kernels = append(kernels, k)
	}
	conv := func(n int, at func(i int) *[4]float64) {
		line := make([][4]float64, n)
		for _, k := range kernels {
			r := len(k) / 2
			for i := range n {
				var s [4]float64
				for t, wt := range k {
					v := at(min(max(i+t-r, 0), n-1))
					for c := range 4 {
						s[c] += wt * v[c]
					}
				}
				line[i] = s
			}
			for i := range n {
				*at(i) = line[i]
			}
		}
	}
	for y := range h {
		conv(w, func(i int) *[4]float64 { return &px[y*w+i] })
	}
	for x := range w {
		conv(h, func(i int) *[4]float64 { return &px[i*w+x] })
	}
	return px
}

// noise returns a w×h image of random pixels; opaque ones when alpha is
// false.
func noise(w, h int, alpha bool, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 && !alpha {
			img.Pix[i] = 255
		}
	}
	return img
}

// TestBlurMatchesReference checks every path of the integer blur (exact
// Gaussian and box cascade; one-word and two-word pixels; images narrower
// than the window; a sub-image) against refBlur.
func TestBlurMatchesReference(t *testing.T) {
	t.Parallel()
	sizes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {3, 40}, {37, 23}, {300, 7}}
	sigmas := []float64{0.3, 0.8, 1, 1.7, 4, 12, 50}
	for _, sigma := range sigmas {
		f := newLineFilter(sigma)
		for i, sz := range sizes {
			for _, alpha := range []bool{false, true} {
				name := fmt.Sprintf("sigma=%v/%dx%d/alpha=%v", sigma, sz[0], sz[1], alpha)
				src := noise(sz[0]+2, sz[1]+2, alpha, uint64(i))
				// A sub-image: the filters must honour Rect and Stride.
				src = src.SubImage(image.Rect(1, 1, sz[0]+1, sz[1]+1)).(*image.NRGBA)
				want := refBlur(src, f)
				got, err := blur(context.Background(), src, nil, sigma)
				if err != nil {
					t.Fatal(err)
				}
				own, _ := crop(context.Background(), src, rect{0, 0, sz[0], sz[1]})
				if own, err = blur(context.Background(), own, own, sigma); err != nil {
					t.Fatal(err)
				}
				if string(own.Pix) != string(got.Pix) {
					t.Fatalf("%s: blurring in place differs from blurring into a new image", name)
				}
				for y := range sz[1] {
					for x := range sz[0] {
						c := got.NRGBAAt(got.Rect.Min.X+x, got.Rect.Min.Y+y)
						r := want[y*sz[0]+x]
						// Compare premultiplied: colour under low alpha
						// is not defined more finely than that.
						a := float64(c.A) / 255
						g := [4]float64{float64(c.R) * a, float64(c.G) * a, float64(c.B) * a, float64(c.A)}
						// Two roundings (after each pass); with alpha also
						// premultiplying's and unpremultiplying's.
						tol := 1.0
						if alpha {
							tol = 2
						}
						for ch := range 4 {
							if d := math.Abs(g[ch] - r[ch]); d > tol {
								t.Fatalf("%s: pixel (%d,%d) = %v, reference %v", name, x, y, g, r)
							}
						}
					}
				}
			}
		}
	}
}

// TestBlurWidth checks that the filter's spread matches sigma: the box
// cascade approximates the Gaussian's variance (within a pixel's
// rounding for small sigmas). Below 0.5 a Gaussian sampled at whole pixels
// is narrower than sigma, whatever the implementation.
func TestBlurWidth(t *testing.T) {
	t.Parallel()
	for sigma := 0.5; sigma <= 50; sigma *= 1.3 {
		f := newLineFilter(sigma)
		var variance float64
		if f.gauss != nil {
			r := len(f.gauss) / 2
			for i, v := range f.gauss {
				variance += float64(v) / gaussOne * float64((i-r)*(i-r))
			}
		}
		for _, r := range f.boxes {
			n := float64(2*r + 1)
			variance += (n*n - 1) / 12
		}
		if got := math.Sqrt(variance); math.Abs(got-sigma) > max(0.2, 0.05*sigma) {
			t.Errorf("sigma %.2f filters with spread %.2f", sigma, got)
		}
	}
}

// TestSharpenMatchesReference checks the fused unsharp mask against the
// reference blur.
func TestSharpenMatchesReference(t *testing.T) {
	t.Parallel()
	for _, alpha := range []bool{false, true} {
		src := noise(50, 30, alpha, 3)
		const amount, radius = 1.5, 2.0
		ref := refBlur(src, newLineFilter(radius))
		got, err := sharpen(context.Background(), src, nil, amount, radius)
		if err != nil {
			t.Fatal(err)
		}
		// Offered its own image to write into (a replay that owns it), it
		// gives the same pixels.
		own, _ := crop(context.Background(), src, rect{0, 0, 50, 30})
		own, err = sharpen(context.Background(), own, own, amount, radius)
		if err != nil {
			t.Fatal(err)
		}
		if string(own.Pix) != string(got.Pix) {
			t.Fatalf("alpha=%v: sharpening in place differs from sharpening into a new image", alpha)
		}
		for y := range 30 {
			for x := range 50 {
				s, c := src.NRGBAAt(x, y), got.NRGBAAt(x, y)
				if c.A != s.A {
					t.Fatalf("alpha=%v: alpha at (%d,%d) = %d, want %d (kept)", alpha, x, y, c.A, s.A)
				}
				r := ref[y*50+x]
				for ch, v := range []uint8{s.R, s.G, s.B} {
					b := r[ch]
					if r[3] > 0 {
						b = b * 255 / r[3] // unpremultiplied
					}
					want := math.Min(math.Max(float64(v)+amount*(float64(v)-b), 0), 255)
					got := float64([]uint8{c.R, c.G, c.B}[ch])
					tol := 1 + 2*amount // the blur's rounding, amplified
					if alpha {
						tol += 255 * amount / max(r[3], 1) // and unpremultiplying's
					}
					if math.Abs(got-want) > tol {
						t.Fatalf("alpha=%v: channel %d at (%d,%d) = %v, want %.1f", alpha, ch, x, y, got, want)
					}
				}
			}
		}
	}
}
