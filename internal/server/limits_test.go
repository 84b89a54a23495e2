package server

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/testutil"
)

// limitEnv is env with the upload budgets given (all others off).
func limitEnv(env map[string]string, limits map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for k, v := range limits {
		out[k] = v
	}
	return out
}

// apiUpload uploads img from a browser (with a new session unless b is
// given) and returns the answer.
func apiUpload(t *testing.T, b *browser, srv string, img []byte, header map[string]string) page {
	t.Helper()
	if b == nil {
		b = newBrowser(t)
	}
	w, _ := b.workspace(srv)
	h := map[string]string{"X-CSRF-Token": w.CSRF}
	for k, v := range header {
		h[k] = v
	}
	return b.uploadForm(srv+"/api/v1/image", img, nil, h)
}

// wantLimited checks a 429: a Retry-After within (0, max] seconds and a
// message naming the limit.
func wantLimited(t *testing.T, p page, max int, says string) {
	t.Helper()
	ra, err := strconv.Atoi(p.header.Get("Retry-After"))
	if p.status != http.StatusTooManyRequests || err != nil || ra < 1 || ra > max || !strings.Contains(p.body, says) {
		t.Fatalf("over the limit: %d, Retry-After %q, %s; want 429, 1..%ds, %q", p.status, p.header.Get("Retry-After"), p.body, max, says)
	}
}

// TestUploadLimitSharedByReplicas: a client alternating between two
// replicas meets one budget (3 a minute: the fourth upload is refused,
// with a retry in at most 20 s, one emission interval).
func TestUploadLimitSharedByReplicas(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	env := limitEnv(redisEnv(addr), map[string]string{"EASEL_UPLOADS_PER_MINUTE": "3"})
	replicas := []string{newReplica(t, "r1", env).URL, newReplica(t, "r2", env).URL}
	for i := range 3 {
		if p := apiUpload(t, nil, replicas[i%2], testPNG(t, 8, 8, byte(i)), nil); p.status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i+1, p.status, p.body)
		}
	}
	p := apiUpload(t, nil, replicas[1], testPNG(t, 8, 8, 9), nil)
	wantLimited(t, p, 20, "3 uploads a minute from your address")
	if m := counters(t, replicas[1], "easel_refusals_total", "reason"); m["rate_uploads"] != 1 {
		t.Errorf("easel_refusals_total %v, want rate_uploads 1", m)
	}
	// The web form gets the same refusal: the form again, with the status,
	// its Retry-After and a message saying which limit.
	b := newBrowser(t)
	p = b.uploadForm(replicas[0]+"/image", testPNG(t, 8, 8, 10), map[string]string{"csrf_token": b.csrf(replicas[0])}, nil)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, `name="image"`) {
		t.Fatalf("web form over the limit: %d %v, want 429 with Retry-After and the form", p.status, p.header)
	}
	if !strings.Contains(p.body, "3 uploads a minute from your address") {
		t.Errorf("the form after a refused upload does not say which limit: %s", p.body)
	}
}

// TestUploadLimitPerForwardedAddress: behind a trusted proxy each client
// address (X-Forwarded-For) has its own budget; from an untrusted peer the
// header is ignored and the peer's address is what counts.
func TestUploadLimitPerForwardedAddress(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	limits := map[string]string{"EASEL_UPLOADS_PER_MINUTE": "2"}
	trusted := newReplica(t, "trusted", limitEnv(redisEnv(addr), limits)) // 127.0.0.0/8 is trusted by default
	for i := range 2 {
		for _, client := range []string{"203.0.113.1", "203.0.113.2"} {
			if p := apiUpload(t, nil, trusted.URL, testPNG(t, 8, 8, byte(i)), map[string]string{"X-Forwarded-For": client}); p.status != http.StatusCreated {
				t.Fatalf("client %s upload %d: %d %s", client, i+1, p.status, p.body)
			}
		}
	}
	wantLimited(t, apiUpload(t, nil, trusted.URL, testPNG(t, 8, 8, 5), map[string]string{"X-Forwarded-For": "203.0.113.1"}), 30, "from your address")

	limits["EASEL_TRUSTED_PROXIES"] = "10.0.0.0/8"
	limits["EASEL_REDIS_PREFIX"] = "untrusted" // budgets of its own
	untrusted := newReplica(t, "untrusted", limitEnv(redisEnv(addr), limits))
	for i, client := range []string{"203.0.113.7", "203.0.113.8"} {
		if p := apiUpload(t, nil, untrusted.URL, testPNG(t, 8, 8, byte(i)), map[string]string{"X-Forwarded-For": client}); p.status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i+1, p.status, p.body)
		}
	}
	wantLimited(t, apiUpload(t, nil, untrusted.URL, testPNG(t, 8, 8, 6), map[string]string{"X-Forwarded-For": "203.0.113.9"}), 30, "from your address")
}

// TestUploadLimitPerSession: one session's budget is its own; another
// session from the same address still uploads.
func TestUploadLimitPerSession(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	srv := newReplica(t, "r1", limitEnv(redisEnv(addr), map[string]string{"EASEL_SESSION_UPLOADS_PER_MINUTE": "2"})).URL
	b := newBrowser(t)
	for i := range 2 {
		if p := apiUpload(t, b, srv, testPNG(t, 8, 8, byte(i)), nil); p.status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i+1, p.status, p.body)
		}
	}
	wantLimited(t, apiUpload(t, b, srv, testPNG(t, 8, 8, 3), nil), 30, "2 uploads a minute per session")
	if p := apiUpload(t, nil, srv, testPNG(t, 8, 8, 4), nil); p.status != http.StatusCreated {
		t.Errorf("another session from the same address: %d %s", p.status, p.body)
	}
}

// TestUploadBytesLimit: bytes are charged from Content-Length before the
// body is read; the hour's budget says so and when to retry.
func TestUploadBytesLimit(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	srv := newReplica(t, "r1", limitEnv(redisEnv(addr), map[string]string{"EASEL_UPLOAD_BYTES_PER_HOUR": "1MiB"})).URL
	img := noisePNG(t, rand.New(rand.NewPCG(3, 4)))[:600<<10] // 600 KiB: refused by the decoder, charged all the same
	if p := apiUpload(t, nil, srv, img, nil); p.status == http.StatusTooManyRequests {
		t.Fatalf("first 600 KiB: %d %s", p.status, p.body)
	}
	p := apiUpload(t, nil, srv, img, nil)
	wantLimited(t, p, 3600, "1 MiB of uploads an hour from your address")
	if m := counters(t, srv, "easel_refusals_total", "reason"); m["rate_bytes"] != 1 {
		t.Errorf("easel_refusals_total %v, want rate_bytes 1", m)
	}
}

// TestUploadLimitMemoryStore: one replica on the memory store limits the
// same way (quota.Memory).
func TestUploadLimitMemoryStore(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "mem", map[string]string{"EASEL_UPLOADS_PER_MINUTE": "2"}).URL
	for i := range 2 {
		if p := apiUpload(t, nil, srv, testPNG(t, 8, 8, byte(i)), nil); p.status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i+1, p.status, p.body)
		}
	}
	wantLimited(t, apiUpload(t, nil, srv, testPNG(t, 8, 8, 3), nil), 30, "2 uploads a minute from your address")
}

// TestRefusalsConformToSpec: the 429 and 507 answers of the upload and
// asset operations are what openapi.yaml says (problem+json, Retry-After).
func TestRefusalsConformToSpec(t *testing.T) {
	t.Parallel()
	router := specRouter(t)
	addr, _ := testutil.StartRedis(t)
	env := limitEnv(redisEnv(addr), map[string]string{"EASEL_UPLOADS_PER_MINUTE": "1", "EASEL_STORE_SAMPLE_INTERVAL": "100ms"})
	srv := newReplica(t, "r1", env).URL
	a := newAPIClient(t, router, srv)
	upload := func(path, field string) int {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile(field, "photo.png")
		_, _ = fw.Write(testPNG(t, 8, 8, 1))
		_ = mw.Close()
		raw := buf.Bytes()
		req, _ := http.NewRequest(http.MethodPost, srv+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-CSRF-Token", a.csrf)
		res, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		out, _ := io.ReadAll(res.Body)
		a.validate(req, raw, res, out)
		return res.StatusCode
	}
	if got := upload("/api/v1/image", "image"); got != http.StatusCreated {
		t.Fatalf("first upload: %d", got)
	}
	if got := upload("/api/v1/assets", "image"); got != http.StatusTooManyRequests {
		t.Fatalf("second upload in a minute, limit 1: %d", got)
	}
	rc := testutil.OpenRedis(t, config.Redis{URL: "redis://" + addr})
	if err := rc.ConfigSet(context.Background(), "maxmemory", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	// Until the next sample the upload budget refuses (429); then the guard,
	// which is checked first, does (507).
	got := 0
	for deadline := time.Now().Add(10 * time.Second); got != http.StatusInsufficientStorage && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		got = upload("/api/v1/image", "image")
	}
	if got != http.StatusInsufficientStorage {
		t.Fatalf("upload with the store past its mark: %d", got)
	}
	if status, _ := a.call(http.MethodPost, "/api/v1/workspace/edits", map[string]any{"op": "rotate", "angle": 90}); status != http.StatusOK {
		t.Errorf("an edit of existing work with the store full: %d", status)
	}
}
