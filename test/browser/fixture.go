package browser

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Photo returns a w×h JPEG that looks like a landscape photograph: a dusk
// sky, a sun with a glow, two mountain ridges and a lake that mirrors them,
// with a little grain. It is generated rather than checked in so that its
// size can follow the test, and it is deterministic, so its SHA-256 is
// stable.
func Photo(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(9, 9))
	fw, fh := float64(w), float64(h)
	horizon := 0.74 * fh
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			mirrored := fy > horizon
			sy := fy
			if mirrored {
				// The lake: the scene above the horizon, upside down, with
				// ripples that shift it sideways.
				sy = 2*horizon - fy
				fx += 6 * math.Sin(fy*0.35) * (fy - horizon) / (fh - horizon)
			}
			r, g, b := scene(fx/fw, sy/fh, fw/fh)
			if mirrored {
				d := (fy - horizon) / (fh - horizon)
				r, g, b = r*(0.75-0.25*d)+10, g*(0.78-0.2*d)+18, b*(0.85-0.15*d)+30
			}
			n := rng.Float64()*8 - 4
			img.SetRGBA(x, y, color.RGBA{clamp(r + n), clamp(g + n), clamp(b + n), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88}); err != nil {
		return nil, fmt.Errorf("encoding the fixture photo: %w", err)
	}
	return buf.Bytes(), nil
}

// scene colours the point (u, v) of the unit square above the horizon;
// aspect is width/height, so the sun stays round.
func scene(u, v, aspect float64) (r, g, b float64) {
	// Sky: deep blue at the top to a warm orange near the horizon.
	t := v / 0.74
	r, g, b = lerp(28, 250, t*t), lerp(46, 160, t*t), lerp(110, 90, t)
	// Sun and its glow.
	dx, dy := (u-0.68)*aspect, v-0.50
	d := math.Hypot(dx, dy)
	if d < 0.07 {
		r, g, b = 255, 244, 200
	} else {
		glow := math.Exp(-(d - 0.07) * 9)
		r, g, b = r+(255-r)*glow*0.8, g+(220-g)*glow*0.6, b+(150-b)*glow*0.3
	}
	// Far ridge: hazy violet.
	far := 0.52 + 0.06*math.Sin(u*9+1) + 0.03*math.Sin(u*23) + 0.012*math.Sin(u*71)
	if v > far {
		k := (v - far) * 3
		r, g, b = lerp(120, 80, k), lerp(96, 70, k), lerp(140, 110, k)
	}
	// Near hills: dark green, lit from the sun's side.
	near := 0.62 + 0.05*math.Sin(u*5+2) + 0.02*math.Sin(u*17+0.5) + 0.006*math.Sin(u*97)
	if v > near {
		lit := 0.5 + 0.5*math.Sin(u*5+2+math.Pi/2)
		k := (v - near) * 4
		r, g, b = lerp(40+30*lit, 20, k), lerp(80+40*lit, 45, k), lerp(40, 30, k)
	}
	return r, g, b
}

func lerp(a, b, t float64) float64 {
	t = math.Max(0, math.Min(1, t))
	return a + (b-a)*t
}

func clamp(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}
