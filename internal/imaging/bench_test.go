package imaging

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	dis "github.com/disintegration/imaging"
)

// Benchmarks compare easel's operations with github.com/disintegration/imaging
// (the pure-Go baseline) on the same pixels. Sub-benchmarks are named
// Op/size=<preview|12MP>/op=<op>/impl=<easel|imaging> so benchstat can pair
// them:
//
//	go test -run '^$' -bench 'Op/size=preview' -benchtime 10x -count 5 ./internal/imaging/ | benchstat -col /impl -
//	go test -run '^$' -bench 'Op/size=12MP|Export' -benchtime 3x ./internal/imaging/

// photo returns a deterministic w×h image that behaves like a photograph
// for the filters and the JPEG encoder: smooth gradients, soft shading,
// hard-edged shapes and sensor-like noise.
func photo(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	type disc struct {
		x, y, r float64
		c       [3]float64
	}
	discs := make([]disc, 40)
	for i := range discs {
		discs[i] = disc{rng.Float64() * float64(w), rng.Float64() * float64(h), (0.02 + rng.Float64()*0.1) * float64(w),
			[3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}}
	}
	for y := range h {
		fy := float64(y) / float64(h)
		row := img.Pix[y*img.Stride:]
		for x := range w {
			fx := float64(x) / float64(w)
			shade := 0.5 + 0.5*math.Sin(fx*7+fy*3)*math.Cos(fy*5)
			c := [3]float64{60 + 150*fy*shade, 90 + 120*fx, 160 - 100*fy + 40*shade}
			for _, d := range discs {
				if dx, dy := float64(x)-d.x, float64(y)-d.y; dx*dx+dy*dy < d.r*d.r {
					c = d.c
					break
				}
			}
			if (x/97+y/89)%7 == 0 { // a few hard stripes
				c[0], c[1] = c[1], c[0]
			}
			n := rng.NormFloat64() * 6
			p := row[4*x : 4*x+4]
			p[0], p[1], p[2], p[3] = clamp8(c[0]+n), clamp8(c[1]+n), clamp8(c[2]+n), 255
		}
	}
	return img
}

type benchOp struct {
	name  string
	easel Op
	dis   func(img *image.NRGBA) *image.NRGBA
}

func benchOps(w, h int) []benchOp {
	return []benchOp{
		{"resize", Op{Op: OpResize, Width: w / 2}, func(m *image.NRGBA) *image.NRGBA { return dis.Resize(m, w/2, 0, dis.Lanczos) }},
		{"crop", Op{Op: OpCrop, X: w / 4, Y: h / 4, Width: w / 2, Height: h / 2}, func(m *image.NRGBA) *image.NRGBA {
			return dis.Crop(m, image.Rect(w/4, h/4, w/4+w/2, h/4+h/2))
		}},
		{"rotate90", Op{Op: OpRotate, Angle: 90}, func(m *image.NRGBA) *image.NRGBA { return dis.Rotate270(m) }},
		{"rotate15", Op{Op: OpRotate, Angle: 15}, func(m *image.NRGBA) *image.NRGBA { return dis.Rotate(m, -15, color.Transparent) }},
		{"flip", Op{Op: OpFlip, Direction: FlipHorizontal}, func(m *image.NRGBA) *image.NRGBA { return dis.FlipH(m) }},
		{"brightness", Op{Op: OpBrightness, Amount: 0.2}, func(m *image.NRGBA) *image.NRGBA { return dis.AdjustBrightness(m, 20) }},
		{"contrast", Op{Op: OpContrast, Amount: 0.2}, func(m *image.NRGBA) *image.NRGBA { return dis.AdjustContrast(m, 20) }},
		{"saturation", Op{Op: OpSaturation, Amount: 0.3}, func(m *image.NRGBA) *image.NRGBA { return dis.AdjustSaturation(m, 30) }},
		{"hue", Op{Op: OpHue, Degrees: 30}, nil}, // v1.6.2 has no AdjustHue
		{"gamma", Op{Op: OpGamma, Value: 1.8}, func(m *image.NRGBA) *image.NRGBA { return dis.AdjustGamma(m, 1.8) }},
		{"grayscale", Op{Op: OpGrayscale}, func(m *image.NRGBA) *image.NRGBA { return dis.Grayscale(m) }},
		{"sepia", Op{Op: OpSepia}, func(m *image.NRGBA) *image.NRGBA {
			return dis.AdjustFunc(m, func(c color.NRGBA) color.NRGBA {
				r, g, b := float64(c.R), float64(c.G), float64(c.B)
				return color.NRGBA{clamp8(0.393*r + 0.769*g + 0.189*b), clamp8(0.349*r + 0.686*g + 0.168*b), clamp8(0.272*r + 0.534*g + 0.131*b), c.A}
			})
		}},
		{"invert", Op{Op: OpInvert}, func(m *image.NRGBA) *image.NRGBA { return dis.Invert(m) }},
		{"blur2", Op{Op: OpBlur, Sigma: 2}, func(m *image.NRGBA) *image.NRGBA { return dis.Blur(m, 2) }},
		{"blur10", Op{Op: OpBlur, Sigma: 10}, func(m *image.NRGBA) *image.NRGBA { return dis.Blur(m, 10) }},
		{"sharpen", Op{Op: OpSharpen, Amount: 1, Radius: 1.5}, func(m *image.NRGBA) *image.NRGBA { return dis.Sharpen(m, 1.5) }},
	}
}

func BenchmarkOp(b *testing.B) {
	ctx := context.Background()
	full := photo(4000, 3000)
	preview, err := Preview(ctx, full, 1600)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name string
		img  *image.NRGBA
	}{{"preview", preview}, {"12MP", full}} {
		for _, o := range benchOps(size.img.Rect.Dx(), size.img.Rect.Dy()) {
			b.Run("size="+size.name+"/op="+o.name+"/impl=easel", func(b *testing.B) {
				for b.Loop() {
					if _, err := o.easel.Apply(ctx, size.img); err != nil {
						b.Fatal(err)
					}
				}
			})
			if o.dis == nil {
				continue
			}
			b.Run("size="+size.name+"/op="+o.name+"/impl=imaging", func(b *testing.B) {
				for b.Loop() {
					o.dis(size.img)
				}
			})
		}
	}
}

func BenchmarkPreview(b *testing.B) {
	ctx := context.Background()
	full := photo(4000, 3000)
	b.Run("easel", func(b *testing.B) {
		for b.Loop() {
			if _, err := Preview(ctx, full, 1600); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("imaging", func(b *testing.B) {
		for b.Loop() {
			dis.Fit(full, 1600, 1600, dis.Lanczos)
		}
	})
}

// BenchmarkExport measures a full-resolution export: decode a 12 MP JPEG,
// replay five edits and encode a JPEG. It reports the peak heap in use
// above the pre-export baseline (sampled every 200 µs from runtime/metrics)
// relative to the decoded image's size (4000×3000×4 bytes).
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	var src bytes.Buffer
	if err := Encode(&src, photo(4000, 3000), FormatJPEG, 90); err != nil {
		b.Fatal(err)
	}
	data := src.Bytes()
	const decoded = 4000 * 3000 * 4
	// Five typical edits of a phone photo.
	exportOps := []Op{
		{Op: OpRotate, Angle: 90},
		{Op: OpCrop, Aspect: "3:2"},
		{Op: OpBrightness, Amount: 0.1},
		{Op: OpSaturation, Amount: 0.2},
		{Op: OpSharpen, Amount: 0.8, Radius: 1},
	}
	export := func() {
		img, _, err := Decode(ctx, data, Limits{MaxPixels: 50_000_000})
		if err != nil {
			b.Fatal(err)
		}
		if img, err = Replay(ctx, img, exportOps); err != nil {
			b.Fatal(err)
		}
		if err := Encode(io.Discard, img, FormatJPEG, 90); err != nil {
			b.Fatal(err)
		}
	}
	var peak float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		base := heapInUse()
		var max atomic.Uint64
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			t := time.NewTicker(200 * time.Microsecond)
			defer t.Stop()
			for {
				if v := heapInUse(); v > max.Load() {
					max.Store(v)
				}
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		export()
		b.StopTimer()
		close(done)
		<-stopped
		peak = math.Max(peak, float64(max.Load()-min(base, max.Load()))/decoded)
		b.StartTimer()
	}
	b.ReportMetric(peak, "peak/decoded")
	b.ReportMetric(float64(len(data))/1e6, "jpegMB")
}

// heapInUse is MemStats.HeapInuse, read without stopping the world.
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// photoJPEG returns a w×h photo-like JPEG at quality 90, 4:2:0 (smooth
// shading, texture and sensor noise, so it is the size a camera's is),
// made without photo's per-pixel shapes so that 48 MP takes seconds.
func photoJPEG(b *testing.B, w, h int) []byte {
	b.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(3, 4))
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			v := 40 + 170*(0.5+0.5*math.Sin(fx*9+fy*4)*math.Cos(fy*6-fx*2)) + 6*math.Sin(float64(x)*0.35+float64(y)*0.21)
			img.Y[y*img.YStride+x] = clamp8(v + rng.NormFloat64()*5)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = clamp8(128+rng.NormFloat64()*3), clamp8(120+rng.NormFloat64()*3)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeJPEG compares the JPEG decoders on a 12 MP and a 48 MP
// photo: jpegn at scale 1/1, 1/2, 1/4 and 1/8 and image/jpeg (full size
// only), the decoder alone (native YCbCr out), and the preview paths: the
// full decode + Preview that easel did before shrink-on-load, and
// DecodePreview. 48 MP is skipped with -short.
//
//	go test -run '^$' -bench 'DecodeJPEG' -benchtime 3x ./internal/imaging/
func BenchmarkDecodeJPEG(b *testing.B) {
	ctx := context.Background()
	for _, size := range []struct {
		name string
		w, h int
	}{{"12MP", 4032, 3024}, {"48MP", 8064, 6048}} {
		b.Run("size="+size.name, func(b *testing.B) {
			if size.name == "48MP" && testing.Short() {
				b.Skip("48 MP with -short")
			}
			data := photoJPEG(b, size.w, size.h)
			b.ReportMetric(float64(len(data))/(1<<20), "jpegMiB")
			for _, scale := range []int{1, 2, 4, 8} {
				b.Run(fmt.Sprintf("impl=jpegn/scale=%d", scale), func(b *testing.B) {
					for b.Loop() {
						if _, err := jpegnDecode(data, scale); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("impl=image-jpeg/scale=1", func(b *testing.B) {
				for b.Loop() {
					if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("preview=full-decode", func(b *testing.B) {
				for b.Loop() {
					img, _, err := Decode(ctx, data, Limits{})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := Preview(ctx, img, 1600); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("preview=shrink-on-load", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := DecodePreview(ctx, data, Limits{}, 1600); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkToNRGBA measures the conversion of a decoder's 4:2:0 output to
// NRGBA, which every decode pays on all of its pixels.
func BenchmarkToNRGBA(b *testing.B) {
	ctx := context.Background()
	src := image.NewYCbCr(image.Rect(0, 0, 4032, 3024), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range src.Y {
		src.Y[i] = uint8(rng.Uint32())
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = uint8(rng.Uint32()), uint8(rng.Uint32())
	}
	for b.Loop() {
		if _, err := toNRGBA(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToSRGB measures the conversion of a 12 MP Adobe RGB decode to
// sRGB (profile parsing included), which a tagged upload pays on top of
// its decode; an sRGB-tagged one pays only the parse.
func BenchmarkToSRGB(b *testing.B) {
	ctx := context.Background()
	img := photo(4032, 3024)
	for _, name := range []string{"AdobeRGB1998.icc", "sRGB.icc"} {
		profile := readICCFixture(b, name)
		b.Run("profile="+name, func(b *testing.B) {
			for b.Loop() {
				if err := toSRGB(ctx, img, profile); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
