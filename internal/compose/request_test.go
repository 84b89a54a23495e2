package compose

import (
	"errors"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/problem"
)

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseRequestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want func(Request) bool
	}{
		{"colour", `{"mode":"replace-background","background":{"color":"#2255ff"}}`,
			func(r Request) bool {
				return r.Background.Color == "#2255ff" && r.Tolerance == DefaultTolerance && r.Feather == DefaultFeather
			}},
		{"gradient", `{"mode":"replace-background","background":{"gradient":["#fff","#2255ff"]},"feather":0}`,
			func(r Request) bool { return len(r.Background.Gradient) == 2 && r.Feather == 0 }},
		{"asset background", `{"mode":"replace-background","background":{"asset":"` + digest + `"},"tolerance":0.3}`,
			func(r Request) bool {
				return r.Background.Asset == digest && r.Tolerance == 0.3 && r.Assets()[0] == digest
			}},
		{"overlay", `{"mode":"overlay","asset":"` + digest + `","x":0.5,"y":0.5,"scale":0.3,"opacity":0.8,"blend":"multiply"}`,
			func(r Request) bool { return r.Scale == 0.3 && r.Opacity == 0.8 && r.Blend == BlendMultiply }},
		{"overlay defaults", `{"mode":"overlay","asset":"` + digest + `"}`,
			func(r Request) bool {
				return r.X == 0.5 && r.Y == 0.5 && r.Scale == DefaultScale && r.Opacity == 1 && r.Blend == BlendNormal
			}},
		{"ai", `{"mode":"ai","prompt":"a beach at dusk"}`, func(r Request) bool { return r.Prompt == "a beach at dusk" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRequest([]byte(tc.body))
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if !tc.want(r) {
				t.Fatalf("ParseRequest = %+v", r)
			}
		})
	}
}

func TestParseRequestInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, detail string
	}{
		{"not json", `nope`, "", "JSON object"},
		{"trailing", `{"mode":"ai","prompt":"x"} {}`, "", "nothing after"},
		{"no mode", `{}`, "mode", "no \"mode\""},
		{"unknown mode", `{"mode":"sepia"}`, "mode", "unknown mode"},
		{"unknown field", `{"mode":"ai","prompt":"x","temperature":1}`, "temperature", "unknown field"},
		{"field of another mode", `{"mode":"ai","prompt":"x","asset":"` + digest + `"}`, "asset", "does not take"},
		{"empty prompt", `{"mode":"ai","prompt":"  "}`, "prompt", "needs a \"prompt\""},
		{"missing prompt", `{"mode":"ai"}`, "prompt", "needs a \"prompt\""},
		{"long prompt", `{"mode":"ai","prompt":"` + strings.Repeat("a", MaxPromptRunes+1) + `"}`, "prompt", "at most"},
		{"no background", `{"mode":"replace-background"}`, "background", "needs a \"background\""},
		{"two backgrounds", `{"mode":"replace-background","background":{"color":"#fff","asset":"` + digest + `"}}`, "background", "exactly one"},
		{"empty background", `{"mode":"replace-background","background":{}}`, "background", "exactly one"},
		{"bad colour", `{"mode":"replace-background","background":{"color":"blue"}}`, "background.color", "not a colour"},
		{"bad hex", `{"mode":"replace-background","background":{"color":"#22zzff"}}`, "background.color", "not a colour"},
		{"one-stop gradient", `{"mode":"replace-background","background":{"gradient":["#fff"]}}`, "background.gradient", "two colours"},
		{"bad digest", `{"mode":"replace-background","background":{"asset":"abc"}}`, "background.asset", "64 hex"},
		{"tolerance 0", `{"mode":"replace-background","background":{"color":"#fff"},"tolerance":0}`, "tolerance", "above 0"},
		{"feather too big", `{"mode":"replace-background","background":{"color":"#fff"},"feather":51}`, "feather", "up to 50"},
		{"overlay no asset", `{"mode":"overlay"}`, "asset", "needs an \"asset\""},
		{"x out of range", `{"mode":"overlay","asset":"` + digest + `","x":1.5}`, "x", "from 0 up to 1"},
		{"negative opacity", `{"mode":"overlay","asset":"` + digest + `","opacity":-0.1}`, "opacity", "from 0 up to 1"},
		{"scale 0", `{"mode":"overlay","asset":"` + digest + `","scale":0}`, "scale", "above 0"},
		{"scale too big", `{"mode":"overlay","asset":"` + digest + `","scale":3}`, "scale", "up to 2"},
		{"unknown blend", `{"mode":"overlay","asset":"` + digest + `","blend":"darken"}`, "blend", "unknown blend"},
		{"wrong type", `{"mode":"overlay","asset":"` + digest + `","x":"left"}`, "x", "wrong type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRequest([]byte(tc.body))
			var pe *problem.Error
			if !errors.As(err, &pe) {
				t.Fatalf("ParseRequest(%s) = %v, want a *problem.Error", tc.body, err)
			}
			if pe.Status != 400 || pe.Field != tc.field || !strings.Contains(pe.Detail, tc.detail) {
				t.Fatalf("ParseRequest(%s) = %d %q field %q; want 400 containing %q, field %q", tc.body, pe.Status, pe.Detail, pe.Field, tc.detail, tc.field)
			}
		})
	}
}

func TestParseColor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][4]uint8{"#2255ff": {0x22, 0x55, 0xff, 255}, "#FFF": {255, 255, 255, 255}, "#00000080": {0, 0, 0, 128}} {
		c, err := ParseColor(in)
		if err != nil || [4]uint8{c.R, c.G, c.B, c.A} != want {
			t.Errorf("ParseColor(%q) = %v, %v; want %v", in, c, err, want)
		}
	}
	for _, in := range []string{"", "2255ff", "#12345", "#ggg", "#1234567890"} {
		if _, err := ParseColor(in); err == nil {
			t.Errorf("ParseColor(%q) succeeded", in)
		}
	}
}
