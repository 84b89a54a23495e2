package imaging

import (
	"context"
	"fmt"
	"image"
	"image/color"
)

// Decode decodes data into an *image.NRGBA with its origin at (0, 0).
//
// The format is sniffed from magic bytes and the header is checked against
// lim before any pixel is allocated (see [Inspect]). GIFs yield their first
// frame. A JPEG's EXIF orientation (tags 1–8) is applied, so the result is
// upright, and the returned Info describes it as Inspect does. Errors are *[Error] values, or ctx's error.
func Decode(ctx context.Context, data []byte, lim Limits) (*image.NRGBA, Info, error) {
	c, info, err := inspectHeader(data, lim)
	if err != nil {
		return nil, Info{}, err
	}
	img, err := decodeUpright(ctx, c, data, 1)
	if err != nil {
		return nil, Info{}, err
	}
	return img, info, nil
}

// DecodePreview decodes data into the preview [Preview] would make of the
// fully decoded image: long edge edge (or the image as is when it already
// fits), upright, with exactly the size Preview gives. A JPEG shrinks on
// load: it decodes at the largest scale that leaves at least the preview's
// pixels ([PreviewScale]), so a 48 MP photo never holds 48 MP. Every pixel
// is still entropy-decoded, so the data is validated as [Inspect] does.
// Info describes the full-size image, as Inspect reports it.
func DecodePreview(ctx context.Context, data []byte, lim Limits, edge int) (*image.NRGBA, Info, error) {
	c, info, err := inspectHeader(data, lim)
	if err != nil {
		return nil, Info{}, err
	}
	scale := PreviewScale(info, edge)
	if scale == 1 {
		img, err := decodeUpright(ctx, c, data, 1)
		if err != nil {
			return nil, Info{}, err
		}
		p, err := Preview(ctx, img, edge)
		if err != nil {
			return nil, Info{}, err
		}
		return p, info, nil
	}
	// Resample as stored, then orient the small result: the same pixels as
	// orienting first, at a fraction of the cost.
	img, err := decodeStored(ctx, c, data, scale)
	if err != nil {
		return nil, Info{}, err
	}
	dw, dh := PreviewSize(info.Width, info.Height, edge)
	o := exifOrientation(data)
	if o >= 5 {
		dw, dh = dh, dw
	}
	if img.Rect.Dx() != dw || img.Rect.Dy() != dh {
		if img, err = resample(ctx, img, dw, dh); err != nil {
			return nil, Info{}, err
		}
	}
	if img, err = orient(ctx, img, o); err != nil {
		return nil, Info{}, fmt.Errorf("applying exif orientation: %w", err)
	}
	return img, info, nil
}

// decodeUpright decodes at 1/scale and applies a JPEG's EXIF orientation.
func decodeUpright(ctx context.Context, c codec, data []byte, scale int) (*image.NRGBA, error) {
	img, err := decodeStored(ctx, c, data, scale)
	if err != nil {
		return nil, err
	}
	if c.format == FormatJPEG {
		if img, err = orient(ctx, img, exifOrientation(data)); err != nil {
			return nil, fmt.Errorf("applying exif orientation: %w", err)
		}
	}
	return img, nil
}

// decodeStored decodes at 1/scale (where the format allows) into NRGBA, as
// stored: before EXIF orientation. A JPEG's or PNG's embedded ICC profile
// (or WebP's) is applied, so the pixels are sRGB (see colour.go).
func decodeStored(ctx context.Context, c codec, data []byte, scale int) (*image.NRGBA, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src, err := c.decode(data, scale)
	if err != nil {
		return nil, err
	}
	img, err := toNRGBA(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("converting %s pixels: %w", c.format, err)
	}
	if err := toSRGB(ctx, img, embeddedICC(c.format, data)); err != nil {
		return nil, fmt.Errorf("converting %s pixels to srgb: %w", c.format, err)
	}
	return img, nil
}

// orient turns an image stored with EXIF orientation o (1–8) upright.
func orient(ctx context.Context, img *image.NRGBA, o int) (*image.NRGBA, error) {
	if o <= 1 || o > 8 {
		return img, nil
	}
	return dihedral(ctx, img, o)
}

// toNRGBA converts a decoded image to NRGBA with a (0, 0) origin, with fast
// paths for what the decoders produce.
func toNRGBA(ctx context.Context, src image.Image) (*image.NRGBA, error) {
	b := src.Bounds()
	if m, ok := src.(*image.NRGBA); ok && b.Min == (image.Point{}) {
		return m, nil // decoders return fresh images, so no copy is needed
	}
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	var row func(y int, d []uint8)
	switch m := src.(type) {
	case *image.YCbCr:
		row = ycbcrRow(m, w)
	case *image.Gray:
		row = func(y int, d []uint8) {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range s {
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 255
			}
		}
	case *image.NRGBA:
		row = func(y int, d []uint8) { copy(d, m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]) }
	case *image.RGBA:
		row = func(y int, d []uint8) {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < len(s); x += 4 {
				unpremultiply(d[x:x+4:x+4], s[x], s[x+1], s[x+2], s[x+3])
			}
		}
	case *image.Paletted:
		var pal [256][4]uint8
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
		}
		row = func(y int, d []uint8) {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range s {
				copy(d[4*x:4*x+4], pal[v][:]) // out-of-palette indices are transparent black
			}
		}
	default: // CMYK, 16-bit and anything else: slow but correct
		row = func(y int, d []uint8) {
			for x := range w {
				n := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = n.R, n.G, n.B, n.A
			}
		}
	}
	err := parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row(y, dst.Pix[y*dst.Stride:][:4*w])
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// ycbcrRow converts rows of a YCbCr image to NRGBA with exactly
// color.YCbCrToRGB's arithmetic. The layouts JPEG decoders produce (4:4:4,
// 4:2:2 and 4:2:0 at an even origin) take a loop that walks the chroma
// planes directly and shares each chroma sample's products between the
// pixels it covers: a full-size decode converts every pixel, and the
// general path's COffset per pixel made that a third of a 48 MP decode.
func ycbcrRow(m *image.YCbCr, w int) func(y int, d []uint8) {
	b := m.Rect
	shift := -1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		shift = 0
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		if b.Min.X%2 == 0 {
			shift = 1
		}
	}
	if shift < 0 {
		return func(y int, d []uint8) {
			sy := b.Min.Y + y
			yi := m.YOffset(b.Min.X, sy)
			for x := range w {
				ci := m.COffset(b.Min.X+x, sy)
				r, g, bl := color.YCbCrToRGB(m.Y[yi+x], m.Cb[ci], m.Cr[ci])
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bl, 255
			}
		}
	}
	return func(y int, d []uint8) {
		sy := b.Min.Y + y
		ys := m.Y[m.YOffset(b.Min.X, sy):][:w]
		ci := m.COffset(b.Min.X, sy)
		cw := (w + (1 << shift) - 1) >> shift
		cbs, crs := m.Cb[ci:][:cw], m.Cr[ci:][:cw]
		d = d[:4*w]
		for x, yv := range ys {
			c := x >> shift
			cb1, cr1 := int32(cbs[c])-128, int32(crs[c])-128
			yy1 := int32(yv) * 0x10101
			p := d[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = clampFix16(yy1+91881*cr1), clampFix16(yy1-22554*cb1-46802*cr1), clampFix16(yy1+116130*cb1), 255
		}
	}
}

// clampFix16 is color.YCbCrToRGB's shift and clamp of one channel, with
// min and max (branch-free) instead of its branch.
func clampFix16(v int32) uint8 { return uint8(min(max(v>>16, 0), 255)) }

// unpremultiply writes the non-premultiplied form of an RGBA pixel to d.
func unpremultiply(d []uint8, r, g, b, a uint8) {
	switch a {
	case 255:
		d[0], d[1], d[2], d[3] = r, g, b, 255
	case 0:
		d[0], d[1], d[2], d[3] = 0, 0, 0, 0
	default:
		a32 := uint32(a)
		d[0] = uint8(min(255, (uint32(r)*255+a32/2)/a32))
		d[1] = uint8(min(255, (uint32(g)*255+a32/2)/a32))
		d[2] = uint8(min(255, (uint32(b)*255+a32/2)/a32))
		d[3] = a
	}
}
