package workspace

import (
	"github.com/easelhq/easel/internal/imaging"
)

// The memory estimates that decide how much of the memory budget an
// operation takes. They live here, in one place, on top of the decoders'
// own model (imaging.DecodeBytes, which knows the scale a JPEG shrinks on
// load to and what a progressive file holds). Each errs on the large side:
// an underestimate is what lets a replica run out of memory.

// nrgbaBytes is the size of one w×h NRGBA image.
func nrgbaBytes(w, h int) int64 { return int64(w) * int64(h) * 4 }

// validateBytes is the peak of validating an upload of n bytes whose header
// says info (Service.validate): the decode at the scale it runs at, and
// the upload's own bytes (the body's reservation ended when it was read,
// and the decoder copies them).
func (s *Service) validateBytes(info imaging.Info, n int) int64 {
	scale := 8 // imaging.Inspect's
	if s.proxies != nil {
		scale = imaging.PreviewScale(info, s.previewEdge)
	}
	return imaging.DecodeBytes(info, scale) + int64(n)
}

// renderBytes is the peak of rendering st at size: decoding the original
// (at full size, or shrunk on load to the preview), unless its preview
// proxy is cached; two working images of the largest size the edit list
// reaches (Replay keeps about two), each composite op's decoded result,
// and the encoded output.
func renderBytes(st *State, size string, previewEdge int, proxied bool) int64 {
	o := st.Original
	info := imaging.Info{Format: o.Format, Width: o.Width, Height: o.Height, Progressive: o.Progressive}
	w, h := o.Width, o.Height
	var total int64
	switch {
	case size == SizePreview && proxied:
		w, h = imaging.PreviewSize(w, h, previewEdge)
	case size == SizePreview:
		total = imaging.DecodeBytes(info, imaging.PreviewScale(info, previewEdge))
		w, h = imaging.PreviewSize(w, h, previewEdge)
	default:
		total = imaging.DecodeBytes(info, 1)
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
