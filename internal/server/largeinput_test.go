package server

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnusualJPEGsAndPNGs: the layouts that take other decoder paths since
// previews shrink on load (progressive, CMYK, grayscale and restart-marker
// JPEGs from ImageMagick and libvips, a 16-bit PNG) upload and render at the
// size they have; a truncated JPEG and one whose header claims 60000×60000
// get the same clear 4xx as before, never a 500.
func TestUnusualJPEGsAndPNGs(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil) // 1 MiB and 4 MP limits
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "imaging", "testdata", "jpeg", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	deep := image.NewNRGBA64(image.Rect(0, 0, 40, 30))
	for i := range 40 {
		deep.SetNRGBA64(i, i%30, color.NRGBA64{R: 0xffff, A: 0xffff})
	}
	var png16 bytes.Buffer
	if err := png.Encode(&png16, deep); err != nil {
		t.Fatal(err)
	}
	baseline := fixture("baseline420.jpg")
	lying := append([]byte{}, baseline...)
	if i := bytes.Index(lying, []byte{0xFF, 0xC0}); i > 0 {
		lying[i+5], lying[i+6], lying[i+7], lying[i+8] = 0xEA, 0x60, 0xEA, 0x60 // 60000×60000
	}
	for _, tc := range []struct {
		name   string
		file   []byte
		status int
		detail string
		w, h   int
	}{
		{"progressive JPEG", fixture("progressive420.jpg"), http.StatusCreated, "", 257, 193},
		{"progressive JPEG with restart markers", fixture("restart-progressive.jpg"), http.StatusCreated, "", 257, 193},
		{"CMYK JPEG", fixture("cmyk.jpg"), http.StatusCreated, "", 257, 193},
		{"grayscale JPEG", fixture("gray.jpg"), http.StatusCreated, "", 257, 193},
		{"16-bit PNG", png16.Bytes(), http.StatusCreated, "", 40, 30},
		{"truncated JPEG", baseline[:len(baseline)*2/3], http.StatusUnprocessableEntity, "truncated or corrupt", 0, 0},
		{"JPEG claiming 60000×60000", lying, http.StatusRequestEntityTooLarge, "the limit is", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t)
			w, _ := b.workspace(srv.URL)
			p := b.uploadForm(srv.URL+"/api/v1/image", tc.file, nil, map[string]string{"X-CSRF-Token": w.CSRF})
			if p.status != tc.status {
				t.Fatalf("upload: status %d, want %d; body %s", p.status, tc.status, p.body)
			}
			if tc.status != http.StatusCreated {
				if !strings.Contains(p.body, tc.detail) || p.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("problem %s, want a detail containing %q", p.body, tc.detail)
				}
				return
			}
			for _, size := range []string{"preview", "full"} {
				r := b.get(srv.URL + "/api/v1/workspace/render?size=" + size + "&format=jpeg")
				if r.status != http.StatusOK {
					t.Fatalf("%s render: %d %s", size, r.status, r.body)
				}
				cfg, err := jpeg.DecodeConfig(strings.NewReader(r.body))
				if err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
					t.Errorf("%s render: %d×%d (%v), want %d×%d", size, cfg.Width, cfg.Height, err, tc.w, tc.h)
				}
			}
		})
	}
}
