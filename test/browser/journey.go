package browser

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // the fixture; the download may be JPEG or PNG
	_ "image/png"
	"slices"
	"strings"
)

// Journey is one user's way through easel's pages: upload a photo, crop,
// rotate, undo the rotate, composite onto a colour, download, and finally
// send a stale form to see the error page. Every step goes through the
// page's own controls; the upload and the rotate use the keyboard alone.
type Journey struct {
	Page *Page
	// PhotoPath is the file to upload; Photo its bytes.
	PhotoPath string
	Photo     []byte
	// Background is the composite's preset colour, #rrggbb.
	Background string
	// AfterEdits, when set, runs on the editor after the crop, rotate and
	// undo, before the composite. `make screenshots` takes its picture
	// there.
	AfterEdits func() error
}

// Result is what a journey saw.
type Result struct {
	// Accessibility maps each page of the journey ("/", "/image",
	// "/jobs/{id}", "error") to its problems; a page with none maps to an
	// empty slice.
	Accessibility map[string][]string
	// JobPage is whether the composite's progress page was shown (a job
	// that finishes before the browser asks skips it).
	JobPage bool
	// Editor is the editor after the composite.
	Editor Editor
	// Download is the downloaded file and Image its decoded size.
	Download Download
	Image    image.Rectangle
	Visits   []Visit
}

// Run walks the journey and returns what it saw. The error names the first
// step whose page did not show what a user would expect.
func (j *Journey) Run() (*Result, error) {
	p := j.Page
	res := &Result{Accessibility: map[string][]string{}}
	defer func() { res.Visits = p.Visits() }()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(j.Photo))
	if err != nil {
		return res, fmt.Errorf("decoding the fixture: %w", err)
	}
	sum := sha256.Sum256(j.Photo)
	digest := hex.EncodeToString(sum[:])
	// The crop keeps the middle two thirds by three quarters; the rotate
	// (90°, undone) would swap the sides.
	cw, ch := cfg.Width*2/3, cfg.Height*3/4
	cx, cy := cfg.Width/12, cfg.Height/16

	p.OnVisit = func(v Visit) {
		if !strings.HasPrefix(v.Path, "/jobs/") {
			return
		}
		// The job page refreshes itself; check it while it is there.
		type check struct {
			Path     string   `json:"path"`
			Problems []string `json:"problems"`
		}
		c, err := Eval[check](p, `({path: location.pathname, problems: `+accessibilityJS+`})`)
		if err == nil && strings.HasPrefix(c.Path, "/jobs/") {
			res.JobPage = true
			res.Accessibility["/jobs/{id}"] = append([]string{}, c.Problems...)
		}
	}
	defer func() { p.OnVisit = nil }()

	if err := p.Open("/"); err != nil {
		return res, fmt.Errorf("opening /: %w", err)
	}
	if err := j.checkPage("/", res); err != nil {
		return res, err
	}

	if err := p.Upload(j.PhotoPath); err != nil {
		return res, fmt.Errorf("uploading: %w", err)
	}
	if got := p.Current().Path; got != "/image" {
		return res, fmt.Errorf("after the upload the browser is on %s, want /image", got)
	}
	ed, err := j.editor(cfg.Width, cfg.Height, "Uploaded a")
	if err != nil {
		return res, fmt.Errorf("after the upload: %w", err)
	}
	if ed.Digest != digest {
		return res, fmt.Errorf("after the upload the image's data-digest is %q, want the fixture's SHA-256 %s", ed.Digest, digest)
	}
	if err := j.checkPage("/image", res); err != nil {
		return res, err
	}

	if err := p.Crop(cx, cy, cw, ch); err != nil {
		return res, fmt.Errorf("cropping: %w", err)
	}
	if _, err := j.editor(cw, ch, "Applied: crop"); err != nil {
		return res, fmt.Errorf("after the crop: %w", err)
	}
	if err := p.RotateByKeyboard(90); err != nil {
		return res, fmt.Errorf("rotating: %w", err)
	}
	if _, err := j.editor(ch, cw, "Applied: rotate 90°"); err != nil {
		return res, fmt.Errorf("after the rotate: %w", err)
	}
	if err := p.Undo(); err != nil {
		return res, fmt.Errorf("undoing: %w", err)
	}
	ed, err = j.editor(cw, ch, "Undone")
	if err != nil {
		return res, fmt.Errorf("after the undo: %w", err)
	}
	if len(ed.History) != 2 || !strings.Contains(ed.History[1], "(undone)") {
		return res, fmt.Errorf("after the undo the history is %q, want the crop and an undone rotate", ed.History)
	}
	if j.AfterEdits != nil {
		if err := j.AfterEdits(); err != nil {
			return res, err
		}
	}

	if err := p.Composite(j.Background); err != nil {
		return res, fmt.Errorf("compositing: %w", err)
	}
	res.Editor, err = j.editor(cw, ch, "Composite applied")
	if err != nil {
		return res, fmt.Errorf("after the composite: %w", err)
	}
	if !slices.ContainsFunc(res.Editor.History, func(s string) bool { return strings.HasPrefix(s, "composite ") }) {
		return res, fmt.Errorf("after the composite the history is %q, want a composite step", res.Editor.History)
	}

	res.Download, err = p.Download("png")
	if err != nil {
		return res, err
	}
	d := res.Download
	if d.Status != 200 || d.ContentType != "image/png" || !strings.HasPrefix(d.Disposition, "attachment") {
		return res, fmt.Errorf("download %s: status %d, type %q, disposition %q; want 200, image/png, attachment", d.URL, d.Status, d.ContentType, d.Disposition)
	}
	img, _, err := image.Decode(bytes.NewReader(d.Body))
	if err != nil {
		return res, fmt.Errorf("decoding the download (%d bytes): %w", len(d.Body), err)
	}
	res.Image = img.Bounds()
	if res.Image.Dx() != cw || res.Image.Dy() != ch {
		return res, fmt.Errorf("the download is %d×%d, want %d×%d (cropped, rotate undone)", res.Image.Dx(), res.Image.Dy(), cw, ch)
	}

	if err := p.ForgeCSRF(); err != nil {
		return res, fmt.Errorf("sending a stale form: %w", err)
	}
	if v := p.Current(); v.Status != 403 {
		return res, fmt.Errorf("a stale form answered %d on %s, want 403 and the error page", v.Status, v.Path)
	}
	if err := j.checkPage("error", res); err != nil {
		return res, err
	}
	return res, nil
}

// editor reads the editor and checks that its preview loaded, that the
// image is w×h and that a flash message starts with flash.
func (j *Journey) editor(w, h int, flash string) (Editor, error) {
	ed, err := j.Page.Editor()
	if err != nil {
		return ed, fmt.Errorf("reading the editor: %w", err)
	}
	switch {
	case ed.NoImage != "":
		return ed, fmt.Errorf("the editor shows no image: %q", ed.NoImage)
	case !ed.Loaded:
		return ed, fmt.Errorf("the preview did not load (naturalWidth %d)", ed.NaturalWidth)
	case ed.Width != w || ed.Height != h:
		return ed, fmt.Errorf("the editor says %q, want %d × %d", ed.Caption, w, h)
	case !slices.ContainsFunc(ed.Flashes, func(s string) bool { return strings.HasPrefix(s, flash) }):
		return ed, fmt.Errorf("the flash messages are %q, want one starting %q", ed.Flashes, flash)
	}
	return ed, nil
}

// checkPage records the current page's accessibility problems under name
// and fails when the page is blank or shows a stack trace.
func (j *Journey) checkPage(name string, res *Result) error {
	problems, err := j.Page.Accessibility()
	if err != nil {
		return fmt.Errorf("checking %s's accessibility: %w", name, err)
	}
	res.Accessibility[name] = problems
	return CheckPlain(j.Page)
}

// CheckPlain fails when the current page is blank, has no heading, or
// shows a Go panic or stack trace instead of an explanation.
func CheckPlain(p *Page) error {
	type body struct {
		Text string `json:"text"`
		H1   string `json:"h1"`
	}
	b, err := Eval[body](p, `({text: document.body ? document.body.innerText : '', h1: (document.querySelector('h1') || {}).textContent || ''})`)
	if err != nil {
		return fmt.Errorf("reading the page: %w", err)
	}
	path := p.Current().Path
	if strings.TrimSpace(b.H1) == "" || len(strings.TrimSpace(b.Text)) < 40 {
		return fmt.Errorf("%s is blank or has no heading: %q", path, b.Text)
	}
	for _, bad := range []string{"goroutine ", "panic:", "runtime error", ".go:"} {
		if strings.Contains(b.Text, bad) {
			return fmt.Errorf("%s shows a stack trace (%q): %q", path, bad, b.Text)
		}
	}
	return nil
}
