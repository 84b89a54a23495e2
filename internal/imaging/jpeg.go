package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/gen2brain/jpegn"
)

// JPEGs decode with github.com/gen2brain/jpegn, which can run the inverse
// DCT at 1/2, 1/4 or 1/8 of the size (shrink-on-load: a 48 MP photo's
// 1600 px preview decodes at 2016×1512 and never holds 48 MP of pixels) and
// is about twice as fast as image/jpeg at full size. Its full-size output
// matches image/jpeg's within the bound that TestJPEGMatchesStdlib states,
// except in progressive files, where jpegn v0.4.2 decodes the bottom-right
// chroma block of odd-sized 4:2:0 images up to 16 levels off: full-size
// decodes of progressive JPEGs (rare from phones and cameras, and the
// decode that exports see) stay on image/jpeg; their previews accept the
// one off block for shrinking on load.
//
// jpegn is lenient where image/jpeg is strict, in the way of libjpeg: it
// returns what it decoded of a truncated file. A JPEG is therefore only
// handed to it when its markers reach the end-of-image marker (jpegComplete),
// which image/jpeg requires too, so a truncated upload is refused as before.
// Anything jpegn refuses (or panics on) is decoded by image/jpeg, whose
// verdict stands.
//
// Damage inside the entropy-coded data is another matter: jpegn conceals it
// as libjpeg and browsers do, where image/jpeg refuses the file. Of 300
// random three-byte corruptions of each fixture's scan data, image/jpeg
// refused 5–10 % of the baseline ones and almost 90 % of the progressive
// ones that jpegn decodes. Such uploads are now accepted and show the
// damage, as any viewer would; a full-size decode then succeeds too
// (decodeJPEG falls back to jpegn for progressive files), so an accepted
// upload can always be exported. FuzzDecode checks that.

// jpegScales are the reduced scales (denominators) jpegn decodes at, largest first.
var jpegScales = [...]int{8, 4, 2}

// errTruncated is the cause logged for a JPEG that ends before its
// end-of-image marker.
var errTruncated = errors.New("jpeg: no end-of-image marker: the file is truncated")

// decodeJPEG decodes a JPEG as stored (before EXIF orientation) at 1/scale
// of its size, rounded up; anything jpegn refuses, and progressive files at
// full size, are decoded at full size by image/jpeg instead, so callers
// must not assume the scale. Errors are *Error with CodeCorrupt.
func decodeJPEG(data []byte, scale int) (image.Image, error) {
	if !jpegComplete(data) {
		return nil, corrupt(errTruncated)
	}
	stdFirst := scale == 1 && jpegProgressive(data)
	if !stdFirst {
		if img, err := jpegnDecode(data, scale); err == nil {
			return img, nil
		}
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err == nil {
		return img, nil
	}
	if stdFirst {
		// Uploads are validated by jpegn at reduced scale, which accepts
		// some damaged progressive files that image/jpeg refuses: decode
		// those the way they were accepted, or an accepted upload could
		// never be exported.
		if img, jerr := jpegnDecode(data, 1); jerr == nil {
			return img, nil
		}
	}
	return nil, corrupt(err)
}

// jpegnDecode runs jpegn, turning a panic into an error: jpegn recovers its
// own decoding errors but not, say, an index out of range on hostile input.
func jpegnDecode(data []byte, scale int) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("jpegn panicked: %v", r)
		}
	}()
	img, err = jpegn.Decode(bytes.NewReader(data), &jpegn.Options{ScaleDenom: scale})
	if err == nil && (img == nil || img.Bounds().Empty()) {
		return nil, errors.New("jpegn returned no pixels")
	}
	return img, err
}

// jpegComplete reports whether the JPEG's markers lead to an end-of-image
// marker, walking them the way image/jpeg's decoder does: segments with a
// length are skipped whole (so an EXIF thumbnail's own EOI does not count),
// and in entropy-coded data stuffed 0xFF00 bytes, restart markers, fill
// bytes and extraneous bytes are passed over. image/jpeg fails on every
// file where this finds no EOI, so checking it first keeps jpegn's
// leniency from accepting truncated uploads.
func jpegComplete(data []byte) bool {
	i := 2
	for {
		j := bytes.IndexByte(data[min(i, len(data)):], 0xFF)
		if j < 0 {
			return false
		}
		i += j + 1
		for i < len(data) && data[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(data) {
			return false
		}
		m := data[i]
		i++
		switch {
		case m == 0xD9:
			return true
		case m == 0x00, m == 0x01, m >= 0xD0 && m <= 0xD8: // stuffed byte, TEM, RSTn, SOI: no length
			continue
		}
		if i+2 > len(data) {
			return false
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 {
			return false
		}
		i += n
	}
}

// jpegProgressive reports whether the JPEG's frame is progressive (SOF2),
// reading markers up to the first frame header.
func jpegProgressive(data []byte) bool {
	progressive := false
	jpegHeaderSegments(data, func(m byte, _ []byte) bool {
		isSOF := m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
		progressive = m == 0xC2
		return !isSOF
	})
	return progressive
}

// jpegHeaderSegments calls f with the marker and the payload of each
// segment of a JPEG's header, in order, until f returns false or the first
// scan (or the end of the image) is reached. Fill bytes and markers without
// a length are passed over; a byte where a marker should be ends the walk.
// It reports false when a segment runs past the data or claims a length
// below 2 (f has then seen the segments before it). The metadata readers
// (EXIF orientation, ICC profile, frame type) all walk the header this way.
func jpegHeaderSegments(data []byte, f func(marker byte, seg []byte) bool) bool {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return true
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return true
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return true
		}
		size := int(binary.BigEndian.Uint16(data[i+2:]))
		if size < 2 || i+2+size > len(data) {
			return false
		}
		if !f(marker, data[i+4:i+2+size]) {
			return true
		}
		i += 2 + size
	}
	return true
}

// PreviewScale returns the denominator (1, 2, 4 or 8) at which
// [DecodePreview] decodes the image that info describes for a preview whose
// long edge is edge: the largest that still leaves at least the preview's
// pixels on both axes, so that the preview is only ever scaled down. Only
// JPEGs decode at reduced scale; other formats return 1.
func PreviewScale(info Info, edge int) int {
	if info.Format != FormatJPEG {
		return 1
	}
	dw, dh := PreviewSize(info.Width, info.Height, edge)
	for _, s := range jpegScales {
		if ceilDiv(info.Width, s) >= dw && ceilDiv(info.Height, s) >= dh {
			return s
		}
	}
	return 1
}

// DecodeBytes estimates the most memory, in bytes, that decoding the image
// info describes holds at once at 1/scale of its size (scale as returned by
// [PreviewScale] for [DecodePreview]; 1 for [Decode]): the decoder's own
// buffers, the NRGBA result, and two more buffers of its size for EXIF
// orientation's copy or a preview's two resampling passes. It is an upper
// bound for the layouts easel sees (JPEG 4:4:4 at worst, 16-bit PNG) and
// does not count the encoded file, which jpegn copies once more (add its
// length). Progressive JPEGs hold every DCT coefficient at full size
// whatever the scale (4 bytes per sample), so for them shrinking on load
// saves far less. It is meant for admission control: check it against a
// memory budget before decoding. Examples: a 48 MP baseline JPEG needs
// about 730 MB at full size and 46 MB for its 1600 px preview (scale 4).
func DecodeBytes(info Info, scale int) int64 {
	w, h := int64(info.Width), int64(info.Height)
	const nrgba = 3 * 4 // the result and two more of its size
	switch info.Format {
	case FormatJPEG:
		s := int64(max(scale, 1))
		px := ((w + s - 1) / s) * ((h + s - 1) / s)
		n := (3 + nrgba) * px // decoder planes (4:4:4)
		if info.Progressive {
			n += 3 * 4 * w * h // one int32 per sample of three full-size planes
		}
		return n
	case FormatPNG:
		return (8 + nrgba) * w * h // 16-bit RGBA as decoded
	case FormatGIF:
		return (1 + nrgba) * w * h
	default: // WebP: YCbCr 4:2:0 with alpha
		return (3 + nrgba) * w * h
	}
}

// PreviewSize is the size of the preview of a w×h image with long edge
// edge (the image's own size when it already fits): what [Preview] and
// [DecodePreview] make.
func PreviewSize(w, h, edge int) (int, int) {
	if edge <= 0 || (w <= edge && h <= edge) {
		return w, h
	}
	return resizeSize(w, h, edge, edge, FitContain)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
