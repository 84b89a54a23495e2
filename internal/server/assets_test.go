package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestEditorScriptIsCachedAndNotInline: the editor's script and stylesheet
// come from content-hashed URLs that browsers may keep for a year, the page
// has no inline script, and the Content-Security-Policy would refuse one.
func TestEditorScriptIsCachedAndNotInline(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	b := newBrowser(t)
	if p := b.uploadForm(srv.URL+"/image", testPNG(t, 40, 30, 2), map[string]string{"csrf_token": b.csrf(srv.URL)}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	p := b.get(srv.URL + "/image")
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q: want script-src 'self' and nothing inline", csp)
	}
	// Every script tag loads a file: none carries code of its own.
	scripts := regexp.MustCompile(`<script[^>]*>([^<]*)</script>`).FindAllStringSubmatch(p.body, -1)
	var srcs []string
	for _, s := range scripts {
		m := regexp.MustCompile(`src="(/assets/[a-z]+\.[0-9a-f]{12}\.js)"`).FindStringSubmatch(s[0])
		if m == nil || strings.TrimSpace(s[1]) != "" {
			t.Fatalf("the script tag %q is inline or does not load a content-hashed /assets/<name>.<hash>.js", s[0])
		}
		srcs = append(srcs, m[1])
	}
	if len(srcs) != 3 || !strings.HasPrefix(srcs[2], "/assets/editor.") {
		t.Fatalf("the editor loads %q, want live.js, crop.js and, last, editor.js", srcs)
	}
	css := regexp.MustCompile(`href="(/assets/easel\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(p.body)
	if css == nil {
		t.Fatal("the page does not link a content-hashed /assets/easel.<hash>.css")
	}
	for _, tt := range []struct{ url, typ, want string }{
		{srcs[0], "text/javascript", "feGaussianBlur"},
		{srcs[1], "text/javascript", "setPointerCapture"},
		{srcs[2], "text/javascript", "X-CSRF-Token"},
		{css[1], "text/css", ".crop-box"},
	} {
		a := b.get(srv.URL + tt.url)
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), tt.typ) || !strings.Contains(a.body, tt.want) {
			t.Errorf("GET %s: %d %q, want 200 %s with the file", tt.url, a.status, a.header.Get("Content-Type"), tt.typ)
		}
		if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q, want a year, immutable", tt.url, cc)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.url, nil)
		req.Header.Set("If-None-Match", a.header.Get("ETag"))
		if r := b.do(req); r.status != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tt.url, r.status)
		}
	}
	// A page from an older release asks for a hash this one does not have.
	if a := b.get(srv.URL + "/assets/editor.000000000000.js"); a.status != http.StatusNotFound || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("an unknown asset: %d, Cache-Control %q; want 404, no-store", a.status, a.header.Get("Cache-Control"))
	}
}
