package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// SetJavaScript switches the page's own scripts on or off for the tab,
// from the next document on (the test's evaluations still run). Off is the
// no-JavaScript user, whose every edit is a form post and a reload.
func (p *Page) SetJavaScript(on bool) error {
	return chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// EmulatePhone sizes the tab as a phone (CSS width × height, a touch
// screen, device scale 2) or, with width 0, back to the window's size.
func (p *Page) EmulatePhone(width, height int64) error {
	return chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if width == 0 {
			if _, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false})
			return err
		}
		if _, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: width, Height: height, DeviceScaleFactor: 2, Mobile: true,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1})
		return err
	}))
}

// Rect is an element's box in CSS pixels of the viewport.
type Rect struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Right is the box's right edge.
func (r Rect) Right() float64 { return r.Left + r.Width }

// Bottom is the box's bottom edge.
func (r Rect) Bottom() float64 { return r.Top + r.Height }

// RectOf returns the box of the first element matching selector.
func (p *Page) RectOf(selector string) (Rect, error) {
	return Eval[Rect](p, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {left: r.left, top: r.top, width: r.width, height: r.height}; })()`, selector))
}

// Point is a position in CSS pixels of the viewport.
type Point struct{ X, Y float64 }

// MouseDrag presses the left button at from, moves to to in steps, and
// releases it there. mid, when set, runs while the button is still down
// (the screenshots take the crop box mid-drag).
func (p *Page) MouseDrag(from, to Point, mid func() error) error {
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, from.X, from.Y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, from.X, from.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	}
	const steps = 8
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, from.X+(to.X-from.X)*f, from.Y+(to.Y-from.Y)*f, chromedp.ButtonLeft))
	}
	if err := chromedp.Do(p.ctx, chromedp.Steps(acts...)); err != nil {
		return err
	}
	if mid != nil {
		if err := mid(); err != nil {
			return err
		}
	}
	return chromedp.Do(p.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, to.X, to.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

// TouchDrag puts one finger down at from, slides it to to and lifts it, as
// on a phone (the tab must emulate touch, see EmulatePhone).
func (p *Page) TouchDrag(from, to Point) error {
	touch := func(typ input.DispatchTouchEventType, pts ...*input.TouchPoint) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if pts == nil {
				pts = []*input.TouchPoint{}
			}
			_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: pts})
			return err
		})
	}
	acts := []chromedp.Action[chromedp.Void]{touch(input.DispatchTouchEventTypeTouchStart, &input.TouchPoint{X: from.X, Y: from.Y})}
	const steps = 8
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		acts = append(acts, touch(input.DispatchTouchEventTypeTouchMove, &input.TouchPoint{X: from.X + (to.X-from.X)*f, Y: from.Y + (to.Y-from.Y)*f}))
	}
	acts = append(acts, touch(input.DispatchTouchEventTypeTouchEnd))
	return chromedp.Do(p.ctx, chromedp.Steps(acts...))
}

// Click clicks the first element matching selector, with the mouse, and
// does not wait for a navigation.
func (p *Page) Click(selector string) error {
	return chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(selector)))
}

// ClickAtBottom scrolls the element matching selector to the bottom of
// the screen (where a thumb reaches, and clear of the editor's sticky
// image) and clicks its centre, so that whatever covers it takes the click
// instead. (A touch tap would be truer, but a synthetic tap's click was
// seen to be held back while the test asks the page anything.)
func (p *Page) ClickAtBottom(selector string) error {
	r, err := Eval[Rect](p, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.scrollIntoView({block: 'end'});
		const r = el.getBoundingClientRect(); return {left: r.left, top: r.top, width: r.width, height: r.height}; })()`, selector))
	if err != nil {
		return fmt.Errorf("finding %s: %w", selector, err)
	}
	return chromedp.Do(p.ctx, chromedp.MouseClickXY(r.Left+r.Width/2, r.Top+r.Height/2))
}

// Key presses key (e.g. "z") with modifiers on the focused element.
func (p *Page) Key(key string, mods ...kb.Modifier) error {
	return chromedp.Do(p.ctx, chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}

// CropFields returns the crop tool's X, Y, width and height fields.
func (p *Page) CropFields() ([4]int, error) {
	return Eval[[4]int](p, `['crop-x', 'crop-y', 'crop-w', 'crop-h'].map(id => +document.getElementById(id).value)`)
}

// APIState is GET /api/v1/workspace, as the page's session sees it.
type APIState struct {
	Edits []struct {
		Op     string  `json:"op"`
		X      int     `json:"x"`
		Y      int     `json:"y"`
		Width  int     `json:"width"`
		Height int     `json:"height"`
		Amount float64 `json:"amount"`
	} `json:"edits"`
	Labels  []string `json:"labels"`
	Cursor  int      `json:"cursor"`
	Current struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"current"`
}

// Workspace fetches the session's editing state from the API, with the
// page's cookie.
func (p *Page) Workspace() (APIState, error) {
	return Eval[APIState](p, `fetch('/api/v1/workspace', {credentials: 'same-origin'}).then(r => r.json())`)
}

// WaitIdle waits until the editor has no request or preview load in
// flight (its data-busy attribute is gone) and returns the status line.
func (p *Page) WaitIdle() (string, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		type idle struct {
			Busy   bool   `json:"busy"`
			Status string `json:"status"`
		}
		s, err := Eval[idle](p, `(() => { const e = document.getElementById('editor');
			return {busy: !e || 'busy' in e.dataset, status: (document.getElementById('status') || {}).textContent || ''}; })()`)
		if err == nil && !s.Busy {
			return s.Status, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the editor is still busy after %s (last error %v)", settleTimeout, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// WaitCursor waits until the API reports cursor applied edits, which is
// how a test knows an in-place edit has landed.
func (p *Page) WaitCursor(cursor int) (APIState, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		st, err := p.Workspace()
		if err == nil && st.Cursor == cursor {
			if _, err := p.WaitIdle(); err != nil {
				return st, err
			}
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("the workspace's cursor is %d after %s, want %d (last error %v)", st.Cursor, settleTimeout, cursor, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Luma is the mean brightness (0–255) of what the element matching
// selector shows on screen, filters and all: a screenshot, not the DOM.
func (p *Page) Luma(selector string) (float64, error) {
	shot, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS(selector)))
	if err != nil {
		return 0, fmt.Errorf("capturing %s: %w", selector, err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return 0, fmt.Errorf("decoding the screenshot of %s: %w", selector, err)
	}
	return meanLuma(img), nil
}

func meanLuma(img image.Image) float64 {
	b := img.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += 0.2126*float64(r>>8) + 0.7152*float64(g>>8) + 0.0722*float64(bl>>8)
		}
	}
	n := float64(b.Dx() * b.Dy())
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}

// Shot is a screenshot of the element matching selector, decoded.
func (p *Page) Shot(selector string) (image.Image, error) {
	shot, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS(selector)))
	if err != nil {
		return nil, fmt.Errorf("capturing %s: %w", selector, err)
	}
	return png.Decode(bytes.NewReader(shot))
}

// MeanAbsDiff is the mean absolute difference per colour channel (0–255)
// between a and b over the part of them below the top fraction skip (where
// the editor's "Live preview" badge sits). Images of different sizes are
// compared over their common area.
func MeanAbsDiff(a, b image.Image, skip float64) float64 {
	r := a.Bounds().Intersect(b.Bounds())
	r.Min.Y += int(float64(r.Dy()) * skip)
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			sum += math.Abs(float64(ar>>8)-float64(br>>8)) + math.Abs(float64(ag>>8)-float64(bg>>8)) + math.Abs(float64(ab>>8)-float64(bb>>8))
			n += 3
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}
