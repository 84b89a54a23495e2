package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postForm submits an urlencoded form as the page's tool forms do.
func (b *browser) postForm(u string, fields url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// TestEditorPageTools: the page's forms edit the image without JavaScript,
// a bad parameter comes back as a flash naming the problem, and undo/redo
// move through the history.
func TestEditorPageTools(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	b := newBrowser(t)
	tok := b.csrf(srv.URL)
	if p := b.uploadForm(srv.URL+"/image", testPNG(t, 640, 480, 1), map[string]string{"csrf_token": tok}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	steps := []struct {
		name, path string
		form       url.Values
		flash      string
		size       string
	}{
		{"crop outside", "/image/edits", url.Values{"op": {"crop"}, "x": {"10"}, "y": {"10"}, "width": {"900"}, "height": {"900"}}, "crop 10,10 900×900 falls outside the 640×480 image", "640 × 480 px now"},
		{"rotate", "/image/edits", url.Values{"op": {"rotate"}, "angle": {"90"}, "fill": {"#ffffff"}}, "Applied: rotate 90°.", "480 × 640 px now"},
		{"crop aspect", "/image/edits", url.Values{"op": {"crop"}, "aspect": {"1:1"}, "x": {"0"}, "y": {"0"}, "width": {"480"}, "height": {"640"}}, "Applied: crop", "480 × 480 px now"},
		{"grayscale button", "/image/edits", url.Values{"op": {"grayscale"}}, "Applied: grayscale.", "480 × 480 px now"},
		{"undo", "/image/undo", nil, "Undone.", "480 × 480 px now"},
		{"undo", "/image/undo", nil, "Undone.", "480 × 640 px now"},
		{"redo", "/image/redo", nil, "Redone.", "480 × 480 px now"},
		{"reset", "/image/reset", nil, "Reset to the original.", "640 × 480 px now"},
	}
	for _, s := range steps {
		if s.form == nil {
			s.form = url.Values{}
		}
		s.form.Set("csrf_token", tok)
		p := b.postForm(srv.URL+s.path, s.form)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/image" {
			t.Fatalf("%s: %d → %q, want 303 → /image", s.name, p.status, p.header.Get("Location"))
		}
		page := b.get(srv.URL + "/image").body
		if !strings.Contains(page, s.flash) || !strings.Contains(page, s.size) {
			t.Errorf("%s: the page lacks %q or %q", s.name, s.flash, s.size)
		}
	}
	if p := b.postForm(srv.URL+"/image/edits", url.Values{"op": {"invert"}, "csrf_token": {"stale"}}); p.status != http.StatusForbidden {
		t.Errorf("edit with a stale token: %d, want 403", p.status)
	}
	p := b.get(srv.URL + "/api/v1/workspace/render?size=full&format=jpeg&download=1")
	if p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Disposition"), "attachment") || p.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("download: %d %q %q", p.status, p.header.Get("Content-Disposition"), p.header.Get("Content-Type"))
	}
}
