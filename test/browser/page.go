package browser

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Visit is one page load the browser saw, as its footer reports it.
type Visit struct {
	Path     string `json:"path"`
	Status   int    `json:"status"` // the document's HTTP status
	ServedBy string `json:"servedBy"`
	Session  string `json:"session"` // new, hit or miss
}

// Page drives one browser tab through easel's pages. Every method that
// navigates waits until the next document has loaded and records it as a
// Visit.
type Page struct {
	ctx    context.Context
	base   string
	visits []Visit
	// OnVisit, when set, runs on every new document as soon as it has
	// loaded, before the page may navigate on by itself (the job page
	// refreshes every second).
	OnVisit func(Visit)
}

// NewPage returns a Page for the chromedp context ctx (a started browser,
// see StartChromium) and the site at base, e.g. http://127.0.0.1:8080.
func NewPage(ctx context.Context, base string) *Page {
	return &Page{ctx: ctx, base: strings.TrimSuffix(base, "/")}
}

// Context returns the tab's chromedp context.
func (p *Page) Context() context.Context { return p.ctx }

// Visits returns the page loads seen so far, in order.
func (p *Page) Visits() []Visit { return append([]Visit(nil), p.visits...) }

// Current returns the last page load.
func (p *Page) Current() Visit {
	if len(p.visits) == 0 {
		return Visit{}
	}
	return p.visits[len(p.visits)-1]
}

// Open loads path (e.g. "/") and waits for it.
func (p *Page) Open(path string) error {
	return p.navigate(chromedp.Navigate(p.base+path), anyPath)
}

// settleTimeout bounds one navigation, composite jobs included.
const settleTimeout = 30 * time.Second

func anyPath(string) bool { return true }

// navigate marks the current document, runs a, and waits for a new
// document whose path satisfies done. Marking first is what tells the old
// page from the new one: a click returns before the browser navigates.
func (p *Page) navigate(a chromedp.Action[chromedp.Void], done func(path string) bool) error {
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.__easelOld = true`)); err != nil {
		return fmt.Errorf("marking the page: %w", err)
	}
	if err := chromedp.Do(p.ctx, a); err != nil {
		return err
	}
	return p.settle(done)
}

// loadedJS describes the document once it is a new one that has loaded,
// and null before.
const loadedJS = `(() => {
	if (window.__easelOld || document.readyState !== 'complete') return null;
	const f = document.getElementById('replica');
	const nav = performance.getEntriesByType('navigation')[0];
	const v = {path: location.pathname, status: nav ? nav.responseStatus : 0,
		servedBy: f ? f.dataset.servedBy : '', session: f ? f.dataset.session : '', fresh: !window.__easelSeen};
	window.__easelSeen = true;
	return v;
})()`

// settle polls until a new document has loaded whose path satisfies done,
// recording every new document on the way.
func (p *Page) settle(done func(path string) bool) error {
	deadline := time.Now().Add(settleTimeout)
	for {
		type loaded struct {
			Visit
			Fresh bool `json:"fresh"`
		}
		// Errors are expected while the browser swaps documents.
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[*loaded](loadedJS))
		if err == nil && v != nil {
			if v.Fresh {
				p.visits = append(p.visits, v.Visit)
				if p.OnVisit != nil {
					p.OnVisit(v.Visit)
				}
			}
			if done(v.Path) {
				return nil
			}
		}
		if p.ctx.Err() != nil {
			return p.ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for the next page: still on %s after %s (last error: %v)", p.Current().Path, settleTimeout, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// Eval evaluates js in the page and decodes its value into T.
func Eval[T any](p *Page, js string) (T, error) {
	return chromedp.Run(p.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Tab presses Tab until the focused element matches selector, at most limit
// times, starting from wherever the focus is.
func (p *Page) Tab(selector string, limit int) error {
	js := fmt.Sprintf(`!!(document.activeElement && document.activeElement.matches(%q))`, selector)
	for range limit {
		if err := chromedp.Do(p.ctx, chromedp.KeyEvent("\t")); err != nil {
			return err
		}
		on, err := Eval[bool](p, js)
		if err != nil {
			return err
		}
		if on {
			return nil
		}
	}
	focused, _ := Eval[string](p, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''`)
	return fmt.Errorf("%s not reached after %d presses of Tab (focus is on %s)", selector, limit, focused)
}

// ChooseFileByKeyboard presses Space on the focused file input and answers
// the file chooser it opens with file, as a user picking a file would.
func (p *Page) ChooseFileByKeyboard(file string) error {
	return chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: true}); err != nil {
			return fmt.Errorf("intercepting the file chooser: %w", err)
		}
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		opened := cdp.Events(wait, t, page.FileChooserOpened) // subscribed from here on
		if _, err := chromedp.KeyEvent(" ")(ctx, t); err != nil {
			return err
		}
		for ev, err := range opened {
			if err != nil {
				return fmt.Errorf("waiting for the file chooser after Space: %w", err)
			}
			_, err := cdp.Call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{file}, BackendNodeID: ev.BackendNodeID})
			return err
		}
		return errors.New("no file chooser opened")
	}))
}

// Upload uploads file from the start page with the keyboard alone: Tab to
// the file input, Space to open the chooser, Tab to Upload, Enter. It
// returns once the page the upload redirects to has loaded.
func (p *Page) Upload(file string) error {
	if err := p.Tab(`#image`, 20); err != nil {
		return fmt.Errorf("reaching the file input: %w", err)
	}
	if err := p.ChooseFileByKeyboard(file); err != nil {
		return err
	}
	if err := p.Tab(`form[action="/image"] button[type=submit]`, 5); err != nil {
		return fmt.Errorf("reaching the upload button: %w", err)
	}
	return p.navigate(chromedp.KeyEvent("\r"), anyPath)
}

// Crop fills in the crop tool's rectangle and clicks Crop.
func (p *Page) Crop(x, y, w, h int) error {
	return p.navigate(chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`#crop-x`), fmt.Sprint(x)),
		chromedp.SetValue(chromedp.CSS(`#crop-y`), fmt.Sprint(y)),
		chromedp.SetValue(chromedp.CSS(`#crop-w`), fmt.Sprint(w)),
		chromedp.SetValue(chromedp.CSS(`#crop-h`), fmt.Sprint(h)),
		chromedp.Click(chromedp.CSS(`form:has(#crop-x) button[type=submit]`)),
	), anyPath)
}

// RotateByKeyboard sets the rotate tool's angle, then reaches its Rotate
// button with Tab (through every control before it) and presses Enter.
func (p *Page) RotateByKeyboard(angle int) error {
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(`#rotate-angle`), fmt.Sprint(angle))); err != nil {
		return err
	}
	if _, err := Eval[bool](p, `(document.activeElement && document.activeElement.blur(), true)`); err != nil {
		return err
	}
	if err := p.Tab(`form:has(#rotate-angle) button[type=submit]`, 200); err != nil {
		return fmt.Errorf("reaching the Rotate button: %w", err)
	}
	return p.navigate(chromedp.KeyEvent("\r"), anyPath)
}

// Undo clicks the history's Undo button.
func (p *Page) Undo() error {
	return p.navigate(chromedp.Click(chromedp.CSS(`form[action="/image/undo"] button`)), anyPath)
}

// Composite runs the built-in background replacement with the colour
// (#rrggbb) and follows the progress page until it returns to the editor.
func (p *Page) Composite(color string) error {
	return p.navigate(chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`#bg-color`), color),
		chromedp.Click(chromedp.CSS(`#composite form:has(#bg-color) button[type=submit]`)),
	), func(path string) bool { return path == "/image" })
}

// ForgeCSRF submits the Reset form with a token that does not match the
// session, as a form left open too long would, which shows the error page.
func (p *Page) ForgeCSRF() error {
	return p.navigate(script(`(() => {
		const f = document.querySelector('form[action="/image/reset"]');
		f.querySelector('[name=csrf_token]').value = 'expired';
		f.submit();
	})()`), anyPath)
}

// script is a step that runs js in the page and ignores its value.
func script(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[*runtime.RemoteObject](js)(ctx, t)
		return err
	})
}

// Editor is what the editor page shows.
type Editor struct {
	Loaded        bool     `json:"loaded"` // the preview has loaded
	NaturalWidth  int      `json:"naturalWidth"`
	NaturalHeight int      `json:"naturalHeight"`
	Digest        string   `json:"digest"` // data-digest: SHA-256 of the original
	Alt           string   `json:"alt"`
	Caption       string   `json:"caption"`
	Width         int      `json:"width"` // the image's size after the edits
	Height        int      `json:"height"`
	History       []string `json:"history"` // every step, undone ones marked "(undone)"
	Flashes       []string `json:"flashes"`
	NoImage       string   `json:"noImage"` // the text of #no-image, when shown
}

// editorJS reads the editor once its preview has finished loading.
const editorJS = `new Promise(resolve => {
	const img = document.querySelector('img#image');
	const read = () => {
		const cap = document.querySelector('figure figcaption');
		const m = cap ? cap.textContent.match(/(\d+) × (\d+) px now/) : null;
		const noImage = document.getElementById('no-image');
		resolve({
			loaded: !!img && img.complete && img.naturalWidth > 0,
			naturalWidth: img ? img.naturalWidth : 0, naturalHeight: img ? img.naturalHeight : 0,
			digest: img ? img.dataset.digest : '', alt: img ? img.alt : '',
			caption: cap ? cap.textContent : '',
			width: m ? +m[1] : 0, height: m ? +m[2] : 0,
			history: [...document.querySelectorAll('ol.history li')].map(li => li.textContent.trim()),
			flashes: [...document.querySelectorAll('.flash')].map(f => f.textContent.trim()),
			noImage: noImage ? noImage.innerText.trim() : '',
		});
	};
	if (!img || img.complete) return read();
	img.addEventListener('load', read, {once: true});
	img.addEventListener('error', read, {once: true});
	setTimeout(read, 10000);
})`

// Editor reads the editor page, waiting for its preview to load.
func (p *Page) Editor() (Editor, error) {
	return Eval[Editor](p, editorJS)
}

// downloadJS fetches what the download form would download, with the
// page's cookies, and returns the body as base64.
const downloadJS = `(async () => {
	const form = document.getElementById('download');
	form.querySelector('[name=format]').value = %q;
	const url = form.action + '?' + new URLSearchParams(new FormData(form));
	const r = await fetch(url, {credentials: 'same-origin'});
	const bytes = new Uint8Array(await r.arrayBuffer());
	let bin = '';
	for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return {url, status: r.status, type: r.headers.get('Content-Type') || '',
		disposition: r.headers.get('Content-Disposition') || '', body: btoa(bin)};
})()`

// Download is a file the download form fetched.
type Download struct {
	URL, ContentType, Disposition string
	Status                        int
	Body                          []byte
}

// Download fetches the editor's download form's URL in format (jpeg, png,
// webp) from within the page, so that the request carries the page's
// session cookie exactly as the browser's own download would.
func (p *Page) Download(format string) (Download, error) {
	type raw struct {
		URL, Type, Disposition, Body string
		Status                       int
	}
	r, err := Eval[raw](p, fmt.Sprintf(downloadJS, format))
	if err != nil {
		return Download{}, fmt.Errorf("fetching the download: %w", err)
	}
	body, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		return Download{}, fmt.Errorf("decoding the download's base64: %w", err)
	}
	return Download{URL: r.URL, ContentType: r.Type, Disposition: r.Disposition, Status: r.Status, Body: body}, nil
}

// Screenshot returns a PNG of the whole page.
func (p *Page) Screenshot() ([]byte, error) {
	return chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
}

// HTML returns the current document's markup.
func (p *Page) HTML() (string, error) {
	return chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
}
