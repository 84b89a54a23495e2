package imaging

import (
	"encoding/binary"
	"math"
)

// Pixels inside easel are sRGB. An upload tagged with another RGB profile
// (Adobe RGB from a camera, Display P3 from a phone) is converted on decode;
// see colour.go. This file reads the only kind of profile that conversion
// handles: a matrix/TRC RGB profile (ICC v2 or v4), three XYZ primaries and
// three tone curves. Anything else (LUT-based, CMYK, gray, corrupt or
// absurdly large) is "no usable profile", and the pixels are kept as they
// are: a broken profile is ignored, never a reason to refuse an upload.

// maxICCSize bounds a profile's size, embedded or decompressed; real RGB
// matrix profiles are a few KiB.
const maxICCSize = 4 << 20

// iccProfile is a parsed matrix/TRC RGB profile.
type iccProfile struct {
	// matrix maps linear RGB to PCS XYZ (D50): columns are rXYZ, gXYZ, bXYZ.
	matrix [3][3]float64
	// trc holds each channel's tone curve as 256 linear values, one per
	// 8-bit input.
	trc [3][256]float64
}

// srgbD50 is sRGB's linear-RGB-to-XYZ matrix adapted to D50 (as every sRGB
// ICC profile stores it), columns r, g, b.
var srgbD50 = [3][3]float64{
	{0.4360747, 0.3850649, 0.1430804},
	{0.2225045, 0.7168786, 0.0606169},
	{0.0139322, 0.0971045, 0.7141733},
}

// parseICC parses a matrix/TRC RGB profile, returning ok == false for any
// profile it cannot use. It bounds-checks every offset, so garbage never panics.
func parseICC(p []byte) (prof iccProfile, ok bool) {
	if len(p) < 132 || len(p) > maxICCSize {
		return prof, false
	}
	if string(p[36:40]) != "acsp" || string(p[16:20]) != "RGB " || string(p[20:24]) != "XYZ " {
		return prof, false // not a profile, or CMYK, gray, Lab PCS…
	}
	n := int64(binary.BigEndian.Uint32(p[128:]))
	if 132+12*n > int64(len(p)) {
		return prof, false
	}
	tags := map[string][]byte{"rXYZ": nil, "gXYZ": nil, "bXYZ": nil, "rTRC": nil, "gTRC": nil, "bTRC": nil}
	for i := range n {
		e := p[132+12*i:]
		if _, want := tags[string(e[:4])]; !want {
			continue
		}
		off, size := int64(binary.BigEndian.Uint32(e[4:])), int64(binary.BigEndian.Uint32(e[8:]))
		if off+size > int64(len(p)) || size < 8 {
			return prof, false // a tag outside the profile: corrupt
		}
		tags[string(e[:4])] = p[off : off+size]
	}
	for c, sig := range [3]string{"rXYZ", "gXYZ", "bXYZ"} {
		t := tags[sig]
		if len(t) < 20 || string(t[:4]) != "XYZ " {
			return prof, false // a LUT-only profile has no primaries
		}
		for r := range 3 {
			prof.matrix[r][c] = s15Fixed16(t[8+4*r:])
		}
	}
	if _, ok := invert3(prof.matrix); !ok {
		return prof, false // singular primaries: a corrupt profile
	}
	for c, sig := range [3]string{"rTRC", "gTRC", "bTRC"} {
		if !parseTRC(tags[sig], &prof.trc[c]) {
			return prof, false
		}
	}
	return prof, true
}

// parseTRC fills lut with a curv or para tone curve sampled at the 256
// 8-bit inputs, reporting whether the curve was usable.
func parseTRC(t []byte, lut *[256]float64) bool {
	if len(t) < 12 {
		return false
	}
	var f func(x float64) float64
	switch string(t[:4]) {
	case "curv":
		n := int64(binary.BigEndian.Uint32(t[8:]))
		if 12+2*n > int64(len(t)) {
			return false
		}
		switch n {
		case 0:
			f = func(x float64) float64 { return x }
		case 1:
			g := float64(binary.BigEndian.Uint16(t[12:])) / 256 // u8Fixed8
			f = func(x float64) float64 { return math.Pow(x, g) }
		default:
			f = func(x float64) float64 { // linear interpolation in the table
				pos := x * float64(n-1)
				i := min(int64(pos), n-2)
				a := float64(binary.BigEndian.Uint16(t[12+2*i:]))
				b := float64(binary.BigEndian.Uint16(t[14+2*i:]))
				return (a + (b-a)*(pos-float64(i))) / 65535
			}
		}
	case "para":
		if len(t) < 12 {
			return false
		}
		typ := binary.BigEndian.Uint16(t[8:])
		counts := [...]int{1, 3, 4, 5, 7}
		if int(typ) >= len(counts) || len(t) < 12+4*counts[typ] {
			return false
		}
		var v [7]float64
		for i := range counts[typ] {
			v[i] = s15Fixed16(t[12+4*i:])
		}
		g, a, b, c, d, e, ff := v[0], v[1], v[2], v[3], v[4], v[5], v[6]
		switch typ {
		case 0:
			f = func(x float64) float64 { return math.Pow(x, g) }
		case 1, 2:
			if a == 0 {
				return false
			}
			if typ == 1 {
				c = 0
			}
			f = func(x float64) float64 {
				if x >= -b/a {
					return math.Pow(a*x+b, g) + c
				}
				return c
			}
		case 3, 4:
			if typ == 3 {
				e, ff = 0, 0
			}
			f = func(x float64) float64 {
				if x >= d {
					return math.Pow(max(a*x+b, 0), g) + e
				}
				return c*x + ff
			}
		}
	default:
		return false
	}
	for i := range lut {
		y := f(float64(i) / 255)
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return false
		}
		lut[i] = min(max(y, 0), 1)
	}
	return true
}

// s15Fixed16 reads an ICC s15Fixed16Number.
func s15Fixed16(b []byte) float64 { return float64(int32(binary.BigEndian.Uint32(b))) / 65536 }

// isSRGB reports whether the profile is sRGB within what profile writers'
// rounding leaves (primaries within 0.002, curves within 0.001 of linear
// light), so that the common case is not converted at all.
func (p *iccProfile) isSRGB() bool {
	for r := range 3 {
		for c := range 3 {
			if math.Abs(p.matrix[r][c]-srgbD50[r][c]) > 0.002 {
				return false
			}
		}
	}
	for c := range 3 {
		for i, v := range p.trc[c] {
			if math.Abs(v-srgbToLinear(float64(i)/255)) > 0.001 {
				return false
			}
		}
	}
	return true
}

// srgbToLinear is the sRGB transfer function's inverse (IEC 61966-2-1).
func srgbToLinear(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// linearToSRGB is the sRGB transfer function.
func linearToSRGB(v float64) float64 {
	if v <= 0.0031308 {
		return v * 12.92
	}
	return 1.055*math.Pow(v, 1/2.4) - 0.055
}
