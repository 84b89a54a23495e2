package imaging

import (
	"bytes"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/webp"
)

// Format names reported in [Info.Format] and accepted by [Encode].
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatGIF  = "gif"
	FormatWebP = "webp"
)

// Limits bound what a decoder may allocate.
type Limits struct {
	MaxPixels int64 // 0 = no limit
}

// Info describes an encoded image without decoding its pixels.
type Info struct {
	Format        string // "jpeg", "png", "gif" or "webp"
	Width, Height int    // as displayed: after EXIF orientation (a phone photo stored 4000×3000 with orientation 6 is 3000×4000)
	// Progressive is true for a progressive JPEG, whose decoder holds every
	// coefficient at full size even when it shrinks on load (see DecodeBytes).
	Progressive bool
}

// codec is one decoder, looked up by sniffed format. The table is read-only:
// the package never touches the global image.RegisterFormat registry and
// never decodes through it (jpegn's init registers itself there, as the
// standard decoders' do; that is the only use of the registry).
type codec struct {
	format string
	config func(io.Reader) (image.Config, error)
	// decode returns the image as stored at 1/scale of its size (1, 2, 4
	// or 8) where the format can shrink on load (JPEG), else at full size;
	// GIF: the first frame only. Errors are *Error with CodeCorrupt.
	decode func(data []byte, scale int) (image.Image, error)
}

var codecs = [...]codec{
	{FormatJPEG, jpeg.DecodeConfig, decodeJPEG},
	{FormatPNG, png.DecodeConfig, fullSize(png.Decode)},
	{FormatGIF, gif.DecodeConfig, decodeGIF},
	{FormatWebP, webp.DecodeConfig, fullSize(webp.Decode)},
}

// decodeGIF decodes a GIF's first frame onto its logical screen, as
// browsers show it: a frame may cover only part of the screen (the rest is
// transparent), and Info, read from the header, reports the screen's size.
func decodeGIF(data []byte, _ int) (image.Image, error) {
	cfg, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(err)
	}
	frame, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(err)
	}
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	if frame.Bounds() == screen {
		return frame, nil
	}
	// image/gif refuses frames that reach outside the screen, so the frame
	// lies within it.
	canvas := image.NewNRGBA(screen)
	draw.Draw(canvas, frame.Bounds(), frame, frame.Bounds().Min, draw.Src)
	return canvas, nil
}

// fullSize adapts a standard decoder, which has no reduced scale.
func fullSize(decode func(io.Reader) (image.Image, error)) func([]byte, int) (image.Image, error) {
	return func(data []byte, _ int) (image.Image, error) {
		img, err := decode(bytes.NewReader(data))
		if err != nil {
			return nil, corrupt(err)
		}
		return img, nil
	}
}

// sniff identifies the format from magic bytes only.
func sniff(data []byte) (codec, bool) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return codecs[0], true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return codecs[1], true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return codecs[2], true
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return codecs[3], true
	}
	return codec{}, false
}

// Inspect sniffs the format from magic bytes (never trusting a client's
// Content-Type), reads the header, checks width×height (computed in int64)
// against lim, and then verifies that the pixel data decodes, so truncated or
// corrupt uploads are rejected up front. The decode only happens after the
// pixel check has passed, so a decompression bomb allocates nothing. A JPEG
// is decoded at 1/8 scale: every coefficient is still entropy-decoded, so
// corruption is found, at a 64th of the pixels. [DecodePreview] validates
// in the same way and keeps the pixels.
//
// Errors are *[Error] with Code [CodeEmpty], [CodeUnsupported],
// [CodeTooManyPixels] or [CodeCorrupt].
func Inspect(data []byte, lim Limits) (Info, error) {
	c, info, err := inspectHeader(data, lim)
	if err != nil {
		return Info{}, err
	}
	if _, err := c.decode(data, jpegScales[0]); err != nil {
		return Info{}, err
	}
	return info, nil
}

// Header does what [Inspect] does short of decoding the pixels: it sniffs
// the format, reads the header and checks the pixel limit, reading a few
// kilobytes. It is for sizing a decode with [DecodeBytes] before admitting
// it; only a decode proves that the pixel data is sound. Errors are *[Error]
// with Code [CodeEmpty], [CodeUnsupported], [CodeTooManyPixels] or
// [CodeCorrupt].
func Header(data []byte, lim Limits) (Info, error) {
	_, info, err := inspectHeader(data, lim)
	return info, err
}

// inspectHeader does everything Inspect does except decoding the pixels.
func inspectHeader(data []byte, lim Limits) (codec, Info, error) {
	if len(data) == 0 {
		return codec{}, Info{}, newError(CodeEmpty, nil, "the file is empty; choose an image to upload")
	}
	c, ok := sniff(data)
	if !ok {
		return codec{}, Info{}, newError(CodeUnsupported, nil, "the file is not a JPEG, PNG, GIF or WebP image")
	}
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return codec{}, Info{}, corrupt(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return codec{}, Info{}, newError(CodeCorrupt, nil, "the image has no pixels (%d×%d)", cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); lim.MaxPixels > 0 && px > lim.MaxPixels {
		return codec{}, Info{}, newError(CodeTooManyPixels, nil,
			"the image is %d×%d pixels (%s MP); the limit is %s MP",
			cfg.Width, cfg.Height, megapixels(px), megapixels(lim.MaxPixels))
	}
	info := Info{Format: c.format, Width: cfg.Width, Height: cfg.Height, Progressive: c.format == FormatJPEG && jpegProgressive(data)}
	if c.format == FormatJPEG && exifOrientation(data) >= 5 {
		// Orientations 5–8 turn the picture a quarter: the user sees (and
		// edits) it with width and height swapped.
		info.Width, info.Height = info.Height, info.Width
	}
	return c, info, nil
}

func corrupt(err error) *Error {
	return newError(CodeCorrupt, err, "the image data is truncated or corrupt")
}

// megapixels formats a pixel count for people: "12", "1.5", "0.0031".
func megapixels(px int64) string {
	mp := float64(px) / 1e6
	if mp >= 10 {
		return strconv.FormatFloat(mp, 'f', 0, 64)
	}
	if mp < 0.1 {
		return strconv.FormatFloat(mp, 'g', 2, 64)
	}
	s := strconv.FormatFloat(mp, 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}
