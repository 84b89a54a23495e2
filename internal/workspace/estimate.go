package workspace

import (
	"github.com/easelhq/easel/internal/imaging"
)

// The memory estimates that decide how much of the memory budget an
// operation takes. They live here, in one place, so that a better model
// (a decoder that reports its own cost at a given scale) can replace them
// without touching the callers. Each errs on the large side: an
// underestimate is what lets a replica run out of memory.

// nrgbaBytes is the size of one w×h NRGBA image.
func nrgbaBytes(w, h int) int64 { return int64(w) * int64(h) * 4 }

// planeBytes is what a decoder holds besides the NRGBA it returns: a
// JPEG's YCbCr planes (three bytes a pixel when not subsampled; a rare
// CMYK JPEG's fourth byte is left to the budget's reserve), a PNG's or
// WebP's own image, a GIF's paletted frame.
func planeBytes(format string, w, h int) int64 {
	px := int64(w) * int64(h)
	switch format {
	case imaging.FormatJPEG:
		return px * 3
	case imaging.FormatGIF:
		return px
	}
	return px * 4
}

// DecodeBytes is the peak of decoding an image of info to NRGBA: the
// decoder's planes and the NRGBA copy are alive together.
func DecodeBytes(info imaging.Info) int64 {
	return planeBytes(info.Format, info.Width, info.Height) + nrgbaBytes(info.Width, info.Height)
}

// inspectBytes is the peak of validating an upload (imaging.Inspect),
// which decodes the pixels without converting them to NRGBA.
func inspectBytes(info imaging.Info) int64 {
	return planeBytes(info.Format, info.Width, info.Height)
}

// renderBytes is the peak of rendering st at size: the base image (the
// decoded original, or a cached preview proxy), two working images of the
// largest size the edit list reaches (Replay keeps about two), each
// composite op's decoded result, and the encoded output.
func renderBytes(st *State, size string, previewEdge int, proxied bool) int64 {
	o := st.Original
	info := imaging.Info{Format: o.Format, Width: o.Width, Height: o.Height}
	w, h := o.Width, o.Height
	var total int64
	switch {
	case size == SizePreview && proxied:
		w, h = fit(w, h, previewEdge)
	case size == SizePreview:
		total = DecodeBytes(info) // decoded in full, then scaled down
		w, h = fit(w, h, previewEdge)
	default:
		total = DecodeBytes(info)
	}
	kx, ky := float64(w)/float64(o.Width), float64(h)/float64(o.Height)
	largest := nrgbaBytes(w, h)
	fw, fh := o.Width, o.Height
	for _, op := range st.Applied() {
		fw, fh = op.Bounds(fw, fh)
		pw, ph := max(1, int(float64(fw)*kx)), max(1, int(float64(fh)*ky))
		largest = max(largest, nrgbaBytes(pw, ph))
		if op.Op == imaging.OpComposite {
			total += nrgbaBytes(op.Width, op.Height) * 2 // its PNG decoded: planes and NRGBA
		}
	}
	// Two working images and the encoded output (at most the size of the
	// raw pixels, for a lossless format).
	return total + 3*largest
}

// fit is w×h scaled down to fit edge×edge.
func fit(w, h, edge int) (int, int) {
	if w <= edge && h <= edge {
		return w, h
	}
	if w >= h {
		return edge, max(1, h*edge/w)
	}
	return max(1, w*edge/h), edge
}
