package load

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// photo returns a photo-like w×h JPEG (quality 90): smooth gradients, so it
// compresses like a picture, and noise, so it does not compress like a
// drawing (a 48 MP one is 10–15 MiB, as a camera's would be). It is made
// once and cached in the temporary directory, never in the repository.
func photo(t *testing.T, w, h int) []byte {
	t.Helper()
	path := filepath.Join(os.TempDir(), "easel-load-photo-"+itoa(w)+"x"+itoa(h)+".jpg")
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			n := int(rng.Uint32()%24) - 12
			r := 40 + 160*x/w + n
			g := 60 + 120*y/h + n/2
			b := 200 - 150*(x+y)/(w+h) + n
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = clamp(r), clamp(g), clamp(b), 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err == nil {
		_ = os.Rename(tmp, path)
	}
	return buf.Bytes()
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

func itoa(n int) string {
	var b []byte
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
