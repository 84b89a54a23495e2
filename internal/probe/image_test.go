package probe

import (
	"bytes"
	"image"
	_ "image/jpeg"
	"image/png"
	"testing"
)

func TestMakeUploadIsUniqueAndDecodes(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, tc := range []struct {
		run        uint64
		user, iter int
	}{{1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {2, 0, 0}, {1, 255, 255}} {
		u, err := makeUpload(tc.run, tc.user, tc.iter, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(u.data))
		if err != nil {
			t.Fatalf("generated image does not decode: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 48 {
			t.Fatalf("generated image is %v", b)
		}
		if len(u.digest) != 64 {
			t.Fatalf("digest %q is not hex SHA-256", u.digest)
		}
		if prev, dup := seen[u.digest]; dup {
			t.Fatalf("%s and %s have the same digest", prev, u.name)
		}
		seen[u.digest] = u.name
	}
}

func TestPhotoUploadsAreDistinctJPEGsOfTheirSize(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Photo, cfg.ImageWidth, cfg.ImageHeight = true, 1200, 900
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.makeUpload(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.makeUpload(0, 1)
	if a.digest == b.digest {
		t.Fatal("two flows upload the same bytes")
	}
	c, format, err := image.DecodeConfig(bytes.NewReader(b.data))
	if err != nil || format != "jpeg" || c.Width != 1200 || c.Height != 900 || b.contentType() != "image/jpeg" {
		t.Fatalf("photo upload: %s %dx%d (%s), err %v", format, c.Width, c.Height, b.contentType(), err)
	}
	cfg.ImageWidth = 20000
	if _, err := NewRunner(cfg, Options{}); err == nil {
		t.Error("a 20000 px photo was accepted")
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]int{"8064x6048": {8064, 6048}, "64X48": {64, 48}, "x": {}, "0x5": {}, "12x": {}, "axb": {}} {
		w, h, err := ParseSize(in)
		if (err == nil) != (want != [2]int{}) || err == nil && (w != want[0] || h != want[1]) {
			t.Errorf("ParseSize(%q) = %d, %d, %v", in, w, h, err)
		}
	}
}
