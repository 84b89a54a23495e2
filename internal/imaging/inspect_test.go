package imaging

import (
	"errors"
	"testing"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	img := gradient(64, 48)
	pngData := encodePNG(t, img)
	jpegData := encodeJPEG(t, img, 90)
	gifData := encodeGIF(t, img)
	webpData := webp1x1(t)

	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		want    Info
		code    Code
		message string
	}{
		{name: "png", data: pngData, want: Info{Format: "png", Width: 64, Height: 48}},
		{name: "jpeg", data: jpegData, want: Info{Format: "jpeg", Width: 64, Height: 48}},
		{name: "gif", data: gifData, want: Info{Format: "gif", Width: 64, Height: 48}},
		{name: "webp", data: webpData, want: Info{Format: "webp", Width: 1, Height: 1}},
		{name: "at the limit", data: pngData, lim: Limits{MaxPixels: 64 * 48}, want: Info{Format: "png", Width: 64, Height: 48}},
		{name: "empty", data: nil, code: CodeEmpty},
		{name: "text", data: []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), code: CodeUnsupported,
			message: "the file is not a JPEG, PNG, GIF or WebP image"},
		{name: "bmp", data: []byte("BM\x00\x00\x00\x00\x00\x00\x00\x00"), code: CodeUnsupported},
		{name: "over the limit", data: pngData, lim: Limits{MaxPixels: 64*48 - 1}, code: CodeTooManyPixels,
			message: "the image is 64×48 pixels (0.0031 MP); the limit is 0.0031 MP"},
		{name: "truncated png", data: pngData[:len(pngData)/2], code: CodeCorrupt,
			message: "the image data is truncated or corrupt"},
		{name: "truncated jpeg", data: jpegData[:len(jpegData)/2], code: CodeCorrupt},
		{name: "truncated gif", data: gifData[:len(gifData)/2], code: CodeCorrupt},
		{name: "header only jpeg", data: jpegData[:3], code: CodeCorrupt},
		{name: "truncated webp", data: webpData[:20], code: CodeCorrupt},
		{name: "riff not webp", data: []byte("RIFF\x04\x00\x00\x00WAVE"), code: CodeUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Inspect(tt.data, tt.lim)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Inspect: %v", err)
				}
				if got != tt.want {
					t.Fatalf("Inspect = %+v, want %+v", got, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Inspect error = %v (%T), want *Error", err, err)
			}
			if e.Code != tt.code {
				t.Fatalf("code = %q, want %q (%v)", e.Code, tt.code, err)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Fatalf("message = %q, want %q", e.Message, tt.message)
			}
		})
	}
}

// TestInspectBomb checks that a header claiming a huge image is rejected by
// the pixel check before any pixel is decoded or allocated.
func TestInspectBomb(t *testing.T) {
	t.Parallel()
	// A PNG IHDR for 100000×100000 followed by no data at all: only the
	// header can be read, so reaching the pixel decode would report corrupt.
	data := pngHeader(100000, 100000)
	_, err := Inspect(data, Limits{MaxPixels: 50_000_000})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTooManyPixels {
		t.Fatalf("Inspect = %v, want too_many_pixels", err)
	}
	want := "the image is 100000×100000 pixels (10000 MP); the limit is 50 MP"
	if e.Message != want {
		t.Fatalf("message = %q, want %q", e.Message, want)
	}
}

func TestMegapixels(t *testing.T) {
	t.Parallel()
	for px, want := range map[int64]string{
		50_000_000: "50", 12_000_000: "12", 1_500_000: "1.5", 2_000_000: "2", 300_000: "0.3",
		3072: "0.0031", 10_000_000_000: "10000",
	} {
		if got := megapixels(px); got != want {
			t.Errorf("megapixels(%d) = %q, want %q", px, got, want)
		}
	}
}
