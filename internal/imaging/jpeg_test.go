package imaging

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures in testdata/jpeg are one photo-like 257×193 picture (odd
// sizes, so partial MCUs at both edges) written by ImageMagick 6.9 and
// libvips 8.14 in the layouts phones, cameras and editors produce:
// baseline 4:2:0, 4:2:2 and 4:4:4, progressive 4:2:0 and 4:4:4, grayscale
// baseline and progressive, Adobe CMYK, and restart markers in a baseline
// and a progressive file:
//
//	convert -seed 7 -size 257x193 plasma:fractal -blur 0x1 -attenuate 0.4 +noise Gaussian src.png
//	convert src.png -quality 90 -sampling-factor 2x2 baseline420.jpg            # and 2x1, 1x1
//	convert src.png -quality 90 -interlace Plane -sampling-factor 2x2 progressive420.jpg
//	convert src.png -quality 85 -interlace Plane -sampling-factor 1x1 progressive444.jpg
//	convert src.png -quality 90 [-interlace Plane] -colorspace Gray gray.jpg
//	convert src.png -quality 90 -colorspace CMYK cmyk.jpg
//	vips jpegsave src.png restart420.jpg --Q 90 --restart-interval 3
//	vips jpegsave src.png restart-progressive.jpg --Q 90 --restart-interval 2 --interlace
func jpegFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "jpeg", "*.jpg"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("jpeg fixtures: %v (%d files)", err, len(paths))
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// Bounds on how far jpegn's full-size decode may be from image/jpeg's, per
// channel after conversion to NRGBA: both are exact integer IDCTs of the
// same coefficients with different rounding, so pixels differ by a level or
// three and on average by far less than one. Progressive files are held to
// the bounds outside their bottom-right 16×16 corner: jpegn v0.4.2 decodes
// the last chroma block of odd-sized progressive 4:2:0 images up to 16
// levels off (libjpeg agrees with image/jpeg there), which is why full-size
// progressive decodes stay on image/jpeg.
const (
	jpegMaxDiff  = 4
	jpegMeanDiff = 0.5
)

// TestJPEGMatchesStdlib pins the choice of jpegn for full-size decodes:
// its output must match image/jpeg's within the bounds above on every
// layout (restart markers in a progressive file it refuses: image/jpeg
// decodes those), with the same dimensions; and Decode, which picks the
// decoder, must stay within them everywhere.
func TestJPEGMatchesStdlib(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, data := range jpegFixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			std, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			want, err := toNRGBA(ctx, std)
			if err != nil {
				t.Fatal(err)
			}
			dec, _, err := Decode(ctx, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if maxd, mean := pixelDiff(t, dec, want); maxd > jpegMaxDiff || mean > jpegMeanDiff {
				t.Errorf("Decode differs from image/jpeg by max %d, mean %.3f", maxd, mean)
			}
			src, err := jpegnDecode(data, 1)
			if err != nil {
				if name == "restart-progressive.jpg" {
					t.Logf("jpegn refuses %s (%v): image/jpeg decodes it", name, err)
					return
				}
				t.Fatalf("jpegn refused a valid %s: %v", name, err)
			}
			got, err := toNRGBA(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if jpegProgressive(data) { // compare outside the last 16×16 corner
				w, h := got.Rect.Dx(), got.Rect.Dy()
				for _, m := range []*image.NRGBA{got, want} {
					for y := h - h%16; y < h; y++ {
						for x := w - w%16; x < w; x++ {
							m.SetNRGBA(x, y, color.NRGBA{})
						}
					}
				}
			}
			maxd, mean := pixelDiff(t, got, want)
			t.Logf("%s: jpegn %T vs image/jpeg %T: max %d, mean %.3f", name, src, std, maxd, mean)
			if maxd > jpegMaxDiff || mean > jpegMeanDiff {
				t.Errorf("jpegn differs from image/jpeg by max %d (bound %d), mean %.3f (bound %.1f)", maxd, jpegMaxDiff, mean, jpegMeanDiff)
			}
		})
	}
}

// pixelDiff returns the largest and the mean absolute difference over all
// channels of two same-sized images.
func pixelDiff(t testing.TB, a, b *image.NRGBA) (int, float64) {
	t.Helper()
	if a.Rect != b.Rect {
		t.Fatalf("sizes differ: %v vs %v", a.Rect, b.Rect)
	}
	maxd, sum := 0, 0
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		ra, rb := a.Pix[y*a.Stride:][:4*w], b.Pix[y*b.Stride:][:4*w]
		for i := range ra {
			d := int(ra[i]) - int(rb[i])
			if d < 0 {
				d = -d
			}
			maxd = max(maxd, d)
			sum += d
		}
	}
	return maxd, float64(sum) / float64(4*w*h)
}

// TestDecodePreviewMatchesPreview: shrinking on load gives the preview the
// exact size the full decode + Preview gave, upright, with the same Info,
// and nearly the same pixels, for every layout, EXIF orientation and
// preview edge. The scaled IDCT is a different low-pass filter from the
// resampler's, so pixels differ, most at hard edges and in pixel-level
// noise: the bound on the mean is 4 levels for a photo-like image and 6
// for the fixtures, which are mostly such noise.
func TestDecodePreviewMatchesPreview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := jpegFixtures(t)
	cases["photo"] = encodeJPEG(t, photo(1200, 900), 90)
	for name, data := range cases {
		bound := 6.0
		if name == "photo" {
			bound = 4
		}
		for _, o := range []uint16{1, 6, 3, 8} {
			for _, edge := range []int{1600, 500, 300, 200, 120, 64, 31} {
				d := withEXIF(data, o)
				full, info, err := Decode(ctx, d, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				want, err := Preview(ctx, full, edge)
				if err != nil {
					t.Fatal(err)
				}
				got, pinfo, err := DecodePreview(ctx, d, Limits{}, edge)
				if err != nil {
					t.Fatalf("%s o=%d edge=%d: %v", name, o, edge, err)
				}
				if pinfo != info {
					t.Errorf("%s o=%d edge=%d: info %+v, want %+v", name, o, edge, pinfo, info)
				}
				if _, mean := pixelDiff(t, got, want); mean > bound {
					t.Errorf("%s o=%d edge=%d (scale %d): mean difference %.2f from the full decode's preview", name, o, edge, PreviewScale(info, edge), mean)
				}
			}
		}
	}
}

func TestPreviewScale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		info  Info
		edge  int
		scale int
	}{
		{Info{Format: FormatJPEG, Width: 8064, Height: 6048}, 1600, 4}, // 2016×1512
		{Info{Format: FormatJPEG, Width: 6048, Height: 8064}, 1600, 4}, // upright portrait
		{Info{Format: FormatJPEG, Width: 4032, Height: 3024}, 1600, 2}, // 2016×1512
		{Info{Format: FormatJPEG, Width: 12800, Height: 9600}, 1600, 8},
		{Info{Format: FormatJPEG, Width: 3199, Height: 100}, 1600, 2}, // 1600×50 from 1600×50
		{Info{Format: FormatJPEG, Width: 3201, Height: 100}, 1600, 2},
		{Info{Format: FormatJPEG, Width: 3198, Height: 100}, 1600, 1}, // 1599 < 1600
		{Info{Format: FormatJPEG, Width: 1600, Height: 1200}, 1600, 1},
		{Info{Format: FormatJPEG, Width: 800, Height: 600}, 1600, 1},
		{Info{Format: FormatPNG, Width: 8064, Height: 6048}, 1600, 1},
	} {
		if got := PreviewScale(tt.info, tt.edge); got != tt.scale {
			t.Errorf("PreviewScale(%+v, %d) = %d, want %d", tt.info, tt.edge, got, tt.scale)
		}
	}
}

// TestJPEGTruncatedAsStdlib: jpegn returns what it decoded of a truncated
// file; easel must refuse exactly the truncations image/jpeg refuses, on
// every layout and at every cut.
func TestJPEGTruncatedAsStdlib(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := jpegFixtures(t)
	// A truncated photo whose EXIF thumbnail has its own end-of-image
	// marker, which must not count.
	thumb := encodeJPEG(t, gradient(16, 12), 80)
	app1 := append([]byte{0xFF, 0xE1, 0, 0}, "Exif\x00\x00"...)
	app1 = append(app1, thumb...)
	app1[2], app1[3] = byte((len(app1)-2)>>8), byte(len(app1)-2)
	base := cases["baseline420.jpg"]
	cases["exif-thumbnail"] = append(append(append([]byte{}, base[:2]...), app1...), base[2:]...)
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			step := max(1, len(data)/150)
			cuts := []int{len(data) - 1, len(data) - 2, len(data) - 3}
			for n := 4; n < len(data); n += step {
				cuts = append(cuts, n)
			}
			for _, n := range cuts {
				cut := data[:n]
				_, stdErr := jpeg.Decode(bytes.NewReader(cut))
				_, inspErr := Inspect(cut, Limits{})
				_, _, decErr := Decode(ctx, cut, Limits{})
				_, _, prevErr := DecodePreview(ctx, cut, Limits{}, 64)
				for which, err := range map[string]error{"Inspect": inspErr, "Decode": decErr, "DecodePreview": prevErr} {
					if (err == nil) != (stdErr == nil) {
						t.Errorf("cut at %d of %d: %s error %v, image/jpeg %v", n, len(data), which, err, stdErr)
						continue
					}
					var e *Error
					if err != nil && (!errors.As(err, &e) || (e.Code != CodeCorrupt && e.Code != CodeUnsupported)) {
						t.Errorf("cut at %d: %s error %v is not a corrupt *Error", n, which, err)
					}
				}
			}
		})
	}
}

func TestDecodeBytes(t *testing.T) {
	t.Parallel()
	photo := Info{Format: FormatJPEG, Width: 8064, Height: 6048}
	full, quarter := DecodeBytes(photo, 1), DecodeBytes(photo, 4)
	if full < 8064*6048*4 || quarter*15 > full || quarter < 2016*1512*4 {
		t.Errorf("48 MP JPEG: %d bytes at full size, %d at 1/4", full, quarter)
	}
	prog := photo
	prog.Progressive = true
	if DecodeBytes(prog, 4) < 8064*6048*4 {
		t.Errorf("progressive 48 MP at 1/4: %d bytes, less than its coefficients", DecodeBytes(prog, 4))
	}
	if got := DecodeBytes(Info{Format: FormatPNG, Width: 10, Height: 10}, 8); got != 2000 {
		t.Errorf("PNG ignores the scale: %d", got)
	}
}

// TestJPEGHeaderLies: a frame header claiming 60000×60000 is refused by the
// pixel limit before any decoder allocates, on every path; one claiming a
// size within the limit that its data cannot fill is refused as corrupt.
func TestJPEGHeaderLies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	withSize := func(w, h int) []byte {
		d := encodeJPEG(t, gradient(64, 48), 90)
		i := bytes.Index(d, []byte{0xFF, 0xC0})
		if i < 0 {
			t.Fatal("no SOF0")
		}
		d[i+5], d[i+6], d[i+7], d[i+8] = byte(h>>8), byte(h), byte(w>>8), byte(w)
		return d
	}
	lim := Limits{MaxPixels: 50_000_000}
	for _, tt := range []struct {
		w, h int
		code Code
	}{{60000, 60000, CodeTooManyPixels}, {4000, 3000, CodeCorrupt}} {
		data := withSize(tt.w, tt.h)
		_, err1 := Inspect(data, lim)
		_, _, err2 := Decode(ctx, data, lim)
		_, _, err3 := DecodePreview(ctx, data, lim, 1600)
		for i, err := range []error{err1, err2, err3} {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Errorf("%d×%d, path %d: %v, want %s", tt.w, tt.h, i, err, tt.code)
			}
		}
	}
}
