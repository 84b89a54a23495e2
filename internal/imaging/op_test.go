package imaging

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"strings"
	"testing"
)

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseOpRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct{ js, str string }{
		{`{"op":"crop","x":10,"y":5,"width":60,"height":40}`, "crop 60×40 at 10,5"},
		{`{"op":"crop","x":0,"y":0,"width":1,"height":1}`, "crop 1×1 at 0,0"},
		{`{"op":"crop","aspect":"16:9"}`, "crop 16:9"},
		{`{"op":"resize","width":800,"height":600,"fit":"cover"}`, "resize 800×600 (cover)"},
		{`{"op":"resize","width":800,"height":600}`, "resize 800×600 (contain)"},
		{`{"op":"resize","width":800}`, "resize to width 800"},
		{`{"op":"resize","height":600,"fit":"fill"}`, "resize to height 600"},
		{`{"op":"rotate","angle":90}`, "rotate 90°"},
		{`{"op":"rotate","angle":12.5,"fill":"#ffffff"}`, "rotate 12.5° fill #ffffff"},
		{`{"op":"flip","direction":"horizontal"}`, "flip horizontal"},
		{`{"op":"brightness","amount":0.2}`, "brightness +0.2"},
		{`{"op":"contrast","amount":-0.5}`, "contrast -0.5"},
		{`{"op":"saturation","amount":0}`, "saturation 0"},
		{`{"op":"hue","degrees":30}`, "hue +30°"},
		{`{"op":"gamma","value":1.8}`, "gamma 1.8"},
		{`{"op":"grayscale"}`, "grayscale"},
		{`{"op":"sepia"}`, "sepia"},
		{`{"op":"invert"}`, "invert"},
		{`{"op":"blur","sigma":2}`, "blur σ 2"},
		{`{"op":"sharpen","amount":1,"radius":1.5}`, "sharpen 1 radius 1.5"},
		{`{"op":"composite","result":"` + digest + `","width":640,"height":480}`, "composite 0123456789ab… 640×480"},
	}
	for _, tt := range tests {
		t.Run(tt.js, func(t *testing.T) {
			t.Parallel()
			op, err := ParseOp([]byte(tt.js))
			if err != nil {
				t.Fatalf("ParseOp: %v", err)
			}
			out, err := json.Marshal(op)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.js {
				t.Errorf("marshal = %s, want %s", out, tt.js)
			}
			if op.String() != tt.str {
				t.Errorf("String = %q, want %q", op.String(), tt.str)
			}
			var list []Op
			if err := json.Unmarshal([]byte("["+tt.js+"]"), &list); err != nil || len(list) != 1 || list[0] != op {
				t.Errorf("unmarshal in a list = %+v, %v", list, err)
			}
			if err := op.Validate(4000, 3000); err != nil {
				t.Errorf("Validate(4000×3000): %v", err)
			}
		})
	}
}

func TestParseOpRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ js, field, msg string }{
		{`{"op":"spin"}`, "op", `unknown op "spin"`},
		{`{"angle":90}`, "op", `no "op"`},
		{`{"op":90}`, "op", "must be a string"},
		{`{"op":"rotate"}`, "angle", `rotate needs "angle"`},
		{`{"op":"rotate","angle":90,"sigma":2}`, "sigma", `rotate does not take "sigma"`},
		{`{"op":"invert","amount":1}`, "amount", "invert takes no parameters"},
		{`{"op":"crop","aspect":"1:1","x":0}`, "aspect", "not both"},
		{`{"op":"crop","x":1,"y":1,"width":5}`, "height", `crop needs "height"`},
		{`{"op":"crop","x":1.5,"y":1,"width":5,"height":5}`, "x", "whole number"},
		{`{"op":"blur","sigma":"big"}`, "sigma", "a number"},
		{`{"op":"resize","fit":"cover"}`, "width", "resize needs"},
		{`{"op":"invert"} {"op":"invert"}`, "", "JSON object"},
		{`[{"op":"invert"}]`, "", "JSON object"},
		{`null`, "", "JSON object"},
		{``, "", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.js, func(t *testing.T) {
			t.Parallel()
			_, err := ParseOp([]byte(tt.js))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidOp {
				t.Fatalf("ParseOp = %v, want invalid_op", err)
			}
			if e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got field %q message %q, want %q containing %q", e.Field, e.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op         Op
		field, msg string
	}{
		{Op{Op: OpCrop, X: 10, Y: 10, Width: 900, Height: 900}, "width", "crop 10,10 900×900 falls outside the 640×480 image"},
		{Op{Op: OpCrop, X: -1, Y: 0, Width: 10, Height: 10}, "x", "falls outside the 640×480 image"},
		{Op{Op: OpCrop, X: 0, Y: 475, Width: 10, Height: 10}, "height", "falls outside"},
		{Op{Op: OpCrop, Width: 0, Height: 10}, "width", "at least 1 pixel"},
		{Op{Op: OpCrop, Aspect: "16x9"}, "aspect", `must look like "16:9"`},
		{Op{Op: OpCrop, Aspect: "0:9"}, "aspect", "from 1 to 1000"},
		{Op{Op: OpResize, Width: 20000}, "width", "resize width must be from 1 to 16384 pixels, got 20000"},
		{Op{Op: OpResize, Width: 10, Fit: "stretch"}, "fit", "contain, cover or fill"},
		{Op{Op: OpResize, Width: 16000, Height: 16000, Fit: FitFill}, "width", "limited to 16384 px a side and 50 MP"},
		{Op{Op: OpRotate, Angle: 400}, "angle", "from -360 to 360"},
		{Op{Op: OpRotate, Angle: 10, Fill: "white"}, "fill", `like "#ffffff"`},
		{Op{Op: OpFlip, Direction: "diagonal"}, "direction", "horizontal or vertical"},
		{Op{Op: OpBrightness, Amount: 1.5}, "amount", "brightness amount must be from -1 to 1, got 1.5"},
		{Op{Op: OpSaturation, Amount: -2}, "amount", "from -1 to 1"},
		{Op{Op: OpHue, Degrees: 361}, "degrees", "from -360 to 360"},
		{Op{Op: OpGamma, Value: 0}, "value", "from 0.1 to 10"},
		{Op{Op: OpBlur, Sigma: 0}, "sigma", "greater than 0 and at most 50"},
		{Op{Op: OpBlur, Sigma: 51}, "sigma", "at most 50"},
		{Op{Op: OpSharpen, Amount: 1, Radius: 0}, "radius", "greater than 0"},
		{Op{Op: OpSharpen, Amount: 6, Radius: 1}, "amount", "at most 5"},
		{Op{Op: OpComposite, Result: "abc", Width: 1, Height: 1}, "result", "SHA-256"},
		{Op{Op: OpComposite, Result: digest, Width: 0, Height: 1}, "width", "at least 1 pixel"},
		{Op{Op: "warp"}, "op", `unknown op "warp"`},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			t.Parallel()
			err := tt.op.Validate(640, 480)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidOp {
				t.Fatalf("Validate = %v, want invalid_op", err)
			}
			if e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got field %q message %q, want %q containing %q", e.Field, e.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestBoundsChain(t *testing.T) {
	t.Parallel()
	ops := []Op{
		{Op: OpRotate, Angle: 90},               // 480×640
		{Op: OpCrop, Aspect: "1:1"},             // 480×480
		{Op: OpResize, Width: 100},              // 100×100
		{Op: OpRotate, Angle: 45},               // 142×142
		{Op: OpCrop, X: 1, Width: 5, Height: 7}, // 5×7
	}
	w, h := 640, 480
	img := gradient(w, h)
	for _, o := range ops {
		if err := o.Validate(w, h); err != nil {
			t.Fatal(err)
		}
		w, h = o.Bounds(w, h)
	}
	out, err := Replay(context.Background(), img, ops)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rect != image.Rect(0, 0, w, h) || w != 5 || h != 7 {
		t.Fatalf("replay gave %v, bounds %d×%d", out.Rect, w, h)
	}
}

// TestReplayProxy checks that replaying on a preview proxy scales pixel
// parameters so that the preview matches a downscaled full render.
func TestReplayProxy(t *testing.T) {
	t.Parallel()
	full := marked(400, 300)
	ops := []Op{
		{Op: OpCrop, X: 0, Y: 0, Width: 200, Height: 100},
		{Op: OpRotate, Angle: 90},
		{Op: OpBlur, Sigma: 2},
	}
	ctx := context.Background()
	want, err := Replay(ctx, full, ops)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := Preview(ctx, full, 200) // half size
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReplayOptions{Original: full.Rect.Size()}.Replay(ctx, proxy, ops)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect.Dx() != want.Rect.Dx()/2 || got.Rect.Dy() != want.Rect.Dy()/2 {
		t.Fatalf("proxy render %v, full render %v", got.Rect.Size(), want.Rect.Size())
	}
	// A resize below the proxy's size is rendered exactly.
	got, err = ReplayOptions{Original: full.Rect.Size()}.Replay(ctx, proxy, []Op{{Op: OpResize, Width: 40}})
	if err != nil || got.Rect.Dx() != 40 || got.Rect.Dy() != 30 {
		t.Fatalf("proxy resize = %v, %v", got.Rect, err)
	}
}

func TestReplayErrors(t *testing.T) {
	t.Parallel()
	img := gradient(64, 48)
	_, err := Replay(context.Background(), img, []Op{{Op: OpInvert}, {Op: OpCrop, X: 60, Y: 0, Width: 10, Height: 10}})
	var e *Error
	if !errors.As(err, &e) || e.Field != "width" || !strings.HasPrefix(err.Error(), "edit 2 (crop 10×10 at 60,0)") {
		t.Fatalf("Replay = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Replay(ctx, img, []Op{{Op: OpInvert}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay with a cancelled context = %v", err)
	}
	if out, err := Replay(context.Background(), img, nil); err != nil || out != img {
		t.Fatalf("empty replay = %v, %v", out, err)
	}
}

// TestKeepsSize checks the promise the workspace relies on to append such
// ops without reading the image first: for an op that keeps the size,
// Validate gives the same answer whatever the image's size, and Bounds
// keeps (or, for quarter turns, swaps) it.
func TestKeepsSize(t *testing.T) {
	t.Parallel()
	ops := []string{
		`{"op":"flip","direction":"horizontal"}`, `{"op":"flip","direction":"sideways"}`,
		`{"op":"rotate","angle":90}`, `{"op":"rotate","angle":-270}`, `{"op":"rotate","angle":720}`, `{"op":"rotate","angle":15}`,
		`{"op":"brightness","amount":0.2}`, `{"op":"contrast","amount":2}`, `{"op":"saturation","amount":-1}`,
		`{"op":"hue","degrees":30}`, `{"op":"gamma","value":0.01}`, `{"op":"grayscale"}`, `{"op":"sepia"}`, `{"op":"invert"}`,
		`{"op":"blur","sigma":2}`, `{"op":"blur","sigma":0}`, `{"op":"sharpen","amount":1,"radius":1.5}`, `{"op":"sharpen","amount":9,"radius":1}`,
		`{"op":"crop","x":0,"y":0,"width":2,"height":2}`, `{"op":"resize","width":10}`,
	}
	sizes := [][2]int{{1, 1}, {3, 2}, {640, 480}, {MaxEdge, 2}, {7000, 7000}}
	kept := 0
	for _, js := range ops {
		var op Op
		if err := json.Unmarshal([]byte(js), &op); err != nil {
			t.Fatal(err)
		}
		if !op.KeepsSize() {
			continue
		}
		kept++
		want := op.Validate(1, 1) == nil
		for _, sz := range sizes {
			if got := op.Validate(sz[0], sz[1]) == nil; got != want {
				t.Errorf("%s: valid on 1×1 = %v, on %d×%d = %v", js, want, sz[0], sz[1], got)
			}
			if !want {
				continue
			}
			if w, h := op.Bounds(sz[0], sz[1]); [2]int{w, h} != sz && [2]int{h, w} != sz {
				t.Errorf("%s on %d×%d gives %d×%d", js, sz[0], sz[1], w, h)
			}
		}
	}
	if kept != len(ops)-3 { // rotate 15, crop and resize depend on the size
		t.Errorf("%d ops keep the size, want %d", kept, len(ops)-3)
	}
}
