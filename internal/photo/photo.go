// Package photo makes photo-like JPEGs of any size, for load tests,
// benchmarks and `easel probe --photo`: smooth light and colour gradients
// with sensor-like grain, stored as 4:2:0 YCbCr as cameras and phones store
// them, so that they compress about as well as real photos (a 48 MP one at
// quality 90 is roughly 10–14 MiB) and cost a decoder what a real one costs.
package photo

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// MaxEdge bounds either side of a generated photo.
const MaxEdge = 16384

// JPEG returns a w×h photo-like JPEG at the given quality (1–100). The same
// seed gives the same bytes; different seeds give different pictures.
func JPEG(w, h int, seed uint64, quality int) ([]byte, error) {
	if w < 1 || h < 1 || w > MaxEdge || h > MaxEdge {
		return nil, fmt.Errorf("photo size %d×%d: each side must be from 1 to %d pixels", w, h, MaxEdge)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Broad light and shade, fine texture and sensor noise in the luma; two
	// slow colour washes in the chroma. The seed moves the shapes.
	p1, p2 := rng.Float64()*2*math.Pi, rng.Float64()*2*math.Pi
	for y := range h {
		fy := float64(y) / float64(h)
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range row {
			fx := float64(x) / float64(w)
			shade := 0.5 + 0.5*math.Sin(fx*9+fy*4+p1)*math.Cos(fy*6-fx*2+p2)
			texture := 6 * math.Sin(float64(x)*0.35+float64(y)*0.21) * math.Sin(float64(y)*0.13)
			row[x] = clamp(40 + 170*shade*(0.6+0.4*fy) + texture + rng.NormFloat64()*5)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := range ch {
		fy := float64(y) / float64(ch)
		for x := range cw {
			fx := float64(x) / float64(cw)
			img.Cb[y*img.CStride+x] = clamp(128 + 40*math.Sin(fx*3+fy+p2) + rng.NormFloat64()*2)
			img.Cr[y*img.CStride+x] = clamp(128 + 35*math.Cos(fy*4-fx+p1) + rng.NormFloat64()*2)
		}
	}
	var buf bytes.Buffer
	buf.Grow(w * h / 3)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encoding photo: %w", err)
	}
	return buf.Bytes(), nil
}

// WithComment returns a copy of the JPEG data with a COM segment holding
// text right after its start-of-image marker: the same picture, other
// bytes, so one generated photo can be uploaded many times as distinct
// images (each with its own SHA-256) without encoding it again.
func WithComment(data []byte, text string) ([]byte, error) {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, fmt.Errorf("not a JPEG")
	}
	if len(text) > 65533 {
		return nil, fmt.Errorf("comment of %d bytes is longer than a JPEG segment", len(text))
	}
	n := len(text) + 2
	out := make([]byte, 0, len(data)+n+2)
	out = append(out, 0xFF, 0xD8, 0xFF, 0xFE, byte(n>>8), byte(n))
	out = append(out, text...)
	return append(out, data[2:]...), nil
}

func clamp(v float64) uint8 {
	return uint8(min(max(math.Round(v), 0), 255))
}
