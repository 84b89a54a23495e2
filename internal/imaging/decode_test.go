package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"testing"
)

// exifAPP1 builds an APP1 segment with IFD0 holding the orientation and a
// GPS IFD pointer, and a GPS IFD with a latitude reference of "N".
func exifAPP1(orientation uint16) []byte {
	var t bytes.Buffer
	be := binary.BigEndian
	t.WriteString("MM\x00*")
	_ = binary.Write(&t, be, uint32(8)) // IFD0 offset
	_ = binary.Write(&t, be, uint16(2)) // two entries
	_ = binary.Write(&t, be, []uint16{0x0112, 3})
	_ = binary.Write(&t, be, uint32(1))
	_ = binary.Write(&t, be, []uint16{orientation, 0})
	_ = binary.Write(&t, be, []uint16{0x8825, 4}) // GPS IFD pointer
	_ = binary.Write(&t, be, uint32(1))
	_ = binary.Write(&t, be, uint32(8+2+2*12+4))
	_ = binary.Write(&t, be, uint32(0)) // no next IFD
	_ = binary.Write(&t, be, uint16(1)) // GPS IFD: GPSLatitudeRef "N"
	_ = binary.Write(&t, be, []uint16{0x0001, 2})
	_ = binary.Write(&t, be, uint32(2))
	t.WriteString("N\x00\x00\x00")
	_ = binary.Write(&t, be, uint32(0))
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withEXIF inserts an EXIF segment right after a JPEG's SOI marker.
func withEXIF(jpg []byte, orientation uint16) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exifAPP1(orientation)...)
	return append(out, jpg[2:]...)
}

func TestExifOrientation(t *testing.T) {
	t.Parallel()
	jpg := encodeJPEG(t, gradient(8, 8), 90)
	for o := uint16(1); o <= 8; o++ {
		if got := exifOrientation(withEXIF(jpg, o)); got != int(o) {
			t.Errorf("orientation %d read as %d", o, got)
		}
	}
	for name, data := range map[string][]byte{
		"none":         jpg,
		"out of range": withEXIF(jpg, 9),
		"truncated":    withEXIF(jpg, 6)[:30],
		"garbage":      {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'},
		"empty":        nil,
	} {
		if got := exifOrientation(data); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}

// TestDecodeOrientation6 checks that a phone photo stored sideways
// (orientation 6: rotate 90° clockwise to display) decodes upright.
func TestDecodeOrientation6(t *testing.T) {
	t.Parallel()
	// 32×16 stored: left half red, right half blue (big blocks survive JPEG).
	img := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for y := range 16 {
		for x := range 32 {
			c := red
			if x >= 16 {
				c = blue
			}
			img.SetNRGBA(x, y, c)
		}
	}
	data := withEXIF(encodeJPEG(t, img, 95), 6)
	out, info, err := Decode(context.Background(), data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info != (Info{Format: "jpeg", Width: 16, Height: 32}) { // the upright size
		t.Errorf("info = %+v", info)
	}
	if out.Rect.Dx() != 16 || out.Rect.Dy() != 32 {
		t.Fatalf("decoded %v, want 16×32 (upright)", out.Rect.Size())
	}
	// Rotated clockwise, the stored left (red) half is now on top.
	if c := out.NRGBAAt(8, 4); c.R < 200 || c.B > 60 {
		t.Errorf("top = %v, want red", c)
	}
	if c := out.NRGBAAt(8, 28); c.B < 200 || c.R > 60 {
		t.Errorf("bottom = %v, want blue", c)
	}
}

func TestDecodeFormats(t *testing.T) {
	t.Parallel()
	src := gradient(20, 10)
	pal := image.NewPaletted(image.Rect(0, 0, 5, 4), color.Palette{red, green})
	pal.SetColorIndex(1, 1, 1)
	var anim bytes.Buffer
	second := image.NewPaletted(image.Rect(0, 0, 5, 4), color.Palette{blue})
	if err := gif.EncodeAll(&anim, &gif.GIF{Image: []*image.Paletted{pal, second}, Delay: []int{0, 0}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		w, h int
		at   image.Point
		want color.NRGBA
	}{
		{"png", encodePNG(t, src), 20, 10, image.Pt(3, 4), src.NRGBAAt(3, 4)},
		{"gif first frame", anim.Bytes(), 5, 4, image.Pt(1, 1), green},
		{"webp", webp1x1(t), 1, 1, image.Pt(0, 0), color.NRGBA{}},
		{"gray png", encodePNG(t, image.NewGray(image.Rect(0, 0, 3, 3))), 3, 3, image.Pt(1, 1), color.NRGBA{0, 0, 0, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := Decode(context.Background(), tt.data, Limits{MaxPixels: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if out.Rect != image.Rect(0, 0, tt.w, tt.h) {
				t.Fatalf("bounds %v", out.Rect)
			}
			if tt.name != "webp" {
				if got := out.NRGBAAt(tt.at.X, tt.at.Y); got != tt.want {
					t.Fatalf("pixel %v = %v, want %v", tt.at, got, tt.want)
				}
			}
		})
	}
}

func TestDecodeLimitsAndCancel(t *testing.T) {
	t.Parallel()
	data := encodePNG(t, gradient(20, 10))
	_, _, err := Decode(context.Background(), data, Limits{MaxPixels: 199})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTooManyPixels {
		t.Fatalf("Decode over the limit = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Decode(ctx, data, Limits{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Decode with a cancelled context = %v", err)
	}
}

// TestInspectReportsUprightSize: the size users see and edit is the one
// after EXIF orientation, so crops are validated against the right box.
func TestInspectReportsUprightSize(t *testing.T) {
	t.Parallel()
	jpg := withEXIF(encodeJPEG(t, gradient(40, 20), 90), 6)
	info, err := Inspect(jpg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	img, dinfo, err := Decode(context.Background(), jpg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 20 || info.Height != 40 || dinfo != info || img.Rect.Dx() != 20 || img.Rect.Dy() != 40 {
		t.Errorf("Inspect %dx%d, Decode %+v %v; want 20x40 everywhere", info.Width, info.Height, dinfo, img.Rect)
	}
}

// TestYCbCrRowMatchesColor: the fast YCbCr conversion gives exactly
// color.YCbCrToRGB's pixels for every subsampling and odd origins.
func TestYCbCrRowMatchesColor(t *testing.T) {
	t.Parallel()
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 37, 11), image.Rect(3, 5, 40, 16), image.Rect(2, 1, 9, 4)} {
			src := image.NewYCbCr(r, ratio)
			seed := uint32(1)
			next := func() uint8 { seed = seed*1664525 + 1013904223; return uint8(seed >> 24) }
			for i := range src.Y {
				src.Y[i] = next()
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = next(), next()
			}
			got, err := toNRGBA(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					c := src.YCbCrAt(x, y)
					rr, gg, bb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
					if want, px := (color.NRGBA{rr, gg, bb, 255}), got.NRGBAAt(x-r.Min.X, y-r.Min.Y); px != want {
						t.Fatalf("%v %v: pixel (%d,%d) = %v, want %v", ratio, r, x, y, px, want)
					}
				}
			}
		}
	}
}

// A GIF whose first frame covers part of its logical screen decodes at the
// screen's size, as Info and browsers say, with the frame in its place and
// the rest transparent (FuzzDecode found the mismatch).
func TestDecodeGIFFrameSmallerThanScreen(t *testing.T) {
	t.Parallel()
	pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}}
	frame := image.NewPaletted(image.Rect(2, 3, 6, 5), pal)
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 8, Height: 6}})
	if err != nil {
		t.Fatal(err)
	}
	img, info, err := Decode(context.Background(), buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect != image.Rect(0, 0, 8, 6) || info.Width != 8 || info.Height != 6 {
		t.Fatalf("decoded %v, info %+v; want the 8×6 screen", img.Rect, info)
	}
	if got := img.NRGBAAt(3, 4); got != (color.NRGBA{0, 0, 255, 255}) {
		t.Errorf("inside the frame: %v, want blue", got)
	}
	if got := img.NRGBAAt(0, 0); got.A != 0 {
		t.Errorf("outside the frame: %v, want transparent", got)
	}
}
