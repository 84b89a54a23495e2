package imaging

import (
	"context"
	"image"
	"math"
)

// Colour adjustments work on the stored (sRGB) values and leave alpha
// alone. Per-channel curves are 256-entry lookup tables; operations that mix
// channels are 3×3 matrices in 12-bit fixed point. Both run over row bands
// in parallel and may write into dst == src.

// lutFor returns the curve of a per-channel op.
func lutFor(o Op) *[256]uint8 {
	var lut [256]uint8
	for i := range lut {
		v := float64(i)
		switch o.Op {
		case OpBrightness: // shift by up to a full scale
			v += o.Amount * 255
		case OpContrast: // slope tan((a+1)·45°): 0 flattens to grey, 1 keeps, ∞ thresholds
			slope := math.Min(math.Tan((o.Amount+1)*math.Pi/4), 1e6)
			v = (v-127.5)*slope + 127.5
		case OpGamma: // values above 1 brighten the mid-tones
			v = 255 * math.Pow(v/255, 1/o.Value)
		case OpInvert:
			v = 255 - v
		}
		lut[i] = clamp8(v)
	}
	return &lut
}

// Rec. 709 luma weights, as in the CSS filter-effects matrices.
const lumR, lumG, lumB = 0.2126, 0.7152, 0.0722

// matrixFor returns the colour matrix of a channel-mixing op.
func matrixFor(o Op) [9]float64 {
	switch o.Op {
	case OpSepia:
		return [9]float64{0.393, 0.769, 0.189, 0.349, 0.686, 0.168, 0.272, 0.534, 0.131}
	case OpHue:
		s, c := math.Sincos(o.Degrees * math.Pi / 180)
		return [9]float64{
			0.213 + c*0.787 - s*0.213, 0.715 - c*0.715 - s*0.715, 0.072 - c*0.072 + s*0.928,
			0.213 - c*0.213 + s*0.143, 0.715 + c*0.285 + s*0.140, 0.072 - c*0.072 - s*0.283,
			0.213 - c*0.213 - s*0.787, 0.715 - c*0.715 + s*0.715, 0.072 + c*0.928 + s*0.072,
		}
	}
	k := 1 + o.Amount // saturation factor; grayscale is 0
	if o.Op == OpGrayscale {
		k = 0
	}
	return [9]float64{
		lumR + (1-lumR)*k, lumG - lumG*k, lumB - lumB*k,
		lumR - lumR*k, lumG + (1-lumG)*k, lumB - lumB*k,
		lumR - lumR*k, lumG - lumG*k, lumB + (1-lumB)*k,
	}
}

// applyLUT maps R, G and B of src through lut into dst.
func applyLUT(ctx context.Context, src, dst *image.NRGBA, lut *[256]uint8) error {
	w := src.Rect.Dx()
	return parallel(ctx, src.Rect.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:4*w]
			d := dst.Pix[y*dst.Stride:][:4*w]
			for i := 0; i+3 < len(s); i += 4 {
				d[i], d[i+1], d[i+2], d[i+3] = lut[s[i]], lut[s[i+1]], lut[s[i+2]], s[i+3]
			}
		}
	})
}

// applyMatrix multiplies R, G, B of src by m into dst.
func applyMatrix(ctx context.Context, src, dst *image.NRGBA, m [9]float64) error {
	var f [9]int32
	for i, v := range m {
		f[i] = int32(math.Round(v * 4096))
	}
	gray := f[0] == f[3] && f[3] == f[6] && f[1] == f[4] && f[4] == f[7] && f[2] == f[5] && f[5] == f[8]
	w := src.Rect.Dx()
	return parallel(ctx, src.Rect.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:4*w]
			d := dst.Pix[y*dst.Stride:][:4*w]
			for i := 0; i+3 < len(s); i += 4 {
				r, g, b := int32(s[i]), int32(s[i+1]), int32(s[i+2])
				nr := sat12(f[0]*r + f[1]*g + f[2]*b)
				if gray { // identical rows: R=G=B exactly
					d[i], d[i+1], d[i+2], d[i+3] = nr, nr, nr, s[i+3]
					continue
				}
				d[i] = nr
				d[i+1] = sat12(f[3]*r + f[4]*g + f[5]*b)
				d[i+2] = sat12(f[6]*r + f[7]*g + f[8]*b)
				d[i+3] = s[i+3]
			}
		}
	})
}

func sat12(v int32) uint8 {
	v = (v + 2048) >> 12
	return uint8(min(max(v, 0), 255))
}
