package imaging

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/HugoSmits86/nativewebp"
)

// Encode writes img to w as "jpeg" (quality 1–100), "png" or "webp".
//
// Output is re-encoded from pixels alone, so no metadata from the source
// file (EXIF including GPS position, XMP, ICC profiles, comments) can reach
// it. JPEG has no alpha channel: transparent pixels are flattened onto white.
// WebP is written lossless (VP8L) by github.com/HugoSmits86/nativewebp, the
// maintained pure-Go encoder; PNG uses fast compression, since renders are
// cached. quality is ignored for PNG and WebP.
func Encode(w io.Writer, img *image.NRGBA, format string, quality int) error {
	switch format {
	case FormatJPEG:
		if quality < 1 || quality > 100 {
			return &Error{Code: CodeInvalidArgument, Field: "quality",
				Message: fmt.Sprintf("JPEG quality must be from 1 to 100, got %d", quality)}
		}
		if err := jpeg.Encode(w, flattenForJPEG(img), &jpeg.Options{Quality: quality}); err != nil {
			return fmt.Errorf("encoding jpeg: %w", err)
		}
	case FormatPNG:
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		var m image.Image = img
		if isOpaque(img) {
			m = asRGBA(img) // lets the encoder write 3-channel RGB
		}
		if err := enc.Encode(w, m); err != nil {
			return fmt.Errorf("encoding png: %w", err)
		}
	case FormatWebP:
		if img.Rect.Dx() > MaxEdge || img.Rect.Dy() > MaxEdge {
			return newError(CodeUnsupported, nil, "WebP images can be at most %d pixels a side; choose JPEG or PNG", MaxEdge)
		}
		if err := nativewebp.Encode(w, img, nil); err != nil {
			return fmt.Errorf("encoding webp: %w", err)
		}
	default:
		return newError(CodeUnsupported, nil, "cannot encode %q; choose jpeg, png or webp", format)
	}
	return nil
}

// asRGBA reinterprets an opaque NRGBA as RGBA without copying: with alpha
// 255 both layouts hold the same bytes. image/jpeg and image/png have fast
// paths for *image.RGBA but not for *image.NRGBA.
func asRGBA(img *image.NRGBA) *image.RGBA {
	return &image.RGBA{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect}
}

// flattenForJPEG returns an RGBA view of img composited onto white; opaque
// images are not copied.
func flattenForJPEG(img *image.NRGBA) *image.RGBA {
	if isOpaque(img) {
		return asRGBA(img)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// Errors only come from a cancelled context, and this one never is.
	_ = parallel(context.Background(), h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
			d := dst.Pix[y*dst.Stride:][:4*w]
			for i := 0; i+3 < len(s); i += 4 {
				a := uint32(s[i+3])
				for c := range 3 {
					d[i+c] = uint8((uint32(s[i+c])*a + 255*(255-a) + 127) / 255)
				}
				d[i+3] = 255
			}
		}
	})
	return dst
}
