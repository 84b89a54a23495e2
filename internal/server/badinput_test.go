package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
)

// hugePNG is a valid PNG signature and IHDR claiming w×h pixels, and nothing
// else: a decompression bomb's header.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestBadUploads: every kind of bad input gets a 4xx whose message says what
// to fix, never a 500, and the image already in the session stays.
func TestBadUploads(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil) // 1 MiB and 4 MP limits
	good := testPNG(t, 20, 10, 9)
	truncated := testPNG(t, 200, 200, 3)
	truncated = truncated[:len(truncated)/2]
	cases := []struct {
		name       string
		file       []byte
		csrf       string // "ok" = the session's token
		status     int
		wantDetail string
	}{
		{"empty file", []byte{}, "ok", http.StatusBadRequest, "the file is empty"},
		{"text named .png", []byte("just some text, not an image at all"), "ok", http.StatusUnsupportedMediaType, "not a JPEG, PNG, GIF or WebP"},
		{"truncated PNG", truncated, "ok", http.StatusUnprocessableEntity, "truncated or corrupt"},
		{"100000×100000 header", hugePNG(100000, 100000), "ok", http.StatusRequestEntityTooLarge, "the limit is"},
		{"body over the limit", bytes.Repeat([]byte{0x89}, 2<<20), "ok", http.StatusRequestEntityTooLarge, "larger than the upload limit of 1 MiB"},
		{"missing CSRF token", good, "", http.StatusForbidden, "X-CSRF-Token"},
		{"wrong CSRF token", good, "not-the-token", http.StatusForbidden, "X-CSRF-Token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t)
			original := testPNG(t, 12, 12, 42)
			w, _ := b.workspace(srv.URL)
			if p := b.uploadForm(srv.URL+"/api/v1/image", original, nil, map[string]string{"X-CSRF-Token": w.CSRF}); p.status != http.StatusCreated {
				t.Fatalf("first upload: %d %s", p.status, p.body)
			}
			hdr := map[string]string{}
			switch tc.csrf {
			case "ok":
				hdr["X-CSRF-Token"] = w.CSRF
			case "":
			default:
				hdr["X-CSRF-Token"] = tc.csrf
			}
			p := b.uploadForm(srv.URL+"/api/v1/image", tc.file, nil, hdr)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", p.status, tc.status, p.body)
			}
			if ct := p.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			var prob struct {
				Status int
				Detail string
			}
			if err := json.Unmarshal([]byte(p.body), &prob); err != nil || prob.Status != tc.status || !strings.Contains(prob.Detail, tc.wantDetail) {
				t.Errorf("problem %+v (err %v), want status %d and a detail containing %q", prob, err, tc.status, tc.wantDetail)
			}
			after, _ := b.workspace(srv.URL)
			if after.Image == nil || after.Image.Digest != sha(original) {
				t.Errorf("the session's image changed after a rejected upload: %+v", after.Image)
			}
		})
	}
}

// TestBadUploadsOnThePage: the same mistakes through the HTML form come back
// to the form as a flash message (PRG), and the image in progress is kept.
func TestBadUploadsOnThePage(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	b := newBrowser(t)
	original := testPNG(t, 12, 12, 42)
	if p := b.uploadForm(srv.URL+"/image", original, map[string]string{"csrf_token": b.csrf(srv.URL)}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("first upload: %d", p.status)
	}
	for _, tc := range []struct {
		name, flash string
		file        []byte
	}{
		{"no file chosen", "please choose a file", nil},
		{"not an image", "not a JPEG, PNG, GIF or WebP", []byte("hello")},
		{"too large", "larger than the upload limit", bytes.Repeat([]byte{1}, 2<<20)},
	} {
		p := b.uploadForm(srv.URL+"/image", tc.file, map[string]string{"csrf_token": b.csrf(srv.URL)}, nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
			t.Fatalf("%s: %d → %q, want 303 → /", tc.name, p.status, p.header.Get("Location"))
		}
		if form := b.get(srv.URL + "/"); !strings.Contains(form.body, tc.flash) || !strings.Contains(form.body, `class="flash flash-error"`) {
			t.Errorf("%s: the form does not show the flash %q", tc.name, tc.flash)
		}
		if d := pageDigest(b.get(srv.URL + "/image").body); d != sha(original) {
			t.Errorf("%s: the image in progress was lost (editor shows %q)", tc.name, d)
		}
	}
	p := b.uploadForm(srv.URL+"/image", testPNG(t, 5, 5, 1), map[string]string{"csrf_token": "forged"}, nil)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Reload the page") {
		t.Errorf("forged CSRF on the page: %d, want 403 with advice", p.status)
	}
}

// TestForgedCookies: a tampered cookie or one signed by a key this
// deployment does not hold is never adopted: a fresh session, X-Session miss.
func TestForgedCookies(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", map[string]string{"EASEL_SESSION_KEYS": testKey})
	other := newReplica(t, "elsewhere", map[string]string{"EASEL_SESSION_KEYS": strings.Repeat("k", 40)})
	b := newBrowser(t)
	b.csrf(other.URL) // a valid cookie, signed by the other deployment's key
	foreign := b.client.Jar.Cookies(mustURL(t, other.URL))[0].Value

	for name, value := range map[string]string{
		"tampered":    foreign[:len(foreign)-4] + "AAAA",
		"unknown key": foreign,
		"garbage":     "not-a-cookie",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/workspace", nil)
		req.AddCookie(&http.Cookie{Name: "easel_session", Value: value})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Session") != "miss" {
			t.Errorf("%s cookie: %d X-Session %q, want 200 miss", name, res.StatusCode, res.Header.Get("X-Session"))
		}
		var fresh string
		for _, c := range res.Cookies() {
			if c.Name == "easel_session" {
				fresh = c.Value
			}
		}
		if fresh == "" || fresh == value {
			t.Errorf("%s cookie: the server did not issue a fresh session cookie", name)
		}
	}
}
