package imaging

import (
	"context"
	"errors"
	"image"
	"image/color"
	"testing"
)

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	white = color.NRGBA{255, 255, 255, 255}
)

// marked returns a w×h grey image with red at top-left, green at top-right
// and blue at bottom-left.
func marked(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{128, 128, 128, 255})
		}
	}
	img.SetNRGBA(0, 0, red)
	img.SetNRGBA(w-1, 0, green)
	img.SetNRGBA(0, h-1, blue)
	return img
}

func mustApply(t *testing.T, img *image.NRGBA, js string) *image.NRGBA {
	t.Helper()
	op, err := ParseOp([]byte(js))
	if err != nil {
		t.Fatalf("ParseOp(%s): %v", js, err)
	}
	out, err := op.Apply(context.Background(), img)
	if err != nil {
		t.Fatalf("Apply(%s): %v", js, err)
	}
	if w, h := op.Bounds(img.Rect.Dx(), img.Rect.Dy()); out.Rect.Dx() != w || out.Rect.Dy() != h {
		t.Fatalf("%s: result %v, Bounds said %d×%d", js, out.Rect.Size(), w, h)
	}
	return out
}

func TestGeometry(t *testing.T) {
	t.Parallel()
	type probe struct {
		x, y int
		c    color.NRGBA
	}
	tests := []struct {
		op     string
		w, h   int
		probes []probe
	}{
		// 4×2: red top-left, green top-right, blue bottom-left.
		{`{"op":"rotate","angle":90}`, 2, 4, []probe{{1, 0, red}, {1, 3, green}, {0, 0, blue}}},
		{`{"op":"rotate","angle":-270}`, 2, 4, []probe{{1, 0, red}, {1, 3, green}, {0, 0, blue}}},
		{`{"op":"rotate","angle":180}`, 4, 2, []probe{{3, 1, red}, {0, 1, green}, {3, 0, blue}}},
		{`{"op":"rotate","angle":270}`, 2, 4, []probe{{0, 3, red}, {0, 0, green}, {1, 3, blue}}},
		{`{"op":"rotate","angle":360}`, 4, 2, []probe{{0, 0, red}, {3, 0, green}, {0, 1, blue}}},
		{`{"op":"flip","direction":"horizontal"}`, 4, 2, []probe{{3, 0, red}, {0, 0, green}, {3, 1, blue}}},
		{`{"op":"flip","direction":"vertical"}`, 4, 2, []probe{{0, 1, red}, {3, 1, green}, {0, 0, blue}}},
		{`{"op":"crop","x":0,"y":0,"width":1,"height":2}`, 1, 2, []probe{{0, 0, red}, {0, 1, blue}}},
		{`{"op":"crop","x":3,"y":0,"width":1,"height":1}`, 1, 1, []probe{{0, 0, green}}},
		{`{"op":"crop","aspect":"1:1"}`, 2, 2, nil},
		{`{"op":"crop","aspect":"4:1"}`, 4, 1, []probe{{0, 0, red}}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			src := marked(4, 2)
			before := append([]uint8(nil), src.Pix...)
			out := mustApply(t, src, tt.op)
			if out.Rect.Dx() != tt.w || out.Rect.Dy() != tt.h {
				t.Fatalf("size %v, want %d×%d", out.Rect.Size(), tt.w, tt.h)
			}
			for _, p := range tt.probes {
				if got := out.NRGBAAt(p.x, p.y); got != p.c {
					t.Errorf("pixel (%d,%d) = %v, want %v", p.x, p.y, got, p.c)
				}
			}
			if string(before) != string(src.Pix) {
				t.Error("Apply modified its input")
			}
		})
	}
}

func TestCropExactRectangle(t *testing.T) {
	t.Parallel()
	src := gradient(64, 48)
	out := mustApply(t, src, `{"op":"crop","x":10,"y":5,"width":30,"height":20}`)
	for y := range 20 {
		for x := range 30 {
			if got, want := out.NRGBAAt(x, y), src.NRGBAAt(x+10, y+5); got != want {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// TestRotateAnyMatchesRightAngle checks the interpolating rotation against
// the lossless one, which pins down direction and centring.
func TestRotateAnyMatchesRightAngle(t *testing.T) {
	t.Parallel()
	src := gradient(9, 5)
	want, err := dihedral(context.Background(), src, 6)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotateAny(context.Background(), src, 90, [4]uint8{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != want.Rect {
		t.Fatalf("size %v, want %v", got.Rect, want.Rect)
	}
	for i := range got.Pix {
		if d := int(got.Pix[i]) - int(want.Pix[i]); d < -1 || d > 1 {
			t.Fatalf("byte %d = %d, want %d", i, got.Pix[i], want.Pix[i])
		}
	}
}

func TestRotateFill(t *testing.T) {
	t.Parallel()
	src := marked(40, 20)
	out := mustApply(t, src, `{"op":"rotate","angle":30,"fill":"#ffffff"}`)
	if got := out.NRGBAAt(0, 0); got != white {
		t.Errorf("corner = %v, want the white fill", got)
	}
	out = mustApply(t, src, `{"op":"rotate","angle":30}`)
	if got := out.NRGBAAt(0, 0); got.A != 0 {
		t.Errorf("corner = %v, want transparent", got)
	}
	if c := out.NRGBAAt(out.Rect.Dx()/2, out.Rect.Dy()/2); c != (color.NRGBA{128, 128, 128, 255}) {
		t.Errorf("centre = %v, want the image's grey", c)
	}
}

func TestColourOps(t *testing.T) {
	t.Parallel()
	src := gradient(32, 16)
	t.Run("grayscale", func(t *testing.T) {
		t.Parallel()
		out := mustApply(t, src, `{"op":"grayscale"}`)
		for i := 0; i < len(out.Pix); i += 4 {
			if p := out.Pix[i : i+4]; p[0] != p[1] || p[1] != p[2] || p[3] != 255 {
				t.Fatalf("pixel %d = %v, want R=G=B", i/4, p)
			}
		}
	})
	t.Run("invert twice", func(t *testing.T) {
		t.Parallel()
		out := mustApply(t, mustApply(t, src, `{"op":"invert"}`), `{"op":"invert"}`)
		if string(out.Pix) != string(src.Pix) {
			t.Fatal("invert∘invert is not the identity")
		}
		if one := mustApply(t, src, `{"op":"invert"}`); one.Pix[0] != 255-src.Pix[0] {
			t.Fatalf("invert R = %d, want %d", one.Pix[0], 255-src.Pix[0])
		}
	})
	identity := []string{
		`{"op":"brightness","amount":0}`, `{"op":"contrast","amount":0}`, `{"op":"saturation","amount":0}`,
		`{"op":"hue","degrees":0}`, `{"op":"gamma","value":1}`,
	}
	for _, js := range identity {
		t.Run(js, func(t *testing.T) {
			t.Parallel()
			out := mustApply(t, src, js)
			for i := range out.Pix {
				if d := int(out.Pix[i]) - int(src.Pix[i]); d < -1 || d > 1 {
					t.Fatalf("byte %d = %d, want %d (a neutral op)", i, out.Pix[i], src.Pix[i])
				}
			}
		})
	}
	directional := []struct {
		op   string
		test func(in, out uint8) bool
	}{
		{`{"op":"brightness","amount":0.2}`, func(in, out uint8) bool { return out >= in }},
		{`{"op":"brightness","amount":-1}`, func(_, out uint8) bool { return out == 0 }},
		{`{"op":"contrast","amount":-1}`, func(_, out uint8) bool { return out == 127 || out == 128 }},
		{`{"op":"gamma","value":2}`, func(in, out uint8) bool { return out >= in }},
	}
	for _, tt := range directional {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			out := mustApply(t, src, tt.op)
			for i := range out.Pix {
				if i%4 != 3 && !tt.test(src.Pix[i], out.Pix[i]) {
					t.Fatalf("byte %d: %d → %d", i, src.Pix[i], out.Pix[i])
				}
			}
		})
	}
	t.Run("hue 120 maps red to green", func(t *testing.T) {
		t.Parallel()
		img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		img.SetNRGBA(0, 0, red)
		c := mustApply(t, img, `{"op":"hue","degrees":120}`).NRGBAAt(0, 0)
		if c.G <= c.R || c.G <= c.B {
			t.Fatalf("hue +120 of red = %v, want mostly green", c)
		}
	})
	t.Run("sepia is warm", func(t *testing.T) {
		t.Parallel()
		c := mustApply(t, marked(2, 2), `{"op":"sepia"}`).NRGBAAt(1, 1)
		if warm := c.R > c.G && c.G > c.B; !warm {
			t.Fatalf("sepia grey = %v, want R>G>B", c)
		}
	})
}

func TestResizeSizes(t *testing.T) {
	t.Parallel()
	src := gradient(400, 200)
	tests := []struct {
		op   string
		w, h int
	}{
		{`{"op":"resize","width":100}`, 100, 50},
		{`{"op":"resize","height":50}`, 100, 50},
		{`{"op":"resize","width":100,"height":100}`, 100, 50},
		{`{"op":"resize","width":100,"height":100,"fit":"contain"}`, 100, 50},
		{`{"op":"resize","width":100,"height":100,"fit":"cover"}`, 100, 100},
		{`{"op":"resize","width":100,"height":100,"fit":"fill"}`, 100, 100},
		{`{"op":"resize","width":800,"height":300}`, 600, 300},
		{`{"op":"resize","width":1,"height":1,"fit":"cover"}`, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			out := mustApply(t, src, tt.op)
			if out.Rect.Dx() != tt.w || out.Rect.Dy() != tt.h {
				t.Fatalf("size %v, want %d×%d", out.Rect.Size(), tt.w, tt.h)
			}
		})
	}
}

func TestResizeKeepsFlatColour(t *testing.T) {
	t.Parallel()
	src := marked(300, 200)
	src.SetNRGBA(0, 0, color.NRGBA{128, 128, 128, 255})
	src.SetNRGBA(299, 0, color.NRGBA{128, 128, 128, 255})
	src.SetNRGBA(0, 199, color.NRGBA{128, 128, 128, 255})
	for _, size := range [][2]int{{97, 61}, {640, 480}, {300, 20}} {
		out, err := resample(context.Background(), src, size[0], size[1])
		if err != nil {
			t.Fatal(err)
		}
		for i := range out.Pix {
			if want := [4]uint8{128, 128, 128, 255}[i%4]; out.Pix[i] != want {
				t.Fatalf("%v: byte %d = %d, want %d", size, i, out.Pix[i], want)
			}
		}
	}
}

func TestBlurAndSharpen(t *testing.T) {
	t.Parallel()
	// A vertical edge: black left half, white right half.
	src := image.NewNRGBA(image.Rect(0, 0, 40, 10))
	for y := range 10 {
		for x := 20; x < 40; x++ {
			src.SetNRGBA(x, y, white)
		}
		for x := range 20 {
			src.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	for _, js := range []string{`{"op":"blur","sigma":1}`, `{"op":"blur","sigma":5}`, `{"op":"blur","sigma":50}`} {
		t.Run(js, func(t *testing.T) {
			t.Parallel()
			out := mustApply(t, src, js)
			l, r := out.NRGBAAt(19, 5), out.NRGBAAt(20, 5)
			if l.R == 0 || r.R == 255 || l.R >= r.R || l.A != 255 {
				t.Fatalf("edge after blur = %v | %v, want softened", l, r)
			}
			if c := out.NRGBAAt(5, 0); c.R != c.G || c.G != c.B {
				t.Fatalf("channels diverged: %v", c)
			}
		})
	}
	t.Run("sharpen", func(t *testing.T) {
		t.Parallel()
		grey := image.NewNRGBA(src.Rect)
		for i := range grey.Pix {
			grey.Pix[i] = [4]uint8{64, 64, 64, 255}[i%4]
		}
		for y := range 10 {
			for x := 20; x < 40; x++ {
				grey.SetNRGBA(x, y, color.NRGBA{192, 192, 192, 255})
			}
		}
		out := mustApply(t, grey, `{"op":"sharpen","amount":1,"radius":1.5}`)
		if l, r := out.NRGBAAt(19, 5), out.NRGBAAt(20, 5); l.R >= 64 || r.R <= 192 {
			t.Fatalf("edge after sharpen = %v | %v, want more contrast", l, r)
		}
		if c := out.NRGBAAt(2, 5); c.R != 64 {
			t.Fatalf("flat area changed: %v", c)
		}
	})
	t.Run("transparent", func(t *testing.T) {
		t.Parallel()
		img := image.NewNRGBA(image.Rect(0, 0, 20, 20))
		img.SetNRGBA(10, 10, red)
		out := mustApply(t, img, `{"op":"blur","sigma":2}`)
		if c := out.NRGBAAt(11, 10); c.A == 0 || c.R < 250 || c.G != 0 {
			t.Fatalf("neighbour = %v, want translucent pure red (no black fringe)", c)
		}
	})
}

func TestApplyComposite(t *testing.T) {
	t.Parallel()
	digest := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	op := Op{Op: OpComposite, Result: digest, Width: 8, Height: 6}
	src := gradient(16, 12)
	_, err := op.Apply(context.Background(), src)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnresolved {
		t.Fatalf("Apply(composite) = %v, want unresolved", err)
	}
	result := gradient(8, 6)
	ro := ReplayOptions{Resolve: func(_ context.Context, d string) (*image.NRGBA, error) {
		if d != digest {
			t.Errorf("resolve(%q)", d)
		}
		return result, nil
	}}
	out, err := ro.Replay(context.Background(), src, []Op{op, {Op: OpInvert}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rect.Dx() != 8 || out.NRGBAAt(1, 1).R != 255-result.NRGBAAt(1, 1).R {
		t.Fatalf("composite replay produced %v", out.Rect)
	}
	if result.NRGBAAt(1, 1) != gradient(8, 6).NRGBAAt(1, 1) {
		t.Fatal("replay modified the resolver's image")
	}
}
