package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
)

// testKey is a session signing key shared by the replicas of one test.
const testKey = "0123456789abcdef0123456789abcdef-test-key"

// newReplica starts one easel replica on an httptest server. env holds
// EASEL_* settings on top of a quiet, test-friendly base.
func newReplica(t *testing.T, name string, env map[string]string) *httptest.Server {
	t.Helper()
	base := map[string]string{
		"EASEL_POD_NAME": name, "EASEL_LOG_LEVEL": "error", "EASEL_MAX_UPLOAD_BYTES": "1MiB",
		"EASEL_MAX_UPLOAD_PIXELS": "4000000",
		// Tests upload far faster than a person: the upload budgets are
		// off unless a test (limits_test.go) turns them on.
		"EASEL_UPLOADS_PER_MINUTE": "0", "EASEL_UPLOAD_BYTES_PER_HOUR": "0",
		"EASEL_SESSION_UPLOADS_PER_MINUTE": "0", "EASEL_SESSION_UPLOAD_BYTES_PER_HOUR": "0",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return base[k] }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	srv.Start(t.Context())
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	return ts
}

// redisEnv is the configuration of a replica sharing the Redis at addr.
func redisEnv(addr string) map[string]string {
	return map[string]string{"EASEL_SESSION_STORE": "redis", "EASEL_REDIS_URL": "redis://" + addr + "/0", "EASEL_SESSION_KEYS": testKey}
}

// browser is a user: a cookie jar shared across replicas (as a browser
// behind a load balancer sees one origin), redirects not followed.
type browser struct {
	t      *testing.T
	client *http.Client
	// retry503 retries a request answered 503 (Redis failing over) for up
	// to 30 s; requests must then have no body, or a replayable one.
	retry503 bool
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is a response read in full.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if b.retry503 {
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := req.Clone(req.Context())
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					b.t.Fatal(err)
				}
				r.Body = body
			}
			p := b.doOnce(r)
			if p.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return p
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return b.doOnce(req)
}

func (b *browser) doOnce(req *http.Request) page {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(url string) page {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return b.do(req)
}

// csrf fetches the upload form on srv and returns its token.
func (b *browser) csrf(srv string) string {
	b.t.Helper()
	p := b.get(srv + "/")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no csrf_token in the upload form (status %d)", p.status)
	}
	return m[1]
}

// uploadForm posts a multipart form with the given file and fields.
func (b *browser) uploadForm(url string, file []byte, fields map[string]string, header map[string]string) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("image", "photo.png")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// workspaceJSON is what GET /api/v1/workspace answers.
type workspaceJSON struct {
	CSRF  string `json:"csrf_token"`
	Image *struct {
		Digest string `json:"digest"`
		Width  int    `json:"width"`
	} `json:"image"`
}

func (b *browser) workspace(srv string) (workspaceJSON, page) {
	b.t.Helper()
	p := b.get(srv + "/api/v1/workspace")
	var w workspaceJSON
	if p.status == http.StatusOK {
		if err := json.Unmarshal([]byte(p.body), &w); err != nil {
			b.t.Fatalf("workspace JSON: %v: %s", err, p.body)
		}
	}
	return w, p
}

// pageDigest returns the data-digest (the original's digest) of the editor
// page's image, or "" when the page shows no image.
func pageDigest(body string) string {
	m := regexp.MustCompile(`<img id="image" src="/blobs/[0-9a-f]{64}" data-digest="([0-9a-f]{64})"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// testPNG returns a w×h PNG whose colour is derived from seed.
func testPNG(t testing.TB, w, h int, seed byte) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: seed, G: uint8(x), B: uint8(y), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func decodePNGConfig(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
