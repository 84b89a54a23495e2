package photo

import (
	"bytes"
	"crypto/sha256"
	"image/jpeg"
	"testing"
)

func TestJPEGDecodesAtItsSize(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{1, 1}, {33, 17}, {640, 480}, {4000, 3000}} {
		data, err := JPEG(sz[0], sz[1], 7, 90)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%v: does not decode: %v", sz, err)
		}
		if b := img.Bounds(); b.Dx() != sz[0] || b.Dy() != sz[1] {
			t.Fatalf("%v: decoded as %v", sz, b)
		}
		// A 12 MP photo from a phone is 3–6 MiB at this quality: so must
		// this one be, or it would not cost a decoder what a photo costs.
		if sz[0] == 4000 {
			if mib := float64(len(data)) / (1 << 20); mib < 2.5 || mib > 6 {
				t.Errorf("a 12 MP photo is %.1f MiB, want about 3–5", mib)
			}
		}
	}
	if _, err := JPEG(0, 10, 1, 90); err == nil {
		t.Error("a photo with no pixels was made")
	}
}

func TestSeedsAndCommentsMakeDistinctImages(t *testing.T) {
	t.Parallel()
	a, _ := JPEG(320, 240, 1, 90)
	a2, _ := JPEG(320, 240, 1, 90)
	b, _ := JPEG(320, 240, 2, 90)
	if !bytes.Equal(a, a2) {
		t.Error("the same seed gave different bytes")
	}
	if bytes.Equal(a, b) {
		t.Error("different seeds gave the same bytes")
	}
	c1, err := WithComment(a, "user 1")
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := WithComment(a, "user 2")
	if sha256.Sum256(c1) == sha256.Sum256(c2) || sha256.Sum256(c1) == sha256.Sum256(a) {
		t.Error("comments did not change the digest")
	}
	img, err := jpeg.Decode(bytes.NewReader(c1))
	if err != nil || img.Bounds().Dx() != 320 {
		t.Fatalf("a commented photo does not decode: %v", err)
	}
	if _, err := WithComment([]byte("GIF89a"), "x"); err == nil {
		t.Error("a GIF got a JPEG comment")
	}
}
