package workspace

import (
	"encoding/json"
	"testing"

	"github.com/easelhq/easel/internal/imaging"
)

// TestEstimates pins what the memory budget is told a 48 MP photo costs,
// so a change to the model is a visible decision.
func TestEstimates(t *testing.T) {
	t.Parallel()
	const w, h = 8064, 6048
	px := int64(w) * int64(h)
	info := imaging.Info{Format: imaging.FormatJPEG, Width: w, Height: h}
	flip, _ := json.Marshal(imaging.Op{Op: imaging.OpFlip, Direction: imaging.FlipHorizontal})
	half, _ := json.Marshal(imaging.Op{Op: imaging.OpResize, Width: w / 2, Height: h / 2})
	stOf := func(info imaging.Info, edits ...json.RawMessage) *State {
		o := &Image{Digest: "d", Width: info.Width, Height: info.Height, Format: info.Format, Progressive: info.Progressive}
		s, err := StateOf(&Workspace{Original: o, Edits: edits, Cursor: len(edits)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	st := func(edits ...json.RawMessage) *State { return stOf(info, edits...) }
	pw, ph := imaging.PreviewSize(w, h, 1600)
	preview := int64(pw) * int64(ph) * 4
	full, atQuarter := imaging.DecodeBytes(info, 1), imaging.DecodeBytes(info, 4) // a 1600 px preview shrinks on load to 1/4
	progressive := info
	progressive.Progressive = true
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"full render, one edit", renderBytes(st(flip), SizeFull, 1600, false), full + 3*4*px},
		{"full render, shrinking", renderBytes(st(half), SizeFull, 1600, false), full + 3*4*px},
		{"preview, decoded", renderBytes(st(flip), SizePreview, 1600, false), atQuarter + 3*preview},
		{"preview, from the proxy", renderBytes(st(flip), SizePreview, 1600, true), 3 * preview},
		{"progressive preview holds its coefficients", renderBytes(stOf(progressive), SizePreview, 1600, false),
			imaging.DecodeBytes(progressive, 4) + 3*preview},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d MiB, want %d MiB", tc.name, tc.got>>20, tc.want>>20)
		}
	}
}

// The estimate an upload is admitted with follows the scale validation
// decodes at: 1/8 without a renderer (Inspect), the preview's with one.
func TestValidateBytes(t *testing.T) {
	t.Parallel()
	info := imaging.Info{Format: imaging.FormatJPEG, Width: 800, Height: 400}
	svc := &Service{}
	inspect := svc.validateBytes(info, 1000)
	NewRenderer(svc, NewMemoryRenderCache(16), 200) // previews at 1/4
	preview := svc.validateBytes(info, 1000)
	if want := imaging.DecodeBytes(info, 4) + 1000; preview != want || inspect >= preview {
		t.Errorf("validateBytes = %d without a renderer, %d with one; want %d with one, and less without", inspect, preview, want)
	}
}
