package browser

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"github.com/easelhq/easel/internal/cluster"
	"github.com/redis/go-redis/v9"
)

// openEditor uploads the fixture with JavaScript on and returns the
// current image's size as the editor states it.
func openEditor(t *testing.T, e *env) (w, h int) {
	t.Helper()
	p := e.page
	if err := p.Open("/"); err != nil {
		t.Fatal(err)
	}
	if err := p.Upload(e.photoPath); err != nil {
		t.Fatal(err)
	}
	ed, err := p.Editor()
	if err != nil || !ed.Loaded {
		t.Fatalf("the editor after the upload: %+v, %v", ed, err)
	}
	if js, err := Eval[bool](p, `document.documentElement.classList.contains('js') && !!document.querySelector('.crop-area')`); err != nil || !js {
		t.Fatalf("the editor's script did not start (%v, %v)", js, err)
	}
	// A marker that a reload would lose: edits must not reload the page.
	if _, err := Eval[bool](p, `window.__noReload = true`); err != nil {
		t.Fatal(err)
	}
	return ed.Width, ed.Height
}

// toImage maps a point on the shown preview to the image's pixels the way
// a user reads the picture: the fraction of the shown width, times the
// image's width, rounded; clamped to the image.
func toImage(r Rect, pt Point, w, h int) (int, int) {
	x := math.Round((pt.X - r.Left) * float64(w) / r.Width)
	y := math.Round((pt.Y - r.Top) * float64(h) / r.Height)
	return int(math.Max(0, math.Min(float64(w), x))), int(math.Max(0, math.Min(float64(h), y)))
}

func notReloaded(t *testing.T, p *Page, after string) {
	t.Helper()
	if ok, err := Eval[bool](p, `window.__noReload === true`); err != nil || !ok {
		t.Fatalf("after %s the page reloaded; edits should update it in place", after)
	}
}

// TestEditorJavaScript: with JavaScript, the editor crops by dragging a box
// whose landed rectangle is exactly what the fields showed, previews a
// slider live before Apply, undoes and redoes with the keyboard, never
// reloads for an edit, and reloads with a message when its token is stale.
func TestEditorJavaScript(t *testing.T) {
	e := setup(t, cluster.StoreRedis)
	p := e.page
	w, h := openEditor(t, e)

	problems, err := p.Accessibility()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("/image with JavaScript: %s", pr)
	}
	type a11y struct {
		Handles   int    `json:"handles"`
		Focusable int    `json:"focusable"`
		Live      string `json:"live"`
		Tabs      int    `json:"tabs"`
		Shortcuts string `json:"shortcuts"`
	}
	ax, err := Eval[a11y](p, `(() => { const hs = [...document.querySelectorAll('.crop-box button')];
		return {handles: hs.length, focusable: hs.filter(b => { b.focus(); return document.activeElement === b; }).length,
			live: (document.getElementById('status') || {getAttribute: () => ''}).getAttribute('aria-live') || '',
			tabs: document.querySelectorAll('[role=tab]').length,
			shortcuts: (document.getElementById('shortcuts') || {innerText: ''}).innerText}; })()`)
	if err != nil {
		t.Fatal(err)
	}
	if ax.Handles != 9 || ax.Focusable != 9 {
		t.Errorf("the crop box has %d buttons (%d focusable), want the box and 8 handles, all focusable", ax.Handles, ax.Focusable)
	}
	if ax.Live != "polite" || ax.Tabs < 3 {
		t.Errorf("status aria-live %q, %d tool tabs; want a polite live region and the tool tabs", ax.Live, ax.Tabs)
	}
	for _, want := range []string{"undo", "redo", "Enter", "Esc"} {
		if !strings.Contains(ax.Shortcuts, want) {
			t.Errorf("the shortcuts list does not mention %q: %q", want, ax.Shortcuts)
		}
	}

	// A drag that runs off the image stops at its edge.
	img, err := p.RectOf("#image")
	if err != nil {
		t.Fatal(err)
	}
	from := Point{math.Floor(img.Left + img.Width*0.3), math.Floor(img.Top + img.Height*0.25)}
	if err := p.MouseDrag(from, Point{img.Right() + 40, img.Bottom() + 40}, nil); err != nil {
		t.Fatal(err)
	}
	fx, fy := toImage(img, from, w, h)
	got, err := p.CropFields()
	if err != nil {
		t.Fatal(err)
	}
	if want := [4]int{fx, fy, w - fx, h - fy}; got != want {
		t.Errorf("after a drag past the bottom-right corner the fields are %v, want %v (clamped to the %d×%d image)", got, want, w, h)
	}

	// Esc cancels the box: back to the whole image.
	if err := p.Key(kb.Escape); err != nil {
		t.Fatal(err)
	}
	if got, err := p.CropFields(); err != nil || got != [4]int{0, 0, w, h} {
		t.Errorf("after Esc the fields are %v (%v), want the whole image 0 0 %d %d", got, err, w, h)
	}

	// The 16:9 preset turns the box into the largest 16:9 box it can.
	if _, err := Eval[bool](p, `(document.querySelector('.presets [data-aspect="16:9"]').click(), true)`); err != nil {
		t.Fatal(err)
	}
	if got, err := p.CropFields(); err != nil || got[2] != w || math.Abs(float64(got[2])/float64(got[3])-16.0/9) > 0.01 {
		t.Errorf("after 16:9 the fields are %v (%v), want a full-width 16:9 box", got, err)
	}
	if _, err := Eval[bool](p, `(document.querySelector('.presets [data-aspect=""]').click(), true)`); err != nil {
		t.Fatal(err)
	}
	if err := p.Key(kb.Escape); err != nil {
		t.Fatal(err)
	}

	// A click outside the box without a drag is an empty box, which cannot
	// be applied.
	outside := Point{math.Floor(img.Left + img.Width*0.1), math.Floor(img.Top + img.Height*0.1)}
	if err := p.MouseDrag(outside, outside, nil); err != nil {
		t.Fatal(err)
	}
	if dis, err := Eval[bool](p, `document.querySelector('#crop-form button[type=submit]').disabled`); err != nil || !dis {
		t.Errorf("after a click without a drag the Crop button is enabled (%v, %v); an empty box must not apply", dis, err)
	}

	// Draw a box inside the image and apply it with Enter.
	if img2, err := p.RectOf("#image"); err != nil || img2 != img {
		t.Fatalf("the image moved from %+v to %+v (%v) while the crop box was used", img, img2, err)
	}
	from = Point{math.Floor(img.Left+img.Width*0.12) + 0.5, math.Floor(img.Top+img.Height*0.2) + 0.5}
	to := Point{math.Floor(img.Left+img.Width*0.81) + 0.5, math.Floor(img.Top+img.Height*0.9) + 0.5}
	if err := p.MouseDrag(from, to, nil); err != nil {
		t.Fatal(err)
	}
	x0, y0 := toImage(img, from, w, h)
	x1, y1 := toImage(img, to, w, h)
	want := [4]int{x0, y0, x1 - x0, y1 - y0}
	if got, err := p.CropFields(); err != nil || got != want {
		t.Fatalf("after the drag the fields show %v (%v), want %v", got, err, want)
	}
	// The box itself has the focus after a drag: a keyboard nudge moves it
	// one pixel, then Enter applies.
	if err := p.Key(kb.ArrowRight); err != nil {
		t.Fatal(err)
	}
	want[0]++
	applied := time.Now()
	if err := p.Key("\r"); err != nil {
		t.Fatal(err)
	}
	st, err := p.WaitCursor(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the crop landed and its preview showed %s after Enter, without a reload", time.Since(applied).Round(time.Millisecond))
	c := st.Edits[0]
	if got := [4]int{c.X, c.Y, c.Width, c.Height}; c.Op != "crop" || got != want {
		t.Errorf("the landed edit is %s %v, want crop %v (the dragged box, nudged right)", c.Op, got, want)
	}
	notReloaded(t, p, "the crop")
	ed, err := p.Editor()
	if err != nil {
		t.Fatal(err)
	}
	if ed.Width != want[2] || ed.Height != want[3] || len(ed.History) != 1 || !strings.HasPrefix(ed.History[0], "crop") {
		t.Errorf("after the crop the page says %q with history %q, want %d × %d and one crop", ed.Caption, ed.History, want[2], want[3])
	}
	if s, _ := p.WaitIdle(); !strings.HasPrefix(s, "Applied: crop") {
		t.Errorf("the status line says %q, want Applied: crop", s)
	}
	w, h = want[2], want[3]

	// A slider previews live, before Apply; the server's render then
	// replaces the preview and looks the same.
	if err := p.Click(`#tab-group-adjust`); err != nil {
		t.Fatal(err)
	}
	before, err := p.Luma("#frame")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Eval[bool](p, `(document.getElementById('brightness-v').focus(), true)`); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := p.Key(kb.ArrowRight); err != nil {
			t.Fatal(err)
		}
	}
	live, err := p.Luma("#frame")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Workspace(); err != nil || st.Cursor != 1 {
		t.Fatalf("the slider moved, but the workspace already has cursor %d (%v); the preview must not apply", st.Cursor, err)
	}
	if live < before+20 {
		t.Errorf("moving brightness from 0.2 to 0.4 changed the shown image's mean luma from %.1f to %.1f; want a live preview at least 20 brighter", before, live)
	}
	if err := p.Key("\r"); err != nil {
		t.Fatal(err)
	}
	st, err = p.WaitCursor(2)
	if err != nil {
		t.Fatal(err)
	}
	if b := st.Edits[1]; b.Op != "brightness" || math.Abs(b.Amount-0.4) > 1e-9 {
		t.Errorf("the landed edit is %s %v, want brightness 0.4", b.Op, b.Amount)
	}
	server, err := p.Luma("#frame")
	if err != nil {
		t.Fatal(err)
	}
	if filter, _ := Eval[string](p, `document.getElementById('image').style.filter`); filter != "" {
		t.Errorf("after the edit landed the preview still carries the live filter %q", filter)
	}
	t.Logf("mean luma: before %.1f, live preview %.1f, server render %.1f", before, live, server)
	if math.Abs(server-live) > 6 {
		t.Errorf("the live preview (luma %.1f) differs visibly from the server's render (%.1f)", live, server)
	}

	// Undo and redo with the keyboard, from anywhere but a text field.
	if _, err := Eval[bool](p, `(document.activeElement.blur(), true)`); err != nil {
		t.Fatal(err)
	}
	if err := p.Key("z", kb.ModifierCtrl); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitCursor(1); err != nil {
		t.Fatalf("Ctrl+Z: %v", err)
	}
	ed, err = p.Editor()
	if err != nil {
		t.Fatal(err)
	}
	if len(ed.History) != 2 || !strings.Contains(ed.History[1], "(undone)") || ed.Width != w || ed.Height != h {
		t.Errorf("after Ctrl+Z the history is %q and the caption %q; want the brightness undone", ed.History, ed.Caption)
	}
	if s, _ := p.WaitIdle(); s != "Undone." {
		t.Errorf("after Ctrl+Z the status says %q, want Undone.", s)
	}
	if err := p.Key("Z", kb.ModifierCtrl, kb.ModifierShift); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitCursor(2); err != nil {
		t.Fatalf("Ctrl+Shift+Z: %v", err)
	}
	// Once more is one too many: the page says so and changes nothing.
	if err := p.Key("Z", kb.ModifierCtrl, kb.ModifierShift); err != nil {
		t.Fatal(err)
	}
	if s, _ := p.WaitIdle(); s != "Nothing to redo." {
		t.Errorf("Ctrl+Shift+Z at the newest edit says %q, want Nothing to redo.", s)
	}
	notReloaded(t, p, "undo and redo")

	// A refused edit shows the API's detail next to its control.
	if _, err := Eval[bool](p, `(() => { const f = document.getElementById('rotate-form');
		document.getElementById('tab-group-geometry').click();
		f.querySelector('[name=angle]').value = '720'; f.querySelector('[name=angle]').removeAttribute('max');
		f.requestSubmit(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitIdle(); err != nil {
		t.Fatal(err)
	}
	detail, err := Eval[string](p, `(document.querySelector('#rotate-form .problem') || {textContent: ''}).textContent`)
	if err != nil || !strings.Contains(detail, "angle") {
		t.Errorf("a rotate by 720° shows %q next to the Rotate form (%v), want the API's detail naming the angle", detail, err)
	}

	// Straighten previews the rotation live and fills in the angle; Esc
	// drops the preview.
	if _, err := Eval[bool](p, `(document.getElementById('straighten').focus(), true)`); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := p.Key(kb.ArrowRight); err != nil {
			t.Fatal(err)
		}
	}
	type turn struct {
		Angle     string `json:"angle"`
		Transform string `json:"transform"`
	}
	tr, err := Eval[turn](p, `({angle: document.getElementById('rotate-angle').value, transform: document.getElementById('image').style.transform})`)
	if err != nil || tr.Angle != "0.3" || !strings.Contains(tr.Transform, "rotate(0.3deg)") {
		t.Errorf("after straightening by 3 steps the angle field is %q and the preview's transform %q (%v); want 0.3 and a 0.3° turn", tr.Angle, tr.Transform, err)
	}
	if err := p.Key(kb.Escape); err != nil {
		t.Fatal(err)
	}
	if tr, err := Eval[turn](p, `({transform: document.getElementById('image').style.transform})`); err != nil || tr.Transform != "" {
		t.Errorf("after Esc the preview is still turned: %q (%v)", tr.Transform, err)
	}

	// Holding Compare shows the original; letting go shows the edit again.
	cmp, err := p.RectOf("#compare")
	if err != nil {
		t.Fatal(err)
	}
	type shown struct {
		Src       string `json:"src"`
		Comparing bool   `json:"comparing"`
	}
	read := `({src: new URL(document.getElementById('image').src).pathname, comparing: document.getElementById('frame').classList.contains('comparing')})`
	at := Point{cmp.Left + cmp.Width/2, cmp.Top + cmp.Height/2}
	if err := p.MouseDrag(at, at, func() error {
		s, err := Eval[shown](p, read)
		if err != nil || s.Src != "/blobs/"+sha256Hex(e.photo) || !s.Comparing {
			t.Errorf("while Compare is held the image is %q (comparing %v, %v), want the original /blobs/%s", s.Src, s.Comparing, err, sha256Hex(e.photo))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, err := Eval[shown](p, read); err != nil || s.Src != "/api/v1/workspace/render" || s.Comparing {
		t.Errorf("after letting go of Compare the image is %q (comparing %v, %v), want the edited preview", s.Src, s.Comparing, err)
	}

	// A stale token (the session expired, or another tab replaced it): the
	// page reloads and says why, instead of failing silently.
	if err := p.navigate(script(`(() => {
		document.querySelector('meta[name="csrf-token"]').content = 'expired';
		document.getElementById('quick-undo').click();
	})()`), anyPath); err != nil {
		t.Fatalf("an action with a stale token did not reload the page: %v", err)
	}
	ed, err = p.Editor()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(ed.Flashes, " "), "reloaded") {
		t.Errorf("after the reload the messages are %q, want one saying why the page reloaded", ed.Flashes)
	}
	if st, err := p.Workspace(); err != nil || st.Cursor != 2 {
		t.Errorf("the stale-token undo changed the workspace (cursor %d, %v)", st.Cursor, err)
	}

	// The session expires on the server (its key is gone from Redis) while
	// the page is open: the next action reloads the page, which says so.
	expireSessions(t, e.cluster.Redis().Addr)
	if err := p.navigate(script(`document.getElementById('quick-undo').click()`), anyPath); err != nil {
		t.Fatalf("an action after the session expired did not reload the page: %v", err)
	}
	ed, err = p.Editor()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(ed.Flashes, " "), "session had expired") || ed.NoImage == "" {
		t.Errorf("after the session expired the page shows messages %q and %q; want the reason for the reload and no image", ed.Flashes, ed.NoImage)
	}
}

// expireSessions deletes every session from the Redis at addr, as their
// idle timeout would.
func expireSessions(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = rdb.Close() }()
	keys, err := rdb.Keys(ctx, "easel:sess:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("listing the sessions in Redis: %v (%d keys)", err, len(keys))
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatalf("deleting the sessions: %v", err)
	}
}

// TestEditorPhone: on a 390-pixel-wide touch screen the page does not
// scroll sideways, the image stays in view while a tool is used, the
// controls are thumb-sized, and the crop box drags by touch. The photo is
// 12 megapixels, so the preview is a scaled proxy and the box must still
// land in the original's pixels exactly.
func TestEditorPhone(t *testing.T) {
	e := setup(t, cluster.StoreRedis)
	p := e.page
	photo, err := Photo(4000, 3000)
	if err != nil {
		t.Fatal(err)
	}
	e.photo, e.photoPath = photo, filepath.Join(t.TempDir(), "big.jpg")
	if err := os.WriteFile(e.photoPath, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.EmulatePhone(390, 844); err != nil {
		t.Fatal(err)
	}
	w, h := openEditor(t, e)
	if ed, err := p.Editor(); err != nil || w != 4000 || h != 3000 || ed.NaturalWidth >= w {
		t.Fatalf("the editor shows a %d×%d image with a %d px wide preview (%v); want 4000×3000 and a smaller proxy", w, h, ed.NaturalWidth, err)
	}

	type layout struct {
		ScrollWidth int     `json:"scrollWidth"`
		ImgTop      float64 `json:"imgTop"`
		ImgBottom   float64 `json:"imgBottom"`
		ApplyTop    float64 `json:"applyTop"`
		Inner       float64 `json:"inner"`
		Small       []string
	}
	// Open the adjustments, scroll to the last slider's Apply button: the
	// image must still be on screen.
	l, err := Eval[layout](p, `(() => {
		document.getElementById('tab-group-adjust').click();
		const apply = [...document.querySelectorAll('#group-adjust button[type=submit]')].pop();
		apply.scrollIntoView({block: 'end'});
		const img = document.getElementById('image').getBoundingClientRect();
		const small = [...document.querySelectorAll('.tools button, .tools input, .tools select, .quick button')]
			.filter(el => el.offsetParent && el.type !== 'checkbox' && el.type !== 'range' && el.getBoundingClientRect().height < 44)
			.map(el => el.outerHTML.slice(0, 80));
		return {scrollWidth: document.documentElement.scrollWidth, imgTop: img.top, imgBottom: img.bottom,
			applyTop: apply.getBoundingClientRect().top, inner: innerHeight, Small: small};
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if l.ScrollWidth > 390 {
		t.Errorf("the page is %d px wide on a 390 px screen: it scrolls sideways", l.ScrollWidth)
	}
	if l.ImgTop < 0 || l.ImgBottom > l.Inner*0.6 {
		t.Errorf("with the last adjustment's Apply in view, the image spans %.0f–%.0f of %.0f px: it should stay in the top part of the screen", l.ImgTop, l.ImgBottom, l.Inner)
	}
	if l.ApplyTop < l.ImgBottom || l.ApplyTop > l.Inner {
		t.Errorf("the Apply button is at %.0f, the image ends at %.0f, the screen at %.0f: the button should be below the image, on screen", l.ApplyTop, l.ImgBottom, l.Inner)
	}
	for _, s := range l.Small {
		t.Errorf("control smaller than 44 px, hard to hit with a thumb: %s", s)
	}

	// Back to the crop, at the top, and drag a box with a finger.
	if _, err := Eval[bool](p, `(scrollTo(0, 0), document.getElementById('tab-group-crop').click(), true)`); err != nil {
		t.Fatal(err)
	}
	img, err := p.RectOf("#image")
	if err != nil {
		t.Fatal(err)
	}
	if img.Width > 390 || img.Left < 0 {
		t.Errorf("the image is %.0f px wide at %.0f: it does not fit the screen", img.Width, img.Left)
	}
	from := Point{math.Floor(img.Left+img.Width*0.2) + 0.5, math.Floor(img.Top+img.Height*0.15) + 0.5}
	to := Point{math.Floor(img.Left+img.Width*0.7) + 0.5, math.Floor(img.Top+img.Height*0.8) + 0.5}
	if err := p.TouchDrag(from, to); err != nil {
		t.Fatal(err)
	}
	x0, y0 := toImage(img, from, w, h)
	x1, y1 := toImage(img, to, w, h)
	want := [4]int{x0, y0, x1 - x0, y1 - y0}
	if got, err := p.CropFields(); err != nil || got != want {
		t.Fatalf("after the touch drag the fields show %v (%v), want %v", got, err, want)
	}
	if err := p.ClickAtBottom(`#crop-form button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	st, err := p.WaitCursor(1)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Edits[0]
	if got := [4]int{c.X, c.Y, c.Width, c.Height}; got != want {
		t.Errorf("the landed crop is %v, want %v", got, want)
	}
	notReloaded(t, p, "the touch crop")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestLivePreviewsMatchServer: for every adjustment with a live preview,
// what the browser shows while the slider is held is what the server's
// render shows once the edit lands — the preview does not promise a
// different picture.
func TestLivePreviewsMatchServer(t *testing.T) {
	e := setup(t, cluster.StoreRedis)
	p := e.page
	openEditor(t, e)
	if err := p.Click(`#tab-group-adjust`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op, value string
		max       float64 // mean absolute difference per channel, 0–255
	}{
		{"brightness", "0.3", 2},
		{"contrast", "0.4", 2},
		{"saturation", "0.6", 2},
		{"hue", "60", 2},
		{"gamma", "1.8", 2},
		{"blur", "20", 1.2},
	} {
		before, err := p.Shot("#image")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Eval[bool](p, fmt.Sprintf(`(() => { const r = document.getElementById('%s-v'); r.value = %q;
			r.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, tc.op, tc.value)); err != nil {
			t.Fatal(err)
		}
		live, err := p.Shot("#image")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Eval[bool](p, fmt.Sprintf(`(document.getElementById('%s-v').form.requestSubmit(), true)`, tc.op)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitCursor(1); err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		server, err := p.Shot("#image")
		if err != nil {
			t.Fatal(err)
		}
		d, unedited := MeanAbsDiff(live, server, 0.15), MeanAbsDiff(before, server, 0.15)
		t.Logf("%s %s: the server's render differs by %.2f per channel from the live preview, by %.2f from the unedited image", tc.op, tc.value, d, unedited)
		if unedited < 3*tc.max {
			t.Errorf("%s %s: the edit changes the image by only %.2f per channel; too little to tell a preview from none", tc.op, tc.value, unedited)
		}
		if d > tc.max {
			t.Errorf("%s %s: the live preview differs from the server's render by %.2f per channel (0–255), want at most %.1f", tc.op, tc.value, d, tc.max)
		}
		// Back to the original for the next adjustment.
		if _, err := Eval[bool](p, `(document.getElementById('quick-undo').click(), true)`); err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitCursor(0); err != nil {
			t.Fatal(err)
		}
	}
}
