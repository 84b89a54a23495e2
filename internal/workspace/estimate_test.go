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
	st := func(edits ...json.RawMessage) *State {
		s, err := StateOf(&Workspace{Original: &Image{Digest: "d", Width: w, Height: h, Format: "jpeg"}, Edits: edits, Cursor: len(edits)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pw, ph := fit(w, h, 1600)
	preview := int64(pw) * int64(ph) * 4
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"decode", DecodeBytes(info), 7 * px},
		{"inspect", inspectBytes(info), 3 * px},
		{"full render, one edit", renderBytes(st(flip), SizeFull, 1600, false), 7*px + 3*4*px},
		{"full render, shrinking", renderBytes(st(half), SizeFull, 1600, false), 7*px + 3*4*px},
		{"preview, decoded", renderBytes(st(flip), SizePreview, 1600, false), 7*px + 3*preview},
		{"preview, from the proxy", renderBytes(st(flip), SizePreview, 1600, true), 3 * preview},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d MiB, want %d MiB", tc.name, tc.got>>20, tc.want>>20)
		}
	}
}
