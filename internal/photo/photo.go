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
	// A few broad shapes: a light gradient, a bright "sky" band and a
	// diagonal colour wash whose angle depends on the seed.
	tilt := rng.IntN(64) + 16
	for y := range h {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		base := 40 + 150*y/h
		for x := range row {
			v := base + 50*((x*tilt/64+y)%w)/w + int(rng.Uint32()%23) - 11 // grain: ±11 levels
			row[x] = clamp(v)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := range ch {
		cb := img.Cb[y*img.CStride : y*img.CStride+cw]
		cr := img.Cr[y*img.CStride : y*img.CStride+cw]
		for x := range cb {
			cb[x] = clamp(128 + 60*x/cw - 30 + int(rng.Uint32()&7) - 4)
			cr[x] = clamp(128 + 50*y/ch - 25 + int(rng.Uint32()&7) - 4)
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

func clamp(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}
