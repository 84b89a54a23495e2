package imaging

import (
	"context"
	"encoding/binary"
	"image"
	"sync/atomic"
)

// isOpaque reports whether every pixel of img has alpha 255, which lets the
// filters skip premultiplication. It reads two pixels per word, and is too
// quick to be worth cancelling.
func isOpaque(img *image.NRGBA) bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var translucent atomic.Bool
	_ = parallel(context.Background(), h, func(lo, hi int) {
		const alpha = 0xff000000_ff000000
		for y := lo; y < hi && !translucent.Load(); y++ {
			row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
			i := 0
			for ; i+8 <= len(row); i += 8 {
				if binary.LittleEndian.Uint64(row[i:])&alpha != alpha {
					translucent.Store(true)
					return
				}
			}
			if i < len(row) && row[i+3] != 255 {
				translucent.Store(true)
				return
			}
		}
	})
	return !translucent.Load()
}

// premultiplied returns a copy of img with colour multiplied by alpha, still
// typed NRGBA: the filters treat the four channels alike, which is only
// correct for premultiplied data.
func premultiplied(ctx context.Context, img *image.NRGBA) (*image.NRGBA, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	err := parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
			d := dst.Pix[y*dst.Stride:][:4*w]
			for i := 0; i < len(s); i += 4 {
				a := uint32(s[i+3])
				d[i] = uint8((uint32(s[i])*a + 127) / 255)
				d[i+1] = uint8((uint32(s[i+1])*a + 127) / 255)
				d[i+2] = uint8((uint32(s[i+2])*a + 127) / 255)
				d[i+3] = s[i+3]
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// unpremultiplyInPlace undoes premultiplied, clamping colour to alpha first
// (filters may overshoot).
func unpremultiplyInPlace(ctx context.Context, img *image.NRGBA) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	return parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			p := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
			for i := 0; i < len(p); i += 4 {
				a := p[i+3]
				unpremultiply(p[i:i+4:i+4], min(p[i], a), min(p[i+1], a), min(p[i+2], a), a)
			}
		}
	})
}
