package imaging

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"image"
	"io"
	"math"
	"sync"
)

// Conversion to sRGB happens in decodeStored, on the NRGBA image the
// decoder produced and in place, before any resampling: a preview that
// shrinks on load converts the reduced decode (a few MP at most), a full
// decode converts every pixel once, and every later step (previews,
// renders, exports) sees sRGB. Exports carry no profile, so they are sRGB
// by the web's default.

// linBits is the precision of linear light between the matrix and the sRGB
// encoding table: 2^14 steps keep the darkest sRGB levels (slope 12.92)
// within a fifth of a level.
const linBits = 14

// srgbEncode maps linear light in 2^linBits steps to 8-bit sRGB. It is
// computed once and never written again.
var srgbEncode = sync.OnceValue(func() *[1 << linBits]uint8 {
	var t [1 << linBits]uint8
	for i := range t {
		t[i] = uint8(math.Round(linearToSRGB(float64(i)/(1<<linBits-1)) * 255))
	}
	return &t
})

// embeddedICC returns the ICC profile embedded in a JPEG, PNG or WebP, or nil
// when there is none or it cannot be reassembled. Other formats: nil.
func embeddedICC(format string, data []byte) []byte {
	switch format {
	case FormatJPEG:
		return jpegICC(data)
	case FormatPNG:
		return pngICC(data)
	case FormatWebP:
		return webpICC(data)
	}
	return nil
}

// jpegICC reassembles the ICC profile from a JPEG's APP2 "ICC_PROFILE"
// segments (each: sequence number from 1, chunk count, data), walking the
// markers up to the first scan. Missing, duplicate or inconsistent chunks,
// or a profile over maxICCSize, give nil.
func jpegICC(data []byte) []byte {
	const sig = "ICC_PROFILE\x00"
	var chunks [][]byte
	total, bad := 0, false
	ok := jpegHeaderSegments(data, func(marker byte, seg []byte) bool {
		if marker != 0xE2 || len(seg) < len(sig)+2 || string(seg[:len(sig)]) != sig {
			return true
		}
		seq, count := int(seg[len(sig)]), int(seg[len(sig)+1])
		if count == 0 || seq == 0 || seq > count || (chunks != nil && len(chunks) != count) {
			bad = true
			return false
		}
		if chunks == nil {
			chunks = make([][]byte, count)
		}
		if chunks[seq-1] != nil {
			bad = true
			return false
		}
		chunks[seq-1] = seg[len(sig)+2:]
		if total += len(chunks[seq-1]); total > maxICCSize {
			bad = true
			return false
		}
		return true
	})
	if !ok || bad {
		return nil
	}
	if chunks == nil {
		return nil
	}
	p := make([]byte, 0, total)
	for _, c := range chunks {
		if c == nil {
			return nil
		}
		p = append(p, c...)
	}
	return p
}

// pngICC returns the decompressed profile of a PNG's iCCP chunk, walking
// chunks up to the first IDAT (iCCP must precede it). A bad chunk, a
// profile that does not inflate, or one over maxICCSize gives nil; image/png
// checks the chunk's CRC when it decodes.
func pngICC(data []byte) []byte {
	const magic = "\x89PNG\r\n\x1a\n"
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return nil
	}
	for i := len(magic); i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(data)) || typ == "IDAT" || typ == "IEND" {
			return nil
		}
		if typ == "iCCP" {
			c := data[i+8 : i+8+int(n)]
			name := bytes.IndexByte(c, 0)
			if name < 1 || name+2 > len(c) || c[name+1] != 0 { // name, NUL, method 0 (zlib)
				return nil
			}
			zr, err := zlib.NewReader(bytes.NewReader(c[name+2:]))
			if err != nil {
				return nil
			}
			p, err := io.ReadAll(io.LimitReader(zr, maxICCSize+1))
			if err != nil || len(p) > maxICCSize {
				return nil
			}
			return p
		}
		i = int(end)
	}
	return nil
}

// webpICC returns the profile of an extended WebP: the ICCP chunk, which
// the VP8X header announces (flag 0x20) and which comes before the image
// data. A simple WebP (VP8 or VP8L only) has none; a chunk that runs past
// the file, or a profile over maxICCSize, gives nil.
func webpICC(data []byte) []byte {
	if len(data) < 30 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" ||
		string(data[12:16]) != "VP8X" || data[20]&0x20 == 0 {
		return nil
	}
	for i := 12; i+8 <= len(data); {
		typ := string(data[i : i+4])
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		end := int64(i) + 8 + n
		if end > int64(len(data)) {
			return nil
		}
		switch typ {
		case "ICCP":
			if n > maxICCSize {
				return nil
			}
			return data[i+8 : end]
		case "VP8 ", "VP8L", "ANIM", "ALPH":
			return nil // the profile comes first, or not at all
		}
		i = int(end + n&1) // chunks are padded to an even size
	}
	return nil
}

// toSRGB converts img from the profile's colour space to sRGB in place, or
// leaves it alone when the profile is unusable or already sRGB. Alpha is
// untouched.
func toSRGB(ctx context.Context, img *image.NRGBA, profile []byte) error {
	if profile == nil {
		return nil
	}
	prof, ok := parseICC(profile)
	if !ok || prof.isSRGB() {
		return nil // an unusable profile is ignored: the pixels are kept as they are
	}
	return convertPixels(ctx, img, &prof)
}

// convertPixels applies prof's conversion to sRGB: linearise through the
// profile's curves, map with inverse(sRGB D50) × profile matrix (both are
// PCS-relative, already adapted to D50, so no Bradford step), clip, and
// encode with the sRGB transfer function.
func convertPixels(ctx context.Context, img *image.NRGBA, prof *iccProfile) error {
	inv, ok := invert3(srgbD50)
	if !ok {
		return nil
	}
	// Fixed point: linear light in 2^linBits steps, coefficients in
	// 2^coefBits, so a row of three products stays well inside int32.
	const linMax, coefBits = 1<<linBits - 1, 12
	var m [3][3]int32
	for r := range 3 {
		for c := range 3 {
			var s float64
			for k := range 3 {
				s += inv[r][k] * prof.matrix[k][c]
			}
			m[r][c] = int32(math.Round(s * (1 << coefBits)))
		}
	}
	var lin [3][256]int32
	for c := range 3 {
		for i, v := range prof.trc[c] {
			lin[c][i] = int32(math.Round(v * linMax))
		}
	}
	enc := srgbEncode()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	return parallel(ctx, h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row := img.Pix[y*img.Stride:][:4*w]
			for x := 0; x < len(row); x += 4 {
				p := row[x : x+3 : x+3]
				r, g, b := lin[0][p[0]], lin[1][p[1]], lin[2][p[2]]
				p[0] = enc[clampLin((m[0][0]*r+m[0][1]*g+m[0][2]*b+1<<(coefBits-1))>>coefBits)]
				p[1] = enc[clampLin((m[1][0]*r+m[1][1]*g+m[1][2]*b+1<<(coefBits-1))>>coefBits)]
				p[2] = enc[clampLin((m[2][0]*r+m[2][1]*g+m[2][2]*b+1<<(coefBits-1))>>coefBits)]
			}
		}
	})
}

// clampLin clips a linear value to an srgbEncode index.
func clampLin(v int32) int { return int(min(max(v, 0), 1<<linBits-1)) }

// invert3 inverts a 3×3 matrix, reporting false when it is singular.
func invert3(a [3][3]float64) (inv [3][3]float64, ok bool) {
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	if math.Abs(det) < 1e-12 {
		return inv, false
	}
	for r := range 3 {
		for c := range 3 {
			// cofactor of (c, r), transposed
			r1, r2 := (c+1)%3, (c+2)%3
			c1, c2 := (r+1)%3, (r+2)%3
			inv[r][c] = (a[r1][c1]*a[r2][c2] - a[r1][c2]*a[r2][c1]) / det
		}
	}
	return inv, true
}
