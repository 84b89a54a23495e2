package imaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Op is one edit in an edit list. It is a flat struct: Op names the
// operation and only the fields that operation takes are meaningful. Pixel
// values refer to the current image, after the edits before it. The JSON
// shapes are:
//
//	{"op":"crop","x":10,"y":5,"width":60,"height":40}
//	{"op":"crop","aspect":"16:9"}                      centred, as large as fits
//	{"op":"resize","width":800,"height":600,"fit":"contain"}  fit: contain (default), cover, fill; one side may be omitted
//	{"op":"rotate","angle":90,"fill":"#ffffff"}        clockwise degrees; fill only for angles that are not multiples of 90
//	{"op":"flip","direction":"horizontal"}             or "vertical"
//	{"op":"brightness","amount":0.2}                   also contrast, saturation: amount in −1…1
//	{"op":"hue","degrees":30}                          −360…360
//	{"op":"gamma","value":1.8}                         0.1…10; above 1 brightens mid-tones
//	{"op":"grayscale"} {"op":"sepia"} {"op":"invert"}
//	{"op":"blur","sigma":2}                            0 < sigma ≤ 50 (pixels)
//	{"op":"sharpen","amount":1,"radius":1.5}           unsharp mask: 0 < amount ≤ 5, 0 < radius ≤ 50
//	{"op":"composite","result":"<sha256 hex>","width":W,"height":H}
//
// A composite op stands for the output of a compositor (a later stage that
// replaces the whole image); it is resolved through [ReplayOptions.Resolve].
//
// Op marshals back to exactly these shapes, so an edit list round-trips
// through JSON unchanged.
type Op struct {
	Op        string  `json:"op"`
	X         int     `json:"x"`
	Y         int     `json:"y"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	Aspect    string  `json:"aspect,omitempty"`
	Fit       string  `json:"fit,omitempty"`
	Angle     float64 `json:"angle"`
	Fill      string  `json:"fill,omitempty"`
	Direction string  `json:"direction,omitempty"`
	Amount    float64 `json:"amount"`
	Degrees   float64 `json:"degrees"`
	Value     float64 `json:"value"`
	Sigma     float64 `json:"sigma"`
	Radius    float64 `json:"radius"`
	Result    string  `json:"result,omitempty"`
}

// Operation names accepted in Op.Op.
const (
	OpCrop       = "crop"
	OpResize     = "resize"
	OpRotate     = "rotate"
	OpFlip       = "flip"
	OpBrightness = "brightness"
	OpContrast   = "contrast"
	OpSaturation = "saturation"
	OpHue        = "hue"
	OpGamma      = "gamma"
	OpGrayscale  = "grayscale"
	OpSepia      = "sepia"
	OpInvert     = "invert"
	OpBlur       = "blur"
	OpSharpen    = "sharpen"
	OpComposite  = "composite"
)

// opFields lists, per operation, the JSON fields it accepts besides "op".
// Crop's two forms are told apart by the presence of "aspect".
var opFields = map[string][]string{
	OpCrop:       {"x", "y", "width", "height", "aspect"},
	OpResize:     {"width", "height", "fit"},
	OpRotate:     {"angle", "fill"},
	OpFlip:       {"direction"},
	OpBrightness: {"amount"},
	OpContrast:   {"amount"},
	OpSaturation: {"amount"},
	OpHue:        {"degrees"},
	OpGamma:      {"value"},
	OpGrayscale:  {},
	OpSepia:      {},
	OpInvert:     {},
	OpBlur:       {"sigma"},
	OpSharpen:    {"amount", "radius"},
	OpComposite:  {"result", "width", "height"},
}

// required lists the fields an operation cannot do without.
var required = map[string][]string{
	OpRotate:     {"angle"},
	OpFlip:       {"direction"},
	OpBrightness: {"amount"},
	OpContrast:   {"amount"},
	OpSaturation: {"amount"},
	OpHue:        {"degrees"},
	OpGamma:      {"value"},
	OpBlur:       {"sigma"},
	OpSharpen:    {"amount", "radius"},
	OpComposite:  {"result", "width", "height"},
}

// OpNames returns the names of all operations, sorted.
func OpNames() []string {
	names := make([]string, 0, len(opFields))
	for n := range opFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseOp parses one JSON op strictly: unknown operations, fields that the
// operation does not take, missing required fields, wrong types and trailing
// data are rejected with an *[Error] of Code [CodeInvalidOp] whose Field
// names the culprit. Parameter ranges that depend on the image are checked
// by [Op.Validate].
func ParseOp(data []byte) (Op, error) {
	var fields map[string]json.RawMessage
	if err := decodeStrict(data, &fields); err != nil || fields == nil {
		return Op{}, &Error{Code: CodeInvalidOp, Message: "the edit must be a JSON object such as {\"op\":\"rotate\",\"angle\":90}", Err: err}
	}
	var name string
	if raw, ok := fields["op"]; !ok {
		return Op{}, invalidOp("op", "the edit has no \"op\"; use one of %s", strings.Join(OpNames(), ", "))
	} else if err := json.Unmarshal(raw, &name); err != nil {
		return Op{}, invalidOp("op", "\"op\" must be a string naming one of %s", strings.Join(OpNames(), ", "))
	}
	allowed, ok := opFields[name]
	if !ok {
		return Op{}, invalidOp("op", "unknown op %q; use one of %s", name, strings.Join(OpNames(), ", "))
	}
	for _, k := range sortedKeys(fields) {
		if k != "op" && !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return Op{}, invalidOp(k, "%s takes no parameters, but %q was given", name, k)
			}
			return Op{}, invalidOp(k, "%s does not take %q; it takes %s", name, k, strings.Join(allowed, ", "))
		}
	}
	for _, k := range required[name] {
		if _, ok := fields[k]; !ok {
			return Op{}, invalidOp(k, "%s needs %q", name, k)
		}
	}
	if name == OpCrop {
		if _, ok := fields["aspect"]; ok {
			if len(fields) != 2 {
				return Op{}, invalidOp("aspect", "crop takes either \"aspect\" or \"x\", \"y\", \"width\" and \"height\", not both")
			}
		} else {
			for _, k := range []string{"x", "y", "width", "height"} {
				if _, ok := fields[k]; !ok {
					return Op{}, invalidOp(k, "crop needs %q (or an \"aspect\" such as \"16:9\")", k)
				}
			}
		}
	}
	if name == OpResize && fields["width"] == nil && fields["height"] == nil {
		return Op{}, invalidOp("width", "resize needs \"width\", \"height\" or both")
	}
	var op Op
	for k, raw := range fields {
		if err := setField(&op, k, raw); err != nil {
			return Op{}, invalidOp(k, "%s: %q must be %s", name, k, err.Error())
		}
	}
	if name == OpResize {
		// 0 would mean "omitted" when marshalled back; say so now.
		for k, v := range map[string]int{"width": op.Width, "height": op.Height} {
			if _, ok := fields[k]; ok && v == 0 {
				return Op{}, invalidOp(k, "resize %s must be from 1 to %d pixels; leave it out to keep the aspect ratio", k, MaxEdge)
			}
		}
	}
	return op, nil
}

// setField decodes one JSON value into the matching Op field, reporting the
// expected type on failure.
func setField(op *Op, k string, raw json.RawMessage) error {
	var ip *int
	var fp *float64
	var sp *string
	switch k {
	case "op":
		sp = &op.Op
	case "x":
		ip = &op.X
	case "y":
		ip = &op.Y
	case "width":
		ip = &op.Width
	case "height":
		ip = &op.Height
	case "aspect":
		sp = &op.Aspect
	case "fit":
		sp = &op.Fit
	case "angle":
		fp = &op.Angle
	case "fill":
		sp = &op.Fill
	case "direction":
		sp = &op.Direction
	case "amount":
		fp = &op.Amount
	case "degrees":
		fp = &op.Degrees
	case "value":
		fp = &op.Value
	case "sigma":
		fp = &op.Sigma
	case "radius":
		fp = &op.Radius
	case "result":
		sp = &op.Result
	}
	switch {
	case ip != nil:
		if json.Unmarshal(raw, ip) != nil {
			return errors.New("a whole number")
		}
	case fp != nil:
		if json.Unmarshal(raw, fp) != nil {
			return errors.New("a number")
		}
	case sp != nil:
		// Empty strings would not survive a round trip (they are omitted),
		// and no string parameter has a meaningful empty value.
		if json.Unmarshal(raw, sp) != nil || *sp == "" {
			return errors.New("a non-empty string")
		}
	}
	return nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding op: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decoding op: trailing data after the object")
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// UnmarshalJSON parses strictly, as [ParseOp] does.
func (o *Op) UnmarshalJSON(data []byte) error {
	op, err := ParseOp(data)
	if err != nil {
		return err
	}
	*o = op
	return nil
}

// MarshalJSON writes the op in its documented shape: "op" first, then
// exactly the fields that operation takes (optional ones only when set).
func (o Op) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"op":`)
	b.Write(quote(o.Op))
	num := func(k string, v float64) {
		fmt.Fprintf(&b, ",%q:%s", k, strconv.FormatFloat(v, 'g', -1, 64))
	}
	integer := func(k string, v int) { fmt.Fprintf(&b, ",%q:%d", k, v) }
	str := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, ",%q:%s", k, quote(v))
		}
	}
	switch o.Op {
	case OpCrop:
		if o.Aspect != "" {
			str("aspect", o.Aspect)
			break
		}
		integer("x", o.X)
		integer("y", o.Y)
		integer("width", o.Width)
		integer("height", o.Height)
	case OpResize:
		if o.Width != 0 {
			integer("width", o.Width)
		}
		if o.Height != 0 {
			integer("height", o.Height)
		}
		str("fit", o.Fit)
	case OpRotate:
		num("angle", o.Angle)
		str("fill", o.Fill)
	case OpFlip:
		str("direction", o.Direction)
	case OpBrightness, OpContrast, OpSaturation:
		num("amount", o.Amount)
	case OpHue:
		num("degrees", o.Degrees)
	case OpGamma:
		num("value", o.Value)
	case OpBlur:
		num("sigma", o.Sigma)
	case OpSharpen:
		num("amount", o.Amount)
		num("radius", o.Radius)
	case OpComposite:
		str("result", o.Result)
		integer("width", o.Width)
		integer("height", o.Height)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func quote(s string) []byte {
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	return q
}

// String describes the op for the edit history, for example "rotate 90°" or
// "crop 60×40 at 10,5". The text is stable: it depends only on the op.
func (o Op) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	signed := func(v float64) string {
		if v > 0 {
			return "+" + f(v)
		}
		return f(v)
	}
	switch o.Op {
	case OpCrop:
		if o.Aspect != "" {
			return "crop " + o.Aspect
		}
		return fmt.Sprintf("crop %d×%d at %d,%d", o.Width, o.Height, o.X, o.Y)
	case OpResize:
		fit := o.Fit
		if fit == "" {
			fit = FitContain
		}
		switch {
		case o.Width != 0 && o.Height != 0:
			return fmt.Sprintf("resize %d×%d (%s)", o.Width, o.Height, fit)
		case o.Width != 0:
			return fmt.Sprintf("resize to width %d", o.Width)
		default:
			return fmt.Sprintf("resize to height %d", o.Height)
		}
	case OpRotate:
		if o.Fill != "" {
			return "rotate " + f(o.Angle) + "° fill " + o.Fill
		}
		return "rotate " + f(o.Angle) + "°"
	case OpFlip:
		return "flip " + o.Direction
	case OpBrightness, OpContrast, OpSaturation:
		return o.Op + " " + signed(o.Amount)
	case OpHue:
		return "hue " + signed(o.Degrees) + "°"
	case OpGamma:
		return "gamma " + f(o.Value)
	case OpBlur:
		return "blur σ " + f(o.Sigma)
	case OpSharpen:
		return "sharpen " + f(o.Amount) + " radius " + f(o.Radius)
	case OpComposite:
		d := o.Result
		if len(d) > 12 {
			d = d[:12] + "…"
		}
		return fmt.Sprintf("composite %s %d×%d", d, o.Width, o.Height)
	}
	return o.Op
}
