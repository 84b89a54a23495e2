package compose

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/problem"
)

// Modes accepted in Request.Mode.
const (
	ModeReplaceBackground = "replace-background"
	ModeOverlay           = "overlay"
	ModeAI                = "ai"
)

// Blend modes accepted in Request.Blend.
const (
	BlendNormal   = "normal"
	BlendMultiply = "multiply"
	BlendScreen   = "screen"
	BlendOverlay  = "overlay"
)

// Defaults and bounds of the request parameters.
const (
	DefaultTolerance = 0.15
	DefaultFeather   = 1.5
	DefaultScale     = 0.25
	MaxScale         = 2.0
	MaxFeather       = 50.0
	MaxPromptRunes   = 4000
)

var (
	modes  = []string{ModeReplaceBackground, ModeOverlay, ModeAI}
	blends = []string{BlendNormal, BlendMultiply, BlendScreen, BlendOverlay}
)

// Request is one composite request, as the API receives it and as a job
// stores it. ParseRequest fills in defaults, so a parsed Request is
// complete. The JSON shapes are:
//
//	{"mode":"replace-background","background":{"color":"#2255ff"}}
//	{"mode":"replace-background","background":{"gradient":["#ffffff","#2255ff"]}}
//	{"mode":"replace-background","background":{"asset":"<digest>"},"tolerance":0.15,"feather":1.5}
//	{"mode":"overlay","asset":"<digest>","x":0.5,"y":0.5,"scale":0.3,"opacity":0.8,"blend":"multiply"}
//	{"mode":"ai","prompt":"..."}
type Request struct {
	Mode string `json:"mode"`

	// Background is the new background (replace-background).
	Background *Background `json:"background,omitempty"`
	// Tolerance is the colour distance (0 < t ≤ 1, relative to the largest
	// RGB distance) up to which a pixel counts as background
	// (replace-background).
	Tolerance float64 `json:"tolerance,omitempty"`
	// Feather is the blur radius (sigma, pixels, 0…50) of the cut-out's
	// edge (replace-background); 0 leaves a hard edge.
	Feather float64 `json:"feather,omitempty"`

	// Asset is the overlay image's blob digest (overlay).
	Asset string `json:"asset,omitempty"`
	// X and Y place the overlay's centre, relative to the base (0…1).
	X float64 `json:"x,omitempty"`
	Y float64 `json:"y,omitempty"`
	// Scale is the overlay's width relative to the base's width (0 < s ≤ 2).
	Scale float64 `json:"scale,omitempty"`
	// Opacity of the overlay, 0…1.
	Opacity float64 `json:"opacity,omitempty"`
	// Blend is normal, multiply, screen or overlay.
	Blend string `json:"blend,omitempty"`

	// Prompt tells the AI backend what to do (ai).
	Prompt string `json:"prompt,omitempty"`
}

// Background is exactly one of a solid colour, a two-stop vertical gradient
// (top to bottom) or an uploaded asset, scaled to cover the image.
type Background struct {
	Color    string   `json:"color,omitempty"`
	Gradient []string `json:"gradient,omitempty"`
	Asset    string   `json:"asset,omitempty"`
}

// Assets returns the blob digests the request refers to.
func (r Request) Assets() []string {
	switch {
	case r.Mode == ModeOverlay && r.Asset != "":
		return []string{r.Asset}
	case r.Mode == ModeReplaceBackground && r.Background != nil && r.Background.Asset != "":
		return []string{r.Background.Asset}
	}
	return nil
}

// wire is the request as sent, with pointers so that absent fields can be
// told from zero values.
type wire struct {
	Mode       *string          `json:"mode"`
	Background *json.RawMessage `json:"background"`
	Tolerance  *float64         `json:"tolerance"`
	Feather    *float64         `json:"feather"`
	Asset      *string          `json:"asset"`
	X          *float64         `json:"x"`
	Y          *float64         `json:"y"`
	Scale      *float64         `json:"scale"`
	Opacity    *float64         `json:"opacity"`
	Blend      *string          `json:"blend"`
	Prompt     *string          `json:"prompt"`
}

// invalid returns the validation error: a 400 *problem.Error naming field.
func invalid(field, format string, args ...any) *problem.Error {
	return &problem.Error{Status: http.StatusBadRequest, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// ParseRequest parses a composite request strictly: unknown fields, fields
// that the mode does not take, missing required fields, out-of-range values
// and trailing data are rejected with a 400 *problem.Error whose Field names
// the culprit. Defaults are filled in. Whether referenced assets exist is
// checked by Service.Submit.
func ParseRequest(data []byte) (Request, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Request{}, describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Request{}, invalid("", "the request must be one JSON object, with nothing after it")
	}
	if w.Mode == nil {
		return Request{}, invalid("mode", "the request has no \"mode\"; use one of %s", strings.Join(modes, ", "))
	}
	r := Request{Mode: *w.Mode}
	allowed := map[string][]string{
		ModeReplaceBackground: {"background", "tolerance", "feather"},
		ModeOverlay:           {"asset", "x", "y", "scale", "opacity", "blend"},
		ModeAI:                {"prompt"},
	}[r.Mode]
	if allowed == nil {
		return Request{}, invalid("mode", "unknown mode %q; use one of %s", r.Mode, strings.Join(modes, ", "))
	}
	given := map[string]bool{
		"background": w.Background != nil, "tolerance": w.Tolerance != nil, "feather": w.Feather != nil,
		"asset": w.Asset != nil, "x": w.X != nil, "y": w.Y != nil, "scale": w.Scale != nil,
		"opacity": w.Opacity != nil, "blend": w.Blend != nil, "prompt": w.Prompt != nil,
	}
	for _, k := range []string{"asset", "background", "blend", "feather", "opacity", "prompt", "scale", "tolerance", "x", "y"} {
		if given[k] && !slices.Contains(allowed, k) {
			return Request{}, invalid(k, "mode %s does not take %q; it takes %s", r.Mode, k, strings.Join(allowed, ", "))
		}
	}
	switch r.Mode {
	case ModeReplaceBackground:
		if w.Background == nil {
			return Request{}, invalid("background", "replace-background needs a \"background\": {\"color\":\"#2255ff\"}, {\"gradient\":[\"#ffffff\",\"#2255ff\"]} or {\"asset\":\"<digest>\"}")
		}
		var bg Background
		bdec := json.NewDecoder(bytes.NewReader(*w.Background))
		bdec.DisallowUnknownFields()
		if err := bdec.Decode(&bg); err != nil {
			return Request{}, invalid("background", "\"background\" must be an object with exactly one of \"color\", \"gradient\" or \"asset\"")
		}
		r.Background = &bg
		r.Tolerance, r.Feather = DefaultTolerance, DefaultFeather
		if w.Tolerance != nil {
			r.Tolerance = *w.Tolerance
		}
		if w.Feather != nil {
			r.Feather = *w.Feather
		}
	case ModeOverlay:
		if w.Asset != nil {
			r.Asset = *w.Asset
		}
		r.X, r.Y, r.Scale, r.Opacity, r.Blend = 0.5, 0.5, DefaultScale, 1, BlendNormal
		for _, p := range []struct {
			dst *float64
			src *float64
		}{{&r.X, w.X}, {&r.Y, w.Y}, {&r.Scale, w.Scale}, {&r.Opacity, w.Opacity}} {
			if p.src != nil {
				*p.dst = *p.src
			}
		}
		if w.Blend != nil {
			r.Blend = *w.Blend
		}
	case ModeAI:
		if w.Prompt != nil {
			r.Prompt = *w.Prompt
		}
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// describeJSONError turns a decoding error into a 400 that names the field.
func describeJSONError(err error) *problem.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return invalid(te.Field, "%q has the wrong type: it must be a %s", te.Field, jsonKind(te.Type.Kind().String()))
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		f := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return invalid(f, "unknown field %q", f)
	}
	return invalid("", "the request must be a JSON object such as {\"mode\":\"replace-background\",\"background\":{\"color\":\"#2255ff\"}}")
}

func jsonKind(k string) string {
	switch k {
	case "float64":
		return "number"
	case "ptr", "string":
		return "string"
	}
	return k
}

// Validate checks a request's parameters (not whether its assets exist).
// Requests built in Go, not parsed, should be validated before Submit; Submit
// does so itself.
func (r Request) Validate() error {
	inRange := func(field string, v, lo, hi float64, loOpen bool) error {
		if math.IsNaN(v) || v > hi || v < lo || (loOpen && v == lo) {
			op := "from"
			if loOpen {
				op = "above"
			}
			return invalid(field, "%q must be %s %g up to %g, got %g", field, op, lo, hi, v)
		}
		return nil
	}
	switch r.Mode {
	case ModeReplaceBackground:
		bg := r.Background
		if bg == nil {
			return invalid("background", "replace-background needs a \"background\"")
		}
		n := 0
		for _, set := range []bool{bg.Color != "", bg.Gradient != nil, bg.Asset != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return invalid("background", "\"background\" must have exactly one of \"color\", \"gradient\" or \"asset\"")
		}
		switch {
		case bg.Color != "":
			if _, err := ParseColor(bg.Color); err != nil {
				return invalid("background.color", "background colour: %v", err)
			}
		case bg.Gradient != nil:
			if len(bg.Gradient) != 2 {
				return invalid("background.gradient", "\"gradient\" must list two colours (top, bottom), such as [\"#ffffff\",\"#2255ff\"]")
			}
			for _, c := range bg.Gradient {
				if _, err := ParseColor(c); err != nil {
					return invalid("background.gradient", "gradient colour: %v", err)
				}
			}
		default:
			if !blob.ValidDigest(bg.Asset) {
				return invalid("background.asset", "\"asset\" must be the digest that POST /api/v1/assets returned (64 hex digits)")
			}
		}
		if err := inRange("tolerance", r.Tolerance, 0, 1, true); err != nil {
			return err
		}
		return inRange("feather", r.Feather, 0, MaxFeather, false)
	case ModeOverlay:
		if r.Asset == "" {
			return invalid("asset", "overlay needs an \"asset\": the digest that POST /api/v1/assets returned")
		}
		if !blob.ValidDigest(r.Asset) {
			return invalid("asset", "\"asset\" must be the digest that POST /api/v1/assets returned (64 hex digits)")
		}
		for _, c := range []struct {
			f      string
			v      float64
			lo, hi float64
			open   bool
		}{{"x", r.X, 0, 1, false}, {"y", r.Y, 0, 1, false}, {"scale", r.Scale, 0, MaxScale, true}, {"opacity", r.Opacity, 0, 1, false}} {
			if err := inRange(c.f, c.v, c.lo, c.hi, c.open); err != nil {
				return err
			}
		}
		if !slices.Contains(blends, r.Blend) {
			return invalid("blend", "unknown blend %q; use one of %s", r.Blend, strings.Join(blends, ", "))
		}
	case ModeAI:
		if strings.TrimSpace(r.Prompt) == "" {
			return invalid("prompt", "the AI backend needs a \"prompt\" saying what to change")
		}
		if n := utf8.RuneCountInString(r.Prompt); n > MaxPromptRunes {
			return invalid("prompt", "the prompt is %d characters long; at most %d are allowed", n, MaxPromptRunes)
		}
	default:
		return invalid("mode", "unknown mode %q; use one of %s", r.Mode, strings.Join(modes, ", "))
	}
	return nil
}
