package compose

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"testing"

	"github.com/easelhq/easel/internal/imaging"
)

// fill returns a w×h image of one colour.
func fill(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// disc returns a w×h white image with a red disc of radius r in the centre.
func disc(w, h, r int) *image.NRGBA {
	img := fill(w, h, color.NRGBA{255, 255, 255, 255})
	cx, cy := w/2, h/2
	for y := range h {
		for x := range w {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
				img.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 255})
			}
		}
	}
	return img
}

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol && d(a.A, b.A) <= tol
}

// pngBytes encodes img as PNG.
func pngBytes(t testing.TB, img *image.NRGBA) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, img, imaging.FormatPNG, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
