package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/testutil"
)

// TestServeRefusesAnUnusableBucket: a wrong bucket, wrong credentials or an
// unreachable endpoint stop `easel serve` at start with exit status 2 and a
// message naming the setting, before anything listens.
func TestServeRefusesAnUnusableBucket(t *testing.T) {
	t.Parallel()
	srv := testutil.StartS3(t)
	srv.Bucket(t, "easel")
	addr, _ := testutil.StartRedis(t)
	dir := t.TempDir()
	file := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	id, secret, wrong := file("id", srv.AccessKeyID), file("secret", srv.SecretAccessKey), file("wrong", "not-the-secret")
	tests := []struct {
		name     string
		endpoint string
		bucket   string
		secret   string
		want     string
	}{
		{"wrong bucket", srv.Endpoint, "no-such-bucket", secret, "--s3-bucket"},
		{"wrong secret", srv.Endpoint, "easel", wrong, "--s3-access-key-id-file"},
		{"unreachable endpoint", "http://127.0.0.1:1", "easel", secret, "--s3-endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := run(t.Context(), func() {}, []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error",
				"--session-store", "redis", "--redis-url", "redis://" + addr, "--session-keys", strings.Repeat("k", 32),
				"--blob-store", "s3", "--s3-endpoint", tc.endpoint, "--s3-bucket", tc.bucket, "--s3-path-style",
				"--s3-access-key-id-file", id, "--s3-secret-access-key-file", tc.secret}, io.Discard, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, %q; want 2 and a message naming %s", code, stderr.String(), tc.want)
			}
		})
	}
}
