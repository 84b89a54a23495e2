package browser

import (
	"bytes"
	"image/jpeg"
	"testing"
)

func TestPhoto(t *testing.T) {
	t.Parallel()
	a, err := Photo(120, 80)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Photo(120, 80)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two photos of the same size differ; the fixture must be deterministic")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 120 || cfg.Height != 80 {
		t.Errorf("photo is %d×%d, want 120×80", cfg.Width, cfg.Height)
	}
}
