package compose

import (
	"errors"
	"fmt"
	"image/color"
	"strconv"
)

// ParseColor parses "#rgb", "#rrggbb" or "#rrggbbaa" (case-insensitive).
func ParseColor(s string) (color.NRGBA, error) {
	if len(s) == 0 || s[0] != '#' {
		return color.NRGBA{}, fmt.Errorf("%q is not a colour: use #rgb, #rrggbb or #rrggbbaa", s)
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) == 6 {
		h += "ff"
	}
	if len(h) != 8 {
		return color.NRGBA{}, fmt.Errorf("%q is not a colour: use #rgb, #rrggbb or #rrggbbaa", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("%q is not a colour: %w", s, errors.Unwrap(err))
	}
	return color.NRGBA{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}, nil
}
