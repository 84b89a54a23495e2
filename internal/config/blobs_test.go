package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// s3Env is a valid --blob-store s3 configuration, with overrides.
func s3Env(over map[string]string) map[string]string {
	e := map[string]string{
		"EASEL_SESSION_STORE": "redis", "EASEL_REDIS_URL": "redis://r:6379", "EASEL_SESSION_KEYS": strings.Repeat("k", 32),
		"EASEL_BLOB_STORE": "s3", "EASEL_S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com", "EASEL_S3_BUCKET": "easel-images",
	}
	for k, v := range over {
		e[k] = v
	}
	return e
}

// TestBlobStoreFollowsSessionStore: without --blob-store nothing changes for
// existing users: blobs stay where sessions are.
func TestBlobStoreFollowsSessionStore(t *testing.T) {
	t.Parallel()
	for store, want := range map[string]string{"memory": BlobMemory, "redis": BlobRedis} {
		e := s3Env(map[string]string{"EASEL_SESSION_STORE": store, "EASEL_BLOB_STORE": ""})
		if store == "memory" {
			delete(e, "EASEL_REDIS_URL")
		}
		c, err := Load(nil, env(e), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Blobs.Store != want {
			t.Errorf("session store %s: blob store %q, want %q", store, c.Blobs.Store, want)
		}
	}
}

func TestS3Settings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, secret, empty := filepath.Join(dir, "id"), filepath.Join(dir, "secret"), filepath.Join(dir, "empty")
	for p, v := range map[string]string{id: "AKIAEXAMPLE\n", secret: "s3cret\n", empty: "\n"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(nil, env(s3Env(map[string]string{
		"EASEL_S3_ACCESS_KEY_ID_FILE": id, "EASEL_S3_SECRET_ACCESS_KEY_FILE": secret, "EASEL_S3_PATH_STYLE": "true",
		"EASEL_S3_PREFIX": "easel/blobs/", "EASEL_S3_PRESIGN": "true",
	})), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Blobs.S3; s.AccessKeyID != "AKIAEXAMPLE" || s.SecretAccessKey != "s3cret" || !s.PathStyle || s.Prefix != "easel/blobs/" ||
		!s.Presign || s.Region != "us-east-1" || s.SweepEvery <= 0 {
		t.Errorf("S3 settings: %+v", s)
	}

	c, err = Load(nil, env(s3Env(map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "envsecret",
		"AWS_SESSION_TOKEN": "token", "HOME": "/home/easel"})), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Blobs.S3; s.AccessKeyID != "AKIAENV" || s.SecretAccessKey != "envsecret" || s.SessionToken != "token" {
		t.Errorf("the AWS variables were not used: %+v", s)
	}
	c, err = Load(nil, env(s3Env(map[string]string{"HOME": "/home/easel", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"})), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Blobs.S3; s.AccessKeyID != "" || s.SharedCredentialsFile != "/home/easel/.aws/credentials" || s.Profile != "default" || !s.IAMRole {
		t.Errorf("without keys: %+v; want ~/.aws/credentials, the default profile and the IAM role", s)
	}

	bad := []struct {
		name string
		over map[string]string
		want []string
	}{
		{"unknown store", map[string]string{"EASEL_BLOB_STORE": "gcs"}, []string{"--blob-store", "EASEL_BLOB_STORE", "memory, redis or s3"}},
		{"s3 with memory sessions", map[string]string{"EASEL_SESSION_STORE": "memory"}, []string{"--blob-store", "needs --session-store redis"}},
		{"no endpoint", map[string]string{"EASEL_S3_ENDPOINT": ""}, []string{"--s3-endpoint", "EASEL_S3_ENDPOINT"}},
		{"endpoint without scheme", map[string]string{"EASEL_S3_ENDPOINT": "minio:9000"}, []string{"--s3-endpoint", `"minio:9000"`}},
		{"endpoint with a path", map[string]string{"EASEL_S3_ENDPOINT": "https://s3.example.com/easel"}, []string{"--s3-endpoint", "no path"}},
		{"no bucket", map[string]string{"EASEL_S3_BUCKET": ""}, []string{"--s3-bucket", "EASEL_S3_BUCKET"}},
		{"bucket with capitals", map[string]string{"EASEL_S3_BUCKET": "Easel"}, []string{"--s3-bucket"}},
		{"key id without secret", map[string]string{"EASEL_S3_ACCESS_KEY_ID_FILE": id}, []string{"--s3-secret-access-key-file", "go together"}},
		{"unreadable key file", map[string]string{"EASEL_S3_ACCESS_KEY_ID_FILE": filepath.Join(dir, "none"), "EASEL_S3_SECRET_ACCESS_KEY_FILE": secret},
			[]string{"--s3-access-key-id-file", "cannot read"}},
		{"empty secret file", map[string]string{"EASEL_S3_ACCESS_KEY_ID_FILE": id, "EASEL_S3_SECRET_ACCESS_KEY_FILE": empty},
			[]string{"--s3-secret-access-key-file", "is empty"}},
		{"missing CA file", map[string]string{"EASEL_S3_CA_FILE": filepath.Join(dir, "ca.pem")}, []string{"--s3-ca-file", "cannot read"}},
		{"presign too long", map[string]string{"EASEL_S3_PRESIGN_TTL": "200h"}, []string{"--s3-presign-ttl", "168h"}},
		{"absolute prefix", map[string]string{"EASEL_S3_PREFIX": "/blobs/"}, []string{"--s3-prefix"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(nil, env(s3Env(tc.over)), io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
