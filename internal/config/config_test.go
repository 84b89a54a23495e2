package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Session.Store != StoreMemory || c.Session.IdleTTL != 30*time.Minute ||
		c.Session.Lifetime != 24*time.Hour || c.Upload.MaxBytes != 25<<20 || c.Upload.MaxPixels != 50_000_000 || c.PodName == "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--addr", ":9000"}, env(map[string]string{
		"EASEL_ADDR": ":7000", "EASEL_SESSION_TTL": "10m", "EASEL_MAX_UPLOAD_BYTES": "5MiB", "EASEL_POD_NAME": "pod-1",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.Session.IdleTTL != 10*time.Minute || c.Upload.MaxBytes != 5<<20 || c.PodName != "pod-1" {
		t.Errorf("got addr %s ttl %s max %d pod %s", c.Addr, c.Session.IdleTTL, c.Upload.MaxBytes, c.PodName)
	}
}

func TestRedisModes(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 32)
	c, err := Load(nil, env(map[string]string{
		"EASEL_SESSION_STORE": "redis", "EASEL_REDIS_SENTINEL_MASTER": "mymaster",
		"EASEL_REDIS_SENTINEL_ADDRS": "a:26379, b:26379", "EASEL_SESSION_KEYS": key + "," + key + "old",
		"EASEL_REDIS_SENTINEL_USERNAME": "sentinel", "EASEL_REDIS_SENTINEL_PASSWORD": "s3cret",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Redis.SentinelAddrs) != 2 || len(c.Session.Keys) != 2 || string(c.Session.Keys[0]) != key {
		t.Errorf("redis %+v keys %d", c.Redis, len(c.Session.Keys))
	}
	if c.Redis.SentinelUsername != "sentinel" || c.Redis.SentinelPassword != "s3cret" {
		t.Errorf("sentinel credentials %q/%q, want sentinel/s3cret", c.Redis.SentinelUsername, c.Redis.SentinelPassword)
	}
}

// TestInvalidSettings: each bad value is refused with a message naming the
// flag, its variable and what is allowed.
func TestInvalidSettings(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 32)
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown store", map[string]string{"EASEL_SESSION_STORE": "disk"}, []string{"--session-store", "EASEL_SESSION_STORE", "memory or redis", `"disk"`}},
		{"redis without connection", map[string]string{"EASEL_SESSION_STORE": "redis", "EASEL_SESSION_KEYS": key}, []string{"--redis-url"}},
		{"redis without keys", map[string]string{"EASEL_SESSION_STORE": "redis", "EASEL_REDIS_URL": "redis://r:6379"}, []string{"EASEL_SESSION_KEYS", "invents its own key"}},
		{"short key", map[string]string{"EASEL_SESSION_KEYS": "short"}, []string{"key 1 is 5 characters", "at least 32"}},
		{"bad duration", map[string]string{"EASEL_SESSION_TTL": "30"}, []string{"EASEL_SESSION_TTL"}},
		{"bad size", map[string]string{"EASEL_MAX_UPLOAD_BYTES": "lots"}, []string{"EASEL_MAX_UPLOAD_BYTES", "25MiB"}},
		{"lifetime below ttl", map[string]string{"EASEL_SESSION_LIFETIME": "10m"}, []string{"--session-lifetime", "at least --session-ttl"}},
		{"bad url scheme", map[string]string{"EASEL_REDIS_URL": "http://r:6379"}, []string{"redis:// or rediss://"}},
		{"two redis modes", map[string]string{"EASEL_REDIS_URL": "redis://r", "EASEL_REDIS_CLUSTER_ADDRS": "a:1,b:2"}, []string{"not several"}},
		{"sentinel without addrs", map[string]string{"EASEL_REDIS_SENTINEL_MASTER": "m"}, []string{"go together"}},
		{"bad proxy", map[string]string{"EASEL_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"--trusted-proxies", "CIDR"}},
		{"bad log format", map[string]string{"EASEL_LOG_FORMAT": "xml"}, []string{"auto, json or text"}},
		{"unknown ai backend", map[string]string{"EASEL_AI_BACKEND": "replicate"}, []string{"--ai-backend", "EASEL_AI_BACKEND", "builtin, openai or http", `"replicate"`}},
		{"http without url", map[string]string{"EASEL_AI_BACKEND": "http"}, []string{"--ai-url", "EASEL_AI_URL", "when --ai-backend is http"}},
		{"http url without scheme", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": "inpaint:8080/edit"}, []string{"--ai-url", "http(s) URL", `"inpaint:8080/edit"`}},
		{"http url without host", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": "http:///edit"}, []string{"--ai-url"}},
		{"openai without base url", map[string]string{"EASEL_AI_BACKEND": "openai", "EASEL_AI_API_KEY": "sk"}, []string{"--ai-base-url", "EASEL_AI_BASE_URL"}},
		{"openai without key", map[string]string{"EASEL_AI_BACKEND": "openai", "EASEL_AI_BASE_URL": "https://api.openai.com"}, []string{"--ai-api-key-file", "EASEL_AI_API_KEY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(nil, env(tc.env), io.Discard)
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

// TestAIBackends: which settings each backend takes, and that the key is
// optional with http.
func TestAIBackends(t *testing.T) {
	t.Parallel()
	keyFile := t.TempDir() + "/key"
	if err := os.WriteFile(keyFile, []byte(" hk-file \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := t.TempDir() + "/empty"
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const url = "http://inpaint.default.svc:8080/edit"
	cases := []struct {
		name    string
		env     map[string]string
		wantKey string
		wantErr string
	}{
		{"http without a key", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": url}, "", ""},
		{"http with a key variable", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": url, "EASEL_AI_API_KEY": " hk-env "}, "hk-env", ""},
		{"http with a key file", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": url, "EASEL_AI_API_KEY_FILE": keyFile}, "hk-file", ""},
		{"http with an empty key file", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": url, "EASEL_AI_API_KEY_FILE": emptyFile}, "", "is empty"},
		{"openai", map[string]string{"EASEL_AI_BACKEND": "openai", "EASEL_AI_BASE_URL": "https://api.openai.com", "EASEL_AI_API_KEY": "sk"}, "sk", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load([]string{"--ai-max-edge", "512"}, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "EASEL_AI_API_KEY_FILE") {
					t.Fatalf("err = %v, want one about EASEL_AI_API_KEY_FILE mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AIBackend != tc.env["EASEL_AI_BACKEND"] || c.AI.APIKey != tc.wantKey || c.AI.MaxEdge != 512 || c.AI.Timeout != 120*time.Second || c.AI.MaxAttempts != 3 {
				t.Errorf("backend %q, AI %+v; want key %q, max edge 512 and the default timeout and attempts", c.AIBackend, c.AI, tc.wantKey)
			}
			if tc.env["EASEL_AI_BACKEND"] == "http" && c.AI.URL != url {
				t.Errorf("AI.URL = %q, want %q", c.AI.URL, url)
			}
		})
	}
}

func TestHelpNamesEveryVariable(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	_, err := Load([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"--session-store", "[EASEL_SESSION_STORE]", "--redis-url", "[EASEL_SESSION_KEYS]", "(default 30m0s)",
		"--ai-url URL", "[EASEL_AI_URL]", "or http (a self-hosted image-edit service"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("--help lacks %q", w)
		}
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"26214400": 25 << 20, "25MiB": 25 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "2MB": 2e6} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%s: %d %v, want %d", in, b, err, want)
		}
	}
	if s := byteSize(25 << 20).String(); s != "25MiB" {
		t.Errorf("String: %s", s)
	}
}
