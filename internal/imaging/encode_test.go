package imaging

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	src := gradient(40, 30)
	for _, format := range []string{FormatJPEG, FormatPNG, FormatWebP} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := Encode(&b, src, format, 90); err != nil {
				t.Fatal(err)
			}
			out, info, err := Decode(context.Background(), b.Bytes(), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != format || out.Rect != src.Rect {
				t.Fatalf("got %+v %v", info, out.Rect)
			}
			if format != FormatJPEG && !bytes.Equal(out.Pix, src.Pix) {
				t.Fatal("lossless round trip changed pixels")
			}
		})
	}
}

// TestEncodeDropsMetadata feeds a JPEG with an EXIF block holding a GPS IFD
// through decode and encode and checks that none of it comes out.
func TestEncodeDropsMetadata(t *testing.T) {
	t.Parallel()
	in := withEXIF(encodeJPEG(t, gradient(16, 16), 90), 1)
	if !bytes.Contains(in, []byte("Exif")) {
		t.Fatal("test input has no EXIF")
	}
	img, _, err := Decode(context.Background(), in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatJPEG, FormatPNG, FormatWebP} {
		var b bytes.Buffer
		if err := Encode(&b, img, format, 80); err != nil {
			t.Fatal(err)
		}
		for _, marker := range [][]byte{[]byte("Exif"), []byte("MM\x00*"), {0x88, 0x25}, []byte("eXIf"), []byte("XMP")} {
			if bytes.Contains(b.Bytes(), marker) {
				t.Errorf("%s output contains %q", format, marker)
			}
		}
	}
}

func TestEncodeJPEGFlattensOnWhite(t *testing.T) {
	t.Parallel()
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16)) // fully transparent
	var b bytes.Buffer
	if err := Encode(&b, img, FormatJPEG, 90); err != nil {
		t.Fatal(err)
	}
	out, _, err := Decode(context.Background(), b.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.NRGBAAt(8, 8); c.R < 250 || c.G < 250 || c.B < 250 {
		t.Fatalf("transparent pixel encoded as %v, want white", c)
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	img := gradient(4, 4)
	for _, tt := range []struct {
		format  string
		quality int
		code    Code
	}{
		{"bmp", 90, CodeUnsupported},
		{FormatJPEG, 0, CodeInvalidArgument},
		{FormatJPEG, 101, CodeInvalidArgument},
	} {
		var e *Error
		if err := Encode(&bytes.Buffer{}, img, tt.format, tt.quality); !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("Encode(%s, %d) = %v, want %s", tt.format, tt.quality, err, tt.code)
		}
	}
}
