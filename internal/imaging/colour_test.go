package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// iccPatches are the sRGB colours of the 8×16 patches in testdata/icc.
var iccPatches = [8]color.NRGBA{
	{255, 0, 0, 255}, {0, 200, 0, 255}, {0, 0, 255, 255}, {0, 255, 255, 255},
	{255, 0, 255, 255}, {255, 255, 0, 255}, {128, 128, 128, 255}, {224, 172, 138, 255},
}

func readICCFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "icc", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lcmsPatches are the patches as ImageMagick 6.9 (lcms 2) converts each
// fixture back to sRGB: what an established CMM makes of the same 8-bit
// pixels (convert f -profile sRGB.icc).
var lcmsPatches = map[string][8]color.NRGBA{
	"adobe.jpg": {{255, 0, 0, 255}, {8, 200, 5, 255}, {0, 0, 254, 255}, {0, 254, 255, 255},
		{255, 0, 254, 255}, {255, 254, 0, 255}, {128, 128, 128, 255}, {224, 170, 136, 255}},
	"adobe.png": {{253, 0, 0, 255}, {1, 199, 0, 255}, {0, 0, 254, 255}, {0, 254, 255, 255},
		{253, 0, 254, 255}, {255, 254, 0, 255}, {126, 128, 126, 255}, {223, 171, 137, 255}},
	// The same pixels as adobe.png, in a lossless WebP with an ICCP chunk
	// (convert adobe.png -define webp:lossless=true adobe.webp).
	"adobe.webp": {{253, 0, 0, 255}, {1, 199, 0, 255}, {0, 0, 254, 255}, {0, 254, 255, 255},
		{253, 0, 254, 255}, {255, 254, 0, 255}, {126, 128, 126, 255}, {223, 171, 137, 255}},
	"prophoto.png": {{255, 0, 0, 255}, {0, 199, 0, 255}, {0, 1, 254, 255}, {0, 254, 254, 255},
		{255, 0, 254, 255}, {254, 254, 0, 255}, {127, 127, 127, 255}, {223, 171, 137, 255}},
}

// patchError returns the largest channel difference between the centre of
// each patch and the colours given.
func patchError(img *image.NRGBA, patches [8]color.NRGBA) int {
	worst := 0
	for i, want := range patches {
		got := img.NRGBAAt(8*i+4, 8)
		for _, d := range [...]int{int(got.R) - int(want.R), int(got.G) - int(want.G), int(got.B) - int(want.B)} {
			worst = max(worst, d, -d)
		}
	}
	return worst
}

// TestICCFixtures decodes Adobe RGB and ProPhoto RGB images made by
// ImageMagick (lcms) and expects the original sRGB patches back, and
// expects the same pixels without their profile to be far off: the test
// fails when nothing is converted.
//
// Against the original patches the bound is looser than against lcms: sRGB
// green (0,200,0) is Adobe RGB (112,198,46), and half a level of 8-bit
// rounding there, through sRGB's steep toe (slope 12.92), is several
// levels of red and blue; lcms itself gives (8,200,5) from the JPEG.
func TestICCFixtures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tol  int
	}{{"adobe.jpg", 4}, {"adobe.png", 2}, {"adobe.webp", 2}, {"prophoto.png", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			data := readICCFixture(t, tc.name)
			img, _, err := Decode(ctx, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if e := patchError(img, lcmsPatches[tc.name]); e > tc.tol {
				t.Errorf("converted patches are %d levels off lcms's, want ≤ %d", e, tc.tol)
			}
			if e := patchError(img, iccPatches); e > 10 {
				t.Errorf("converted patches are %d levels off the originals, want ≤ 10", e)
			}
			p, _, err := DecodePreview(ctx, data, Limits{}, 64)
			if err != nil {
				t.Fatal(err)
			}
			if e := patchError(p, lcmsPatches[tc.name]); e > tc.tol {
				t.Errorf("preview patches are %d levels off, want ≤ %d", e, tc.tol)
			}
			raw, _, err := Decode(ctx, stripICC(t, data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if e := patchError(raw, iccPatches); e < 20 {
				t.Errorf("without the profile the patches are only %d levels off", e)
			}
		})
	}
}

// stripICC removes the ICC profile from a JPEG (APP2 segments), a PNG
// (the iCCP chunk) or a WebP (the ICCP chunk, and its flag in VP8X).
func stripICC(t testing.TB, data []byte) []byte {
	t.Helper()
	var out []byte
	format := FormatJPEG
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		format = FormatPNG
		out = append(out, data[:8]...)
		for i := 8; i < len(data); {
			end := i + 12 + int(binary.BigEndian.Uint32(data[i:]))
			if string(data[i+4:i+8]) != "iCCP" {
				out = append(out, data[i:end]...)
			}
			i = end
		}
	case bytes.HasPrefix(data, []byte("RIFF")):
		format = FormatWebP
		out = append(out, data[:12]...)
		for i := 12; i < len(data); {
			n := int(binary.LittleEndian.Uint32(data[i+4:]))
			end := i + 8 + n + n&1
			if string(data[i:i+4]) != "ICCP" {
				out = append(out, data[i:end]...)
			}
			i = end
		}
		out[20] &^= 0x20 // VP8X: no ICC profile
		binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	default:
		out = append(out, data[:2]...)
		i := 2
		for data[i+1] != 0xDA {
			end := i + 2 + int(binary.BigEndian.Uint16(data[i+2:]))
			if data[i+1] != 0xE2 {
				out = append(out, data[i:end]...)
			}
			i = end
		}
		out = append(out, data[i:]...)
	}
	if embeddedICC(format, out) != nil {
		t.Fatal("stripICC left a profile")
	}
	return out
}

// withICC inserts profile into a JPEG right after SOI as n APP2 chunks,
// written in the order given by seq (1-based sequence numbers).
func withICC(jpg, profile []byte, n int, seq ...int) []byte {
	size := (len(profile) + n - 1) / n
	out := append([]byte{}, jpg[:2]...)
	for _, s := range seq {
		chunk := profile[min((s-1)*size, len(profile)):min(s*size, len(profile))]
		seg := append([]byte("ICC_PROFILE\x00"), byte(s), byte(n))
		seg = append(seg, chunk...)
		out = append(out, 0xFF, 0xE2, byte((len(seg)+2)>>8), byte(len(seg)+2))
		out = append(out, seg...)
	}
	return append(out, jpg[2:]...)
}

func decodePixels(t *testing.T, data []byte) []uint8 {
	t.Helper()
	img, _, err := Decode(context.Background(), data, Limits{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img.Pix
}

// TestICCJPEGChunks reassembles a profile split over APP2 segments in any
// order, and ignores it when a chunk is missing or repeated.
func TestICCJPEGChunks(t *testing.T) {
	adobe := readICCFixture(t, "AdobeRGB1998.icc")
	jpg := encodeJPEG(t, gradient(32, 16), 95)
	plain := decodePixels(t, jpg)
	one := decodePixels(t, withICC(jpg, adobe, 1, 1))
	if bytes.Equal(one, plain) {
		t.Fatal("an Adobe RGB profile changed nothing")
	}
	if got := jpegICC(withICC(jpg, adobe, 3, 2, 3, 1)); !bytes.Equal(got, adobe) {
		t.Fatalf("reassembled %d bytes, want the %d-byte profile", len(got), len(adobe))
	}
	if got := decodePixels(t, withICC(jpg, adobe, 3, 3, 1, 2)); !bytes.Equal(got, one) {
		t.Error("a profile in three chunks decodes differently from one chunk")
	}
	for name, data := range map[string][]byte{
		"missing":  withICC(jpg, adobe, 3, 1, 3),
		"repeated": withICC(jpg, adobe, 3, 1, 2, 2, 3),
	} {
		if jpegICC(data) != nil {
			t.Errorf("%s chunk: profile not ignored", name)
		}
		if got := decodePixels(t, data); !bytes.Equal(got, plain) {
			t.Errorf("%s chunk: pixels converted", name)
		}
	}
}

// TestICCUnusableIgnored checks that profiles the converter cannot use
// leave the pixels alone without an error.
func TestICCUnusableIgnored(t *testing.T) {
	adobe := readICCFixture(t, "AdobeRGB1998.icc")
	jpg := encodeJPEG(t, gradient(32, 16), 90)
	plain := decodePixels(t, jpg)
	edit := func(f func(p []byte)) []byte {
		p := append([]byte{}, adobe...)
		f(p)
		return p
	}
	tagOffset := func(p []byte, sig string) int {
		for i := 132; i < 132+12*int(binary.BigEndian.Uint32(p[128:])); i += 12 {
			if string(p[i:i+4]) == sig {
				return i
			}
		}
		t.Fatalf("no %s tag", sig)
		return 0
	}
	for name, prof := range map[string][]byte{
		"truncated": adobe[:300],
		"header":    adobe[:100],
		"cmyk":      edit(func(p []byte) { copy(p[16:], "CMYK") }),
		"gray":      edit(func(p []byte) { copy(p[16:], "GRAY") }),
		"lut":       edit(func(p []byte) { copy(p[tagOffset(p, "rXYZ"):], "A2B0") }),
		"offset":    edit(func(p []byte) { binary.BigEndian.PutUint32(p[tagOffset(p, "gTRC")+4:], 1<<31) }),
		"tags":      edit(func(p []byte) { binary.BigEndian.PutUint32(p[128:], 1<<30) }),
		"trc type":  edit(func(p []byte) { copy(p[binary.BigEndian.Uint32(p[tagOffset(p, "rTRC")+4:]):], "mAB ") }),
		"singular":  edit(func(p []byte) { copy(p[binary.BigEndian.Uint32(p[tagOffset(p, "gXYZ")+4:])+8:], make([]byte, 12)) }),
		"garbage":   bytes.Repeat([]byte{0xFF}, 4000),
	} {
		if _, ok := parseICC(prof); ok {
			t.Errorf("%s: profile parsed", name)
		}
		if got := decodePixels(t, withICC(jpg, prof, 1, 1)); !bytes.Equal(got, plain) {
			t.Errorf("%s: pixels converted", name)
		}
	}
	png := readICCFixture(t, "adobe.png")
	if got, want := decodePixels(t, corruptICCP(png)), decodePixels(t, stripICC(t, png)); !bytes.Equal(got, want) {
		t.Error("a PNG whose iCCP does not inflate: pixels converted")
	}
}

// corruptICCP breaks the zlib stream of a PNG's iCCP chunk and fixes up
// the chunk's CRC, so image/png still accepts the file.
func corruptICCP(png []byte) []byte {
	out := append([]byte{}, png...)
	for i := 8; i < len(out); {
		n := int(binary.BigEndian.Uint32(out[i:]))
		if string(out[i+4:i+8]) == "iCCP" {
			c := out[i+8 : i+8+n]
			z := bytes.IndexByte(c, 0) + 2
			for k := z + 2; k < len(c); k++ {
				c[k] ^= 0x5A
			}
			binary.BigEndian.PutUint32(out[i+8+n:], crc32.ChecksumIEEE(out[i+4:i+8+n]))
			break
		}
		i += 12 + n
	}
	return out
}

// TestICCSRGBSkipped checks that sRGB profiles, para (colord) and curv
// table (a 1024-entry curve as older writers store it), are recognised and
// cost no conversion.
func TestICCSRGBSkipped(t *testing.T) {
	srgb := readICCFixture(t, "sRGB.icc")
	prof, ok := parseICC(srgb)
	if !ok || !prof.isSRGB() {
		t.Fatalf("colord's sRGB.icc: parsed %v, not recognised as sRGB", ok)
	}
	table := make([]uint16, 1024)
	for i := range table {
		table[i] = uint16(srgbToLinear(float64(i)/1023)*65535 + 0.5)
	}
	prof, ok = parseICC(matrixProfile(srgbD50, table))
	if !ok || !prof.isSRGB() {
		t.Fatalf("curv-table sRGB: parsed %v, not recognised as sRGB", ok)
	}
	jpg := encodeJPEG(t, gradient(32, 16), 90)
	if got, want := decodePixels(t, withICC(jpg, srgb, 1, 1)), decodePixels(t, jpg); !bytes.Equal(got, want) {
		t.Error("an sRGB profile changed the pixels")
	}
}

// TestICCCurv checks curv gamma and table curves against colord's Adobe
// RGB profile (para type 0, gamma 563/256).
func TestICCCurv(t *testing.T) {
	adobe, ok := parseICC(readICCFixture(t, "AdobeRGB1998.icc"))
	if !ok || adobe.isSRGB() {
		t.Fatalf("Adobe RGB: parsed %v, or taken for sRGB", ok)
	}
	gamma, ok := parseICC(matrixProfile(adobe.matrix, []uint16{563}))
	if !ok || gamma.trc != adobe.trc {
		t.Fatalf("curv gamma: parsed %v, curves differ", ok)
	}
	table := make([]uint16, 4096)
	for i := range table {
		table[i] = uint16(adobe.trc[0][i*255/4095]*65535 + 0.5)
	}
	tab, ok := parseICC(matrixProfile(adobe.matrix, table))
	if !ok {
		t.Fatal("curv table not parsed")
	}
	for i := 0; i < 256; i += 51 {
		if d := tab.trc[1][i] - adobe.trc[1][i]; d > 1e-3 || d < -1e-3 {
			t.Errorf("curv table at %d: %v, want %v", i, tab.trc[1][i], adobe.trc[1][i])
		}
	}
}

// TestParaTypes checks the five parametric curve types on one input.
func TestParaTypes(t *testing.T) {
	for _, tc := range []struct {
		params []float64
		x, y   float64
	}{
		{[]float64{2}, 0.5, 0.25},
		{[]float64{1, 2, -0.5}, 0.2, 0}, // below -b/a
		{[]float64{1, 2, -0.5, 0.1}, 0.6, 0.8},
		{[]float64{2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045}, 0.02, 0.02 / 12.92},
		{[]float64{1, 1, 0, 0.5, 0.5, 0.1, 0.2}, 0.4, 0.4},
	} {
		typ := map[int]byte{1: 0, 3: 1, 4: 2, 5: 3, 7: 4}[len(tc.params)]
		tag := append([]byte("para\x00\x00\x00\x00"), 0, typ, 0, 0)
		for _, v := range tc.params {
			tag = binary.BigEndian.AppendUint32(tag, uint32(int32(v*65536)))
		}
		var lut [256]float64
		if !parseTRC(tag, &lut) {
			t.Fatalf("type %d not parsed", typ)
		}
		i := int(tc.x * 255)
		want := tc.y
		if d := lut[i] - want; d > 0.01 || d < -0.01 {
			t.Errorf("type %d at %v: %v, want %v", typ, tc.x, lut[i], want)
		}
	}
}

// matrixProfile builds a minimal v2 RGB matrix/TRC profile with the same
// curv curve on all channels (one entry: a u8Fixed8 gamma).
func matrixProfile(m [3][3]float64, curve []uint16) []byte {
	var body []byte
	type tag struct {
		sig      string
		off, len int
	}
	var tags []tag
	const header = 128 + 4 + 6*12
	for c, sig := range []string{"rXYZ", "gXYZ", "bXYZ"} {
		d := []byte("XYZ \x00\x00\x00\x00")
		for r := range 3 {
			d = binary.BigEndian.AppendUint32(d, uint32(int32(m[r][c]*65536+0.5)))
		}
		tags = append(tags, tag{sig, header + len(body), len(d)})
		body = append(body, d...)
	}
	d := binary.BigEndian.AppendUint32([]byte("curv\x00\x00\x00\x00"), uint32(len(curve)))
	for _, v := range curve {
		d = binary.BigEndian.AppendUint16(d, v)
	}
	for _, sig := range []string{"rTRC", "gTRC", "bTRC"} {
		tags = append(tags, tag{sig, header + len(body), len(d)})
	}
	body = append(body, d...)
	p := make([]byte, 128)
	binary.BigEndian.PutUint32(p, uint32(header+len(body)))
	copy(p[12:], "mntrRGB XYZ ")
	copy(p[36:], "acsp")
	p = binary.BigEndian.AppendUint32(p, uint32(len(tags)))
	for _, tg := range tags {
		p = append(p, tg.sig...)
		p = binary.BigEndian.AppendUint32(p, uint32(tg.off))
		p = binary.BigEndian.AppendUint32(p, uint32(tg.len))
	}
	return append(p, body...)
}
