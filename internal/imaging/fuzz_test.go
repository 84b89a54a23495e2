package imaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"testing"
)

// fuzzLimits keeps fuzzed decodes small; the pixel check runs before any
// pixel allocation, so larger claims are rejected cheaply.
var fuzzLimits = Limits{MaxPixels: 1 << 20}

func FuzzInspect(f *testing.F) {
	f.Add(encodePNG(f, gradient(8, 6)))
	f.Add(withEXIF(encodeJPEG(f, gradient(8, 6), 80), 6))
	f.Add(encodeGIF(f, gradient(8, 6)))
	f.Add(webp1x1(f))
	f.Add(pngHeader(100000, 100000))
	addJPEGFixtures(f)
	addICCFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data, fuzzLimits)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Inspect error is not *Error: %v", err)
		}
		if err == nil && (info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > fuzzLimits.MaxPixels) {
			t.Fatalf("Inspect accepted %+v", info)
		}
	})
}

// FuzzDecode checks Decode and DecodePreview (the shrink-on-load path that
// validates uploads) on the same input: no panic, errors are *Error or a
// wrapped one, and both agree on the image's Info when they succeed.
func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, gradient(8, 6)))
	f.Add(withEXIF(encodeJPEG(f, gradient(8, 6), 80), 6))
	f.Add(withEXIF(encodeJPEG(f, gradient(5, 3), 80), 7))
	f.Add(encodeGIF(f, gradient(8, 6)))
	f.Add(webp1x1(f))
	f.Add(withEXIF(encodeJPEG(f, gradient(70, 41), 80), 6))
	addJPEGFixtures(f)
	addICCFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		img, info, err := Decode(ctx, data, fuzzLimits)
		if err == nil {
			w, h := img.Rect.Dx(), img.Rect.Dy()
			if w != info.Width || h != info.Height {
				t.Fatalf("decoded %d×%d from %+v", w, h, info)
			}
		}
		const edge = 16
		p, pinfo, perr := DecodePreview(ctx, data, fuzzLimits, edge)
		if perr != nil {
			var e *Error
			if !errors.As(perr, &e) {
				t.Fatalf("DecodePreview error is not *Error: %v", perr)
			}
			return
		}
		dw, dh := PreviewSize(pinfo.Width, pinfo.Height, edge)
		if p.Rect != image.Rect(0, 0, dw, dh) {
			t.Fatalf("preview %v of %+v, want %d×%d", p.Rect, pinfo, dw, dh)
		}
		if err != nil {
			// An upload is validated by DecodePreview; an export decodes
			// at full size, which must then work too.
			t.Fatalf("DecodePreview accepted what Decode refuses: %v", err)
		}
		if pinfo != info {
			t.Fatalf("DecodePreview info %+v, Decode %+v", pinfo, info)
		}
	})
}

// addJPEGFixtures seeds a fuzz target with every layout in testdata/jpeg.
func addJPEGFixtures(f *testing.F) {
	for _, data := range jpegFixtures(f) {
		f.Add(data)
	}
}

// addICCFixtures seeds a fuzz target with images carrying ICC profiles, so
// that mutations reach the profile extraction and parser (colour.go,
// icc.go): the Adobe RGB fixtures, and a small JPEG with a minimal curv
// profile split over two APP2 chunks.
func addICCFixtures(f *testing.F) {
	f.Add(readICCFixture(f, "adobe.jpg"))
	f.Add(readICCFixture(f, "adobe.png"))
	f.Add(readICCFixture(f, "adobe.webp"))
	f.Add(withICC(encodeJPEG(f, gradient(8, 6), 80), matrixProfile(srgbD50, []uint16{563}), 2, 2, 1))
}

// FuzzICC feeds profiles straight to the parser and the conversion, which
// mutations of whole images rarely reach intact: no panic, and an unusable
// profile leaves the pixels alone.
func FuzzICC(f *testing.F) {
	f.Add(readICCFixture(f, "AdobeRGB1998.icc"))
	f.Add(readICCFixture(f, "sRGB.icc"))
	f.Add(matrixProfile(srgbD50, []uint16{563}))
	f.Add(matrixProfile(srgbD50, []uint16{0, 1000, 30000, 65535}))
	f.Fuzz(func(t *testing.T, profile []byte) {
		img := gradient(16, 16)
		want := append([]uint8{}, img.Pix...)
		if err := toSRGB(context.Background(), img, profile); err != nil {
			t.Fatal(err)
		}
		if _, ok := parseICC(profile); !ok && !bytes.Equal(img.Pix, want) {
			t.Fatal("an unusable profile changed the pixels")
		}
	})
}

func FuzzParseOp(f *testing.F) {
	for _, s := range []string{
		`{"op":"crop","x":10,"y":5,"width":60,"height":40}`, `{"op":"crop","aspect":"16:9"}`,
		`{"op":"resize","width":800,"height":600,"fit":"cover"}`, `{"op":"resize","height":7}`,
		`{"op":"rotate","angle":90}`, `{"op":"rotate","angle":-33.3,"fill":"#102030"}`,
		`{"op":"flip","direction":"vertical"}`, `{"op":"brightness","amount":-0.2}`,
		`{"op":"contrast","amount":1}`, `{"op":"saturation","amount":0.5}`, `{"op":"hue","degrees":30}`,
		`{"op":"gamma","value":1.8}`, `{"op":"grayscale"}`, `{"op":"sepia"}`, `{"op":"invert"}`,
		`{"op":"blur","sigma":2}`, `{"op":"sharpen","amount":1,"radius":1.5}`,
		`{"op":"composite","result":"` + digest + `","width":3,"height":2}`,
		`{"op":"rotate","angle":1e308}`, `{"op":"crop","x":9223372036854775807,"y":0,"width":1,"height":1}`,
		`{"op":"crop","aspect":"1:1","aspect":"2:1"}`, `{}`, `[]`, `"op"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		op, err := ParseOp(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidOp {
				t.Fatalf("ParseOp error %v is not an invalid_op *Error", err)
			}
			return
		}
		again, err := json.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseOp(again)
		if err != nil || back != op {
			t.Fatalf("round trip %s → %s → %+v, %v", data, again, back, err)
		}
		_ = op.String()
		const w, h = 24, 16
		if op.Validate(w, h) != nil {
			return
		}
		if bw, bh := op.Bounds(w, h); bw*bh > 1<<16 {
			return // valid but too slow to apply on every fuzz input
		}
		out, err := op.Apply(context.Background(), gradient(w, h))
		if op.Op == OpComposite {
			return
		}
		if err != nil {
			t.Fatalf("Apply(%s) of a valid op: %v", data, err)
		}
		if bw, bh := op.Bounds(w, h); out.Rect.Dx() != bw || out.Rect.Dy() != bh {
			t.Fatalf("Apply(%s) = %v, Bounds %d×%d", data, out.Rect, bw, bh)
		}
	})
}
