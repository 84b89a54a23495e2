package server

import (
	"net/http"
	"testing"

	"github.com/easelhq/easel/internal/testutil"
)

// TestUploadRedirectShowsImage is the user's story on one replica:
// upload → 303 → the editor shows the very image uploaded.
func TestUploadRedirectShowsImage(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	b := newBrowser(t)
	img := testPNG(t, 40, 30, 7)

	p := b.uploadForm(srv.URL+"/image", img, map[string]string{"csrf_token": b.csrf(srv.URL)}, nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/image" {
		t.Fatalf("upload: got %d Location %q, want 303 /image; body: %s", p.status, p.header.Get("Location"), p.body)
	}
	p = b.get(srv.URL + "/image")
	if got := pageDigest(p.body); got != sha(img) {
		t.Fatalf("editor shows digest %q, want %q", got, sha(img))
	}
	if p.header.Get("X-Session") != "hit" || p.header.Get("X-Served-By") != "solo" {
		t.Errorf("headers: X-Session %q X-Served-By %q, want hit solo", p.header.Get("X-Session"), p.header.Get("X-Served-By"))
	}
	if !contains(p.body, "Uploaded a 40×30 png image.") {
		t.Errorf("the flash message is missing from the editor page")
	}
	if b.get(srv.URL+"/image").body == p.body {
		t.Errorf("the flash message was shown twice")
	}
	blob := b.get(srv.URL + "/blobs/" + sha(img))
	if blob.status != http.StatusOK || blob.body != string(img) || blob.header.Get("Content-Type") != "image/png" {
		t.Fatalf("blob: %d %q, want the uploaded PNG", blob.status, blob.header.Get("Content-Type"))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/blobs/"+sha(img), nil)
	req.Header.Set("If-None-Match", blob.header.Get("ETag"))
	if p := b.do(req); p.status != http.StatusNotModified {
		t.Errorf("conditional blob GET: %d, want 304", p.status)
	}
}

// TestRedisSessionsAnyReplica: upload on A, the redirect lands on B, and B
// shows the image — the fix easel exists for.
func TestRedisSessionsAnyReplica(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "replica-a", redisEnv(addr))
	bsrv := newReplica(t, "replica-b", redisEnv(addr))
	b := newBrowser(t)
	img := testPNG(t, 64, 48, 1)

	p := b.uploadForm(a.URL+"/image", img, map[string]string{"csrf_token": b.csrf(a.URL)}, nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("upload on A: %d %s", p.status, p.body)
	}
	// The browser's cookie is host-scoped; behind one balancer both replicas
	// share the origin, so copy the cookie over as the balancer would.
	shareCookies(t, b, a.URL, bsrv.URL)
	p = b.get(bsrv.URL + "/image")
	if got := pageDigest(p.body); got != sha(img) {
		t.Fatalf("replica B shows %q, want the upload %q; page: %s", got, sha(img), p.body)
	}
	if p.header.Get("X-Session") != "hit" || p.header.Get("X-Served-By") != "replica-b" {
		t.Errorf("B's headers: X-Session %q X-Served-By %q", p.header.Get("X-Session"), p.header.Get("X-Served-By"))
	}
	if blob := b.get(bsrv.URL + "/blobs/" + sha(img)); blob.body != string(img) {
		t.Errorf("replica B cannot serve the blob replica A stored")
	}
}

// TestMemorySessionsMissOnOtherReplica reproduces the original bug with
// memory sessions and makes it visible: B answers miss and explains.
func TestMemorySessionsMissOnOtherReplica(t *testing.T) {
	t.Parallel()
	env := map[string]string{"EASEL_SESSION_KEYS": testKey} // even with shared keys
	a := newReplica(t, "replica-a", env)
	bsrv := newReplica(t, "replica-b", env)
	b := newBrowser(t)
	p := b.uploadForm(a.URL+"/image", testPNG(t, 8, 8, 2), map[string]string{"csrf_token": b.csrf(a.URL)}, nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("upload on A: %d", p.status)
	}
	shareCookies(t, b, a.URL, bsrv.URL)
	p = b.get(bsrv.URL + "/image")
	if p.status != http.StatusOK || p.header.Get("X-Session") != "miss" {
		t.Fatalf("B: %d X-Session %q, want 200 miss", p.status, p.header.Get("X-Session"))
	}
	for _, want := range []string{`id="no-image"`, "does not know your session", "EASEL_SESSION_STORE=redis", `data-session="miss"`} {
		if !contains(p.body, want) {
			t.Errorf("B's page lacks %q", want)
		}
	}
}

// shareCookies copies the jar's cookies for from to to.
func shareCookies(t *testing.T, b *browser, from, to string) {
	t.Helper()
	fu, tu := mustURL(t, from), mustURL(t, to)
	b.client.Jar.SetCookies(tu, b.client.Jar.Cookies(fu))
}
