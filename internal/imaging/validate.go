package imaging

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Resize fit modes for [Op.Fit].
const (
	FitContain = "contain" // scale to fit inside width×height, keeping the aspect ratio (default)
	FitCover   = "cover"   // scale to cover width×height, then crop the centre to exactly that size
	FitFill    = "fill"    // stretch to exactly width×height
)

// Flip directions for [Op.Direction].
const (
	FlipHorizontal = "horizontal"
	FlipVertical   = "vertical"
)

// Bounds on what an edit may produce, so that no op can make the service
// allocate more than a large photo's worth of pixels.
const (
	MaxEdge         = 16384      // longest side of any op's result (also WebP's limit)
	MaxResultPixels = 50_000_000 // width×height of any op's result
)

// Validate checks the op's parameters against the current image size w×h
// (the image after the edits before this one). It returns nil or an
// *[Error] with Code [CodeInvalidOp], the offending Field and a message
// naming the allowed range, such as "crop 10,10 900×900 falls outside the
// 640×480 image".
func (o Op) Validate(w, h int) error {
	if err := o.validateParams(w, h); err != nil {
		return err
	}
	nw, nh := o.Bounds(w, h)
	if nw > MaxEdge || nh > MaxEdge || int64(nw)*int64(nh) > MaxResultPixels {
		return invalidOp(sizeField(o), "%s would make a %d×%d image; results are limited to %d px a side and %s MP",
			o, nw, nh, MaxEdge, megapixels(MaxResultPixels))
	}
	return nil
}

func sizeField(o Op) string {
	switch o.Op {
	case OpRotate:
		return "angle"
	case OpResize:
		if o.Width == 0 {
			return "height"
		}
	case OpComposite:
		if o.Width >= 1 && o.Height < 1 {
			return "height"
		}
	}
	return "width"
}

func (o Op) validateParams(w, h int) error {
	switch o.Op {
	case OpCrop:
		if o.Aspect != "" {
			if _, _, ok := parseAspect(o.Aspect); !ok {
				return invalidOp("aspect", "crop aspect %q must look like \"16:9\": two whole numbers from 1 to 1000", o.Aspect)
			}
			return nil
		}
		if o.Width < 1 || o.Height < 1 {
			field := "width"
			if o.Width >= 1 {
				field = "height"
			}
			return invalidOp(field, "crop width and height must be at least 1 pixel, got %d×%d", o.Width, o.Height)
		}
		// Written so that no sum can overflow, whatever the client sent.
		xOK := o.X >= 0 && o.Width <= w && o.X <= w-o.Width
		yOK := o.Y >= 0 && o.Height <= h && o.Y <= h-o.Height
		if !xOK || !yOK {
			field := "x"
			switch {
			case xOK && o.Y < 0:
				field = "y"
			case xOK:
				field = "height"
			case o.X >= 0 && o.X < w:
				field = "width"
			}
			return invalidOp(field, "crop %d,%d %d×%d falls outside the %d×%d image", o.X, o.Y, o.Width, o.Height, w, h)
		}
	case OpResize:
		if o.Width == 0 && o.Height == 0 {
			return invalidOp("width", "resize needs a width, a height or both")
		}
		for _, p := range []struct {
			name string
			v    int
		}{{"width", o.Width}, {"height", o.Height}} {
			if p.v < 0 || p.v > MaxEdge {
				return invalidOp(p.name, "resize %s must be from 1 to %d pixels, got %d", p.name, MaxEdge, p.v)
			}
		}
		switch o.Fit {
		case "", FitContain, FitCover, FitFill:
		default:
			return invalidOp("fit", "resize fit must be contain, cover or fill, got %q", o.Fit)
		}
	case OpRotate:
		if !finite(o.Angle) || o.Angle < -360 || o.Angle > 360 {
			return invalidOp("angle", "rotate angle must be from -360 to 360 degrees, got %v", o.Angle)
		}
		if o.Fill != "" {
			if _, ok := parseHexColor(o.Fill); !ok {
				return invalidOp("fill", "rotate fill must be a colour like \"#ffffff\", got %q", o.Fill)
			}
		}
	case OpFlip:
		if o.Direction != FlipHorizontal && o.Direction != FlipVertical {
			return invalidOp("direction", "flip direction must be horizontal or vertical, got %q", o.Direction)
		}
	case OpBrightness, OpContrast, OpSaturation:
		if !finite(o.Amount) || o.Amount < -1 || o.Amount > 1 {
			return invalidOp("amount", "%s amount must be from -1 to 1, got %v", o.Op, o.Amount)
		}
	case OpHue:
		if !finite(o.Degrees) || o.Degrees < -360 || o.Degrees > 360 {
			return invalidOp("degrees", "hue degrees must be from -360 to 360, got %v", o.Degrees)
		}
	case OpGamma:
		if !finite(o.Value) || o.Value < 0.1 || o.Value > 10 {
			return invalidOp("value", "gamma value must be from 0.1 to 10, got %v", o.Value)
		}
	case OpGrayscale, OpSepia, OpInvert:
	case OpBlur:
		if !finite(o.Sigma) || o.Sigma <= 0 || o.Sigma > 50 {
			return invalidOp("sigma", "blur sigma must be greater than 0 and at most 50, got %v", o.Sigma)
		}
	case OpSharpen:
		if !finite(o.Amount) || o.Amount <= 0 || o.Amount > 5 {
			return invalidOp("amount", "sharpen amount must be greater than 0 and at most 5, got %v", o.Amount)
		}
		if !finite(o.Radius) || o.Radius <= 0 || o.Radius > 50 {
			return invalidOp("radius", "sharpen radius must be greater than 0 and at most 50, got %v", o.Radius)
		}
	case OpComposite:
		if !isDigest(o.Result) {
			return invalidOp("result", "composite result must be a SHA-256 digest (64 lower-case hex digits), got %q", o.Result)
		}
		if o.Width < 1 || o.Height < 1 {
			return invalidOp(sizeField(o), "composite width and height must be at least 1 pixel, got %d×%d", o.Width, o.Height)
		}
	case "":
		return invalidOp("op", "the edit has no op; use one of %s", strings.Join(OpNames(), ", "))
	default:
		return invalidOp("op", "unknown op %q; use one of %s", o.Op, strings.Join(OpNames(), ", "))
	}
	return nil
}

// Bounds returns the size of the image after the op, given the size w×h
// before it, without touching pixels. It assumes a valid op.
func (o Op) Bounds(w, h int) (int, int) {
	switch o.Op {
	case OpCrop:
		if o.Aspect != "" {
			r := aspectRect(w, h, o.Aspect)
			return r.Dx(), r.Dy()
		}
		return o.Width, o.Height
	case OpResize:
		return resizeSize(w, h, o.Width, o.Height, o.Fit)
	case OpRotate:
		return rotatedSize(w, h, o.Angle)
	case OpComposite:
		return o.Width, o.Height
	}
	return w, h
}

// KeepsSize reports whether the op's result has the size of the image it
// is applied to, or for quarter turns the same sides swapped. Whether such
// an op is valid does not depend on that image: Validate gives the same
// answer for any size that a valid image can have.
func (o Op) KeepsSize() bool {
	switch o.Op {
	case OpCrop, OpResize, OpComposite:
		return false
	case OpRotate:
		if !finite(o.Angle) {
			return true // invalid whatever the size
		}
		_, ok := rightAngle(o.Angle)
		return ok
	}
	return true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseAspect parses "W:H" with W and H from 1 to 1000.
func parseAspect(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || w < 1 || h < 1 || w > 1000 || h > 1000 || a[0] == '+' || b[0] == '+' {
		return 0, 0, false
	}
	return w, h, true
}

// parseHexColor parses "#rrggbb" into opaque NRGBA bytes.
func parseHexColor(s string) ([4]uint8, bool) {
	if len(s) != 7 || s[0] != '#' {
		return [4]uint8{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return [4]uint8{}, false
	}
	return [4]uint8{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}, true
}

// resizeSize computes a resize's output size; see the Fit constants.
func resizeSize(w, h, tw, th int, fit string) (int, int) {
	scaled := func(v int, s float64) int { return max(1, int(math.Round(float64(v)*s))) }
	switch {
	case tw == 0:
		return scaled(w, float64(th)/float64(h)), th
	case th == 0:
		return tw, scaled(h, float64(tw)/float64(w))
	case fit == FitCover || fit == FitFill:
		return tw, th
	}
	s := math.Min(float64(tw)/float64(w), float64(th)/float64(h))
	return min(tw, scaled(w, s)), min(th, scaled(h, s))
}

// aspectRect is the largest centred rectangle of the given aspect in w×h.
func aspectRect(w, h int, aspect string) rect {
	aw, ah, _ := parseAspect(aspect)
	cw, ch := w, h
	if int64(w)*int64(ah) > int64(h)*int64(aw) { // wider than the aspect
		cw = max(1, min(w, int(math.Round(float64(h)*float64(aw)/float64(ah)))))
	} else {
		ch = max(1, min(h, int(math.Round(float64(w)*float64(ah)/float64(aw)))))
	}
	x, y := (w-cw)/2, (h-ch)/2
	return rect{x, y, x + cw, y + ch}
}

// rect is a pixel rectangle [x0, x1) × [y0, y1).
type rect struct{ x0, y0, x1, y1 int }

func (r rect) Dx() int { return r.x1 - r.x0 }
func (r rect) Dy() int { return r.y1 - r.y0 }

// rightAngle reports whether deg is a multiple of 90 and returns the number
// of clockwise quarter turns (0–3).
func rightAngle(deg float64) (int, bool) {
	q := deg / 90
	if q != math.Trunc(q) {
		return 0, false
	}
	return ((int(q) % 4) + 4) % 4, true
}

// rotatedSize is the bounding box of a w×h image rotated by deg.
func rotatedSize(w, h int, deg float64) (int, int) {
	if q, ok := rightAngle(deg); ok {
		if q%2 == 1 {
			return h, w
		}
		return w, h
	}
	s, c := math.Sincos(deg * math.Pi / 180)
	s, c = math.Abs(s), math.Abs(c)
	// The small epsilon keeps float noise from adding a column.
	nw := int(math.Ceil(float64(w)*c + float64(h)*s - 1e-6))
	nh := int(math.Ceil(float64(w)*s + float64(h)*c - 1e-6))
	return max(1, nw), max(1, nh)
}

var _ fmt.Stringer = Op{}
