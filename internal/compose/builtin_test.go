package compose

import (
	"context"
	"image"
	"image/color"
	"math"
	"testing"
)

var (
	red   = color.NRGBA{255, 0, 0, 255}
	white = color.NRGBA{255, 255, 255, 255}
	blue  = color.NRGBA{0x22, 0x55, 0xff, 255}
)

func compose(t *testing.T, in Input) *image.NRGBA {
	t.Helper()
	var last float64
	out, err := Builtin{}.Compose(context.Background(), in, func(p float64) {
		if p < last {
			t.Errorf("progress went back from %g to %g", last, p)
		}
		last = p
	})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	if last != 1 {
		t.Errorf("final progress = %g, want 1", last)
	}
	return out
}

func TestReplaceBackgroundDiscOnBlue(t *testing.T) {
	t.Parallel()
	img := disc(120, 100, 30)
	req, err := ParseRequest([]byte(`{"mode":"replace-background","background":{"color":"#2255ff"}}`))
	if err != nil {
		t.Fatal(err)
	}
	out := compose(t, Input{Image: img, Request: req})
	if out.Rect != img.Rect {
		t.Fatalf("size %v, want %v", out.Rect, img.Rect)
	}
	for _, p := range []image.Point{{0, 0}, {119, 0}, {0, 99}, {119, 99}, {10, 50}} {
		if c := out.NRGBAAt(p.X, p.Y); !near(c, blue, 1) {
			t.Errorf("corner %v = %v, want blue %v", p, c, blue)
		}
	}
	if c := out.NRGBAAt(60, 50); !near(c, red, 1) {
		t.Errorf("centre = %v, want red", c)
	}
	// The edge is soft: along the middle row, between the disc (x ≤ 90)
	// and the background, some pixel mixes red and blue.
	soft := 0
	for x := 80; x < 100; x++ {
		c := out.NRGBAAt(x, 50)
		if c.R > 30 && c.R < 225 && c.B > 30 && c.B < 225 {
			soft++
		}
	}
	if soft == 0 {
		t.Errorf("no intermediate pixel at the disc's edge: the cut-out is not feathered")
	}
	// feather 0 gives a hard edge.
	req.Feather = 0
	hard := compose(t, Input{Image: img, Request: req})
	for x := range 120 {
		c := hard.NRGBAAt(x, 50)
		if !near(c, red, 0) && !near(c, blue, 0) {
			t.Fatalf("feather 0: pixel %d,50 = %v, neither red nor blue", x, c)
		}
	}
}

func TestReplaceBackgroundKeepsInnerWhite(t *testing.T) {
	t.Parallel()
	// A white hole inside the red disc is not reachable from the border:
	// it is part of the subject and stays white.
	img := disc(100, 100, 40)
	for y := 45; y < 55; y++ {
		for x := 45; x < 55; x++ {
			img.SetNRGBA(x, y, white)
		}
	}
	req := Request{Mode: ModeReplaceBackground, Background: &Background{Color: "#2255ff"}, Tolerance: 0.15}
	out := compose(t, Input{Image: img, Request: req})
	if c := out.NRGBAAt(50, 50); !near(c, white, 0) {
		t.Errorf("inner hole = %v, want white", c)
	}
}

func TestReplaceBackgroundGradientAndAsset(t *testing.T) {
	t.Parallel()
	img := disc(64, 64, 10)
	grad := compose(t, Input{Image: img, Request: Request{Mode: ModeReplaceBackground,
		Background: &Background{Gradient: []string{"#000000", "#ffffff"}}, Tolerance: 0.15}})
	if top, bottom := grad.NRGBAAt(0, 0), grad.NRGBAAt(0, 63); !near(top, color.NRGBA{0, 0, 0, 255}, 0) || !near(bottom, white, 0) {
		t.Errorf("gradient top %v bottom %v, want black to white", top, bottom)
	}
	if mid := grad.NRGBAAt(0, 32); mid.R < 120 || mid.R > 135 {
		t.Errorf("gradient middle %v, want mid-grey", mid)
	}
	// A 10×20 green asset covers 64×64 (scaled up, centre cropped).
	green := fill(10, 20, color.NRGBA{0, 200, 0, 255})
	out := compose(t, Input{Image: img, Request: Request{Mode: ModeReplaceBackground,
		Background: &Background{Asset: digest}, Tolerance: 0.15}, Assets: map[string]*image.NRGBA{digest: green}})
	if c := out.NRGBAAt(0, 0); !near(c, color.NRGBA{0, 200, 0, 255}, 2) {
		t.Errorf("asset background corner = %v, want green", c)
	}
	if c := out.NRGBAAt(32, 32); !near(c, red, 1) {
		t.Errorf("asset background centre = %v, want red", c)
	}
	_, err := Builtin{}.Compose(context.Background(), Input{Image: img, Request: Request{Mode: ModeReplaceBackground,
		Background: &Background{Asset: digest}, Tolerance: 0.15}}, nil)
	if UserMessage(err) == UserMessage(nil) || err == nil {
		t.Errorf("missing asset: err = %v, want a Failure", err)
	}
}

func TestOverlayHalfOpacity(t *testing.T) {
	t.Parallel()
	base := fill(100, 100, white)
	logo := fill(10, 10, red)
	req := Request{Mode: ModeOverlay, Asset: digest, X: 0.5, Y: 0.5, Scale: 0.2, Opacity: 0.5, Blend: BlendNormal}
	out := compose(t, Input{Image: base, Request: req, Assets: map[string]*image.NRGBA{digest: logo}})
	// 20×20 centred: 40..59.
	if c := out.NRGBAAt(50, 50); !near(c, color.NRGBA{255, 128, 128, 255}, 1) {
		t.Errorf("50%% red over white = %v, want ≈ 255,128,128", c)
	}
	if c := out.NRGBAAt(39, 50); !near(c, white, 0) {
		t.Errorf("outside the overlay = %v, want white", c)
	}
	if c := out.NRGBAAt(40, 40); !near(c, color.NRGBA{255, 128, 128, 255}, 1) {
		t.Errorf("overlay corner = %v, want mixed", c)
	}
	if base.NRGBAAt(50, 50) != white {
		t.Error("the input image was modified")
	}
}

func TestOverlayClipsAtEdges(t *testing.T) {
	t.Parallel()
	base := fill(50, 50, white)
	req := Request{Mode: ModeOverlay, Asset: digest, X: 1, Y: 0, Scale: 0.4, Opacity: 1, Blend: BlendNormal}
	out := compose(t, Input{Image: base, Request: req, Assets: map[string]*image.NRGBA{digest: fill(4, 4, red)}})
	if c := out.NRGBAAt(49, 0); !near(c, red, 0) {
		t.Errorf("top-right = %v, want red", c)
	}
	if c := out.NRGBAAt(0, 49); !near(c, white, 0) {
		t.Errorf("bottom-left = %v, want white", c)
	}
}

func TestBlendModes(t *testing.T) {
	t.Parallel()
	b := color.NRGBA{200, 100, 50, 255}
	s := color.NRGBA{128, 255, 0, 255}
	f := func(v float64) uint8 { return uint8(math.Round(v * 255)) }
	n := func(v uint8) float64 { return float64(v) / 255 }
	screen := func(x, y uint8) uint8 { return f(1 - (1-n(x))*(1-n(y))) }
	ovl := func(x, y uint8) uint8 {
		if n(x) <= 0.5 {
			return f(2 * n(x) * n(y))
		}
		return f(1 - 2*(1-n(x))*(1-n(y)))
	}
	tests := []struct {
		blend   string
		opacity float64
		want    color.NRGBA
	}{
		{BlendNormal, 1, s},
		{BlendMultiply, 1, color.NRGBA{f(n(200) * n(128)), 100, 0, 255}},
		{BlendScreen, 1, color.NRGBA{screen(200, 128), 255, 50, 255}},
		{BlendOverlay, 1, color.NRGBA{ovl(200, 128), ovl(100, 255), ovl(50, 0), 255}},
		{BlendMultiply, 0.5, color.NRGBA{f((n(200) + n(200)*n(128)) / 2), 100, 25, 255}},
		{BlendScreen, 0, b},
	}
	for _, tc := range tests {
		t.Run(tc.blend, func(t *testing.T) {
			t.Parallel()
			req := Request{Mode: ModeOverlay, Asset: digest, X: 0.5, Y: 0.5, Scale: 1, Opacity: tc.opacity, Blend: tc.blend}
			out := compose(t, Input{Image: fill(8, 8, b), Request: req, Assets: map[string]*image.NRGBA{digest: fill(8, 8, s)}})
			if c := out.NRGBAAt(4, 4); !near(c, tc.want, 1) {
				t.Errorf("%s at %g = %v, want %v", tc.blend, tc.opacity, c, tc.want)
			}
		})
	}
}

func TestOverlayTooLarge(t *testing.T) {
	t.Parallel()
	req := Request{Mode: ModeOverlay, Asset: digest, X: 0.5, Y: 0.5, Scale: 2, Opacity: 1, Blend: BlendNormal}
	_, err := Builtin{}.Compose(context.Background(), Input{Image: fill(10000, 10, white), Request: req,
		Assets: map[string]*image.NRGBA{digest: fill(1, 1, red)}}, nil)
	if err == nil || UserMessage(err) == UserMessage(nil) {
		t.Fatalf("err = %v, want a Failure about the size", err)
	}
}

func TestBuiltinRefusesAI(t *testing.T) {
	t.Parallel()
	_, err := Builtin{}.Compose(context.Background(), Input{Image: fill(2, 2, white), Request: Request{Mode: ModeAI, Prompt: "x"}}, nil)
	if err == nil {
		t.Fatal("builtin composed an ai request")
	}
}

func TestBuiltinCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := Request{Mode: ModeReplaceBackground, Background: &Background{Color: "#000"}, Tolerance: 0.1, Feather: 2}
	if _, err := (Builtin{}).Compose(ctx, Input{Image: disc(64, 64, 10), Request: req}, nil); err == nil {
		t.Fatal("a cancelled compose succeeded")
	}
}
