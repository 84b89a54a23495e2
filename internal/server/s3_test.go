package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/testutil"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"
)

// s3Env is the configuration of a replica keeping blobs in the S3 server
// srv (bucket "easel") and everything else in the Redis at addr.
func s3Env(t *testing.T, addr string, srv *testutil.S3Server, extra map[string]string) map[string]string {
	t.Helper()
	env := redisEnv(addr)
	keys := [2]string{filepath.Join(t.TempDir(), "id"), filepath.Join(t.TempDir(), "secret")}
	for i, v := range []string{srv.AccessKeyID, srv.SecretAccessKey} {
		if err := os.WriteFile(keys[i], []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"EASEL_BLOB_STORE": "s3", "EASEL_S3_ENDPOINT": srv.Endpoint, "EASEL_S3_BUCKET": "easel",
		"EASEL_S3_PATH_STYLE": "true", "EASEL_S3_ACCESS_KEY_ID_FILE": keys[0], "EASEL_S3_SECRET_ACCESS_KEY_FILE": keys[1],
	} {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// TestS3Blobs: with --blob-store s3 an upload on one replica is shown by
// another, its bytes are in the bucket and not in Redis, and an S3 outage is
// a 503 with Retry-After that heals without a restart.
func TestS3Blobs(t *testing.T) {
	t.Parallel()
	srv := testutil.StartS3(t)
	srv.Bucket(t, "easel")
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "a", s3Env(t, addr, srv, nil))
	b := newReplica(t, "b", s3Env(t, addr, srv, nil))

	user := newBrowser(t)
	img := testPNG(t, 24, 16, 7)
	if p := user.uploadForm(a.URL+"/image", img, map[string]string{"csrf_token": user.csrf(a.URL)}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload on a: %d %s", p.status, p.body)
	}
	p := user.get(b.URL + "/image")
	d := pageDigest(p.body)
	if p.status != http.StatusOK || d != sha(img) {
		t.Fatalf("editor on b: %d, image %q; want the upload %s", p.status, d, sha(img))
	}
	if p := user.get(b.URL + "/blobs/" + d); p.status != http.StatusOK || p.body != string(img) {
		t.Fatalf("GET /blobs on b: %d, %d bytes", p.status, len(p.body))
	}
	ctx := context.Background()
	if _, err := srv.Client(t).StatObject(ctx, "easel", "blobs/"+d, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the upload is not in the bucket: %v", err)
	}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = rc.Close() }()
	if keys, err := rc.Keys(ctx, "easel:blob:*").Result(); err != nil || len(keys) != 0 {
		t.Fatalf("blob keys in Redis: %v, %v; want none", keys, err)
	}

	c := newReplica(t, "c", s3Env(t, addr, srv, nil)) // a cold cache: it must ask S3
	srv.Stop()
	if p := user.get(c.URL + "/blobs/" + d); p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" {
		t.Fatalf("GET /blobs while S3 is down: %d, Retry-After %q; want 503 with Retry-After", p.status, p.header.Get("Retry-After"))
	}
	if p := user.get(c.URL + "/blobs/not-a-digest"); p.status != http.StatusNotFound {
		t.Fatalf("GET /blobs/not-a-digest: %d, want 404", p.status)
	}
	if p := user.uploadForm(c.URL+"/api/v1/image", testPNG(t, 8, 8, 9), nil, map[string]string{"X-CSRF-Token": user.csrf(c.URL)}); p.status != http.StatusServiceUnavailable ||
		p.header.Get("Retry-After") == "" || !strings.HasPrefix(p.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("API upload while S3 is down: %d %q Retry-After %q; want 503 problem+json with Retry-After", p.status, p.header.Get("Content-Type"), p.header.Get("Retry-After"))
	}
	srv.Start()
	if p := user.get(c.URL + "/blobs/" + d); p.status != http.StatusOK || p.body != string(img) {
		t.Fatalf("GET /blobs after S3 returned: %d", p.status)
	}
}

// TestS3Presign: with --s3-presign, /blobs/{digest} and a full-size render
// redirect to the bucket, which serves the bytes with the immutable caching
// of /blobs; the same URL is handed out again, so browsers cache the image.
func TestS3Presign(t *testing.T) {
	t.Parallel()
	srv := testutil.StartS3(t)
	srv.Bucket(t, "easel")
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "a", s3Env(t, addr, srv, map[string]string{"EASEL_S3_PRESIGN": "true"}))
	user := newBrowser(t)
	img := testPNG(t, 24, 16, 8)
	if p := user.uploadForm(a.URL+"/image", img, map[string]string{"csrf_token": user.csrf(a.URL)}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	d := sha(img)
	first := user.get(a.URL + "/blobs/" + d)
	loc := first.header.Get("Location")
	if first.status != http.StatusFound || !strings.HasPrefix(loc, srv.Endpoint+"/easel/blobs/"+d+"?") {
		t.Fatalf("GET /blobs: %d Location %q; want a redirect into the bucket", first.status, loc)
	}
	if again := user.get(a.URL + "/blobs/" + d); again.header.Get("Location") != loc {
		t.Error("a second view got another URL: browsers would download the image again")
	}
	res, err := http.Get(loc) // the browser follows, without easel's cookies
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != http.StatusOK || body != string(img) || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("the presigned URL answered %d, %d bytes, Cache-Control %q", res.StatusCode, len(body), res.Header.Get("Cache-Control"))
	}
	if p := user.get(a.URL + "/blobs/" + sha([]byte("never uploaded"))); p.status != http.StatusNotFound {
		t.Fatalf("GET /blobs of an unknown digest: %d, want 404 (no URL to nothing)", p.status)
	}
	full := user.get(a.URL + "/api/v1/workspace/render?size=full&format=png&download=1")
	if full.status != http.StatusFound {
		t.Fatalf("full-size render: %d %s, want a redirect", full.status, full.body)
	}
	res, err = http.Get(full.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, res)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\x89PNG") || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("the render's URL answered %d, %q, Content-Disposition %q", res.StatusCode, body[:min(8, len(body))], res.Header.Get("Content-Disposition"))
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
