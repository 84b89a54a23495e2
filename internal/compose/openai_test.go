package compose

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/imaging"
)

const testKey = "sk-test-secret-123"

// fakeImagesAPI speaks POST /v1/images/edits. Each call is answered by the
// next handler in answers (the last one repeats); every request's
// multipart fields are checked first.
func fakeImagesAPI(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.Method != http.MethodPost || r.URL.Path != "/v1/images/edits" {
			t.Errorf("request %s %s, want POST /v1/images/edits", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("Authorization = %q", got)
		}
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			t.Errorf("parsing multipart: %v", err)
			return
		}
		for k, want := range map[string]string{"prompt": "put it on a beach", "model": "gpt-image-1", "size": "1536x1024", "n": "1"} {
			if got := r.FormValue(k); got != want {
				t.Errorf("field %s = %q, want %q", k, got, want)
			}
		}
		f, fh, err := r.FormFile("image")
		if err != nil {
			t.Errorf("no image part: %v", err)
			return
		}
		defer func() { _ = f.Close() }()
		if ct := fh.Header.Get("Content-Type"); ct != "image/png" {
			t.Errorf("image part Content-Type %q", ct)
		}
		buf, err := io.ReadAll(f)
		if err != nil {
			t.Errorf("reading image part: %v", err)
		}
		info, err := imaging.Inspect(buf, imaging.Limits{})
		if err != nil || info.Format != "png" || info.Width != 64 || info.Height != 40 {
			t.Errorf("image part = %+v, %v; want a 64×40 PNG (downscaled from 160×100)", info, err)
		}
		answers[min(n, len(answers))-1](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func answerImage(t *testing.T) func(w http.ResponseWriter, r *http.Request) {
	out := pngBytes(t, fill(96, 64, color.NRGBA{0, 128, 0, 255}))
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": []map[string]string{{"b64_json": base64.StdEncoding.EncodeToString(out)}}})
	}
}

func answerError(status int, retryAfter, code, msg string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "type": "invalid_request_error"}})
	}
}

func newTestOpenAI(t *testing.T, url string, timeout time.Duration) *OpenAI {
	t.Helper()
	o, err := NewOpenAI(OpenAIConfig{BaseURL: url + "/v1/", APIKey: testKey, Timeout: timeout, MaxAttempts: 3,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxEdge: 64}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func aiInput() Input {
	return Input{Image: fill(160, 100, white), Request: Request{Mode: ModeAI, Prompt: "put it on a beach"}}
}

func TestOpenAI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   func(t *testing.T) []func(http.ResponseWriter, *http.Request)
		timeout   time.Duration
		wantCalls int32
		wantMsg   string // "" = success
		minWait   time.Duration
	}{
		{name: "success", wantCalls: 1,
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerImage(t)}
			}},
		{name: "one 429 then success", wantCalls: 2, minWait: time.Second,
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerError(429, "1", "rate_limit_exceeded", "slow down"), answerImage(t)}
			}},
		{name: "5xx then success", wantCalls: 3,
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerError(502, "", "", "bad gateway"), answerError(503, "", "", ""), answerImage(t)}
			}},
		{name: "429 every time", wantCalls: 3, wantMsg: "The AI service is busy (too many requests); please try again in a minute.",
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerError(429, "0", "rate_limit_exceeded", "slow down")}
			}},
		{name: "timeout", wantCalls: 3, timeout: 100 * time.Millisecond, wantMsg: "The AI service did not answer within 100ms; please try again later.",
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-time.After(2 * time.Second):
					}
				}}
			}},
		{name: "content filter", wantCalls: 1,
			wantMsg: "The AI service refused this request: Your request was rejected as a result of our safety system.",
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerError(400, "", "content_policy_violation",
					"Your request was rejected as a result of our safety system.")}
			}},
		{name: "bad key is redacted", wantCalls: 1,
			wantMsg: "The AI service rejected this server's credentials; the operator needs to check the API key.",
			answers: func(t *testing.T) []func(http.ResponseWriter, *http.Request) {
				return []func(http.ResponseWriter, *http.Request){answerError(401, "", "invalid_api_key", "Incorrect API key provided: "+testKey)}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := fakeImagesAPI(t, tc.answers(t)...)
			o := newTestOpenAI(t, srv.URL, cmpDur(tc.timeout, 5*time.Second))
			start := time.Now()
			out, err := o.Compose(context.Background(), aiInput(), nil)
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if time.Since(start) < tc.minWait {
				t.Errorf("retried after %s, before Retry-After (%s)", time.Since(start), tc.minWait)
			}
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("Compose: %v", err)
				}
				if out.Rect != image.Rect(0, 0, 160, 100) || !near(out.NRGBAAt(80, 50), color.NRGBA{0, 128, 0, 255}, 2) {
					t.Fatalf("result %v, centre %v; want 160×100 green", out.Rect, out.NRGBAAt(80, 50))
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Message != tc.wantMsg {
				t.Fatalf("err = %v, want Failure %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("the API key leaked into the error: %v", err)
			}
		})
	}
}

func cmpDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func TestOpenAISendsMask(t *testing.T) {
	t.Parallel()
	got := make(chan *image.NRGBA, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- formPNG(t, r, "mask")
		answerError(400, "", "invalid_value", "nope")(w, r)
	}))
	t.Cleanup(srv.Close)
	in := aiInput()
	in.Mask = fill(160, 100, color.NRGBA{})
	_, err := newTestOpenAI(t, srv.URL, time.Second).Compose(context.Background(), in, nil)
	// The API wants the mask at the image's size: both are scaled down.
	if m := <-got; m == nil || m.Rect != image.Rect(0, 0, 64, 40) {
		t.Errorf("mask part %v, want 64×40 like the image part", m)
	}
	if UserMessage(err) != "The AI service could not do this edit: nope." {
		t.Errorf("message %q", UserMessage(err))
	}
}

func TestOpenAIChooseSizeAndConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w, h int
		want string
	}{{100, 100, "1024x1024"}, {1600, 900, "1536x1024"}, {900, 1600, "1024x1536"}} {
		if got := nearestSize(DefaultOpenAISizes(), tc.w, tc.h); got != tc.want {
			t.Errorf("nearestSize(%d, %d) = %s, want %s", tc.w, tc.h, got, tc.want)
		}
	}
	if _, err := NewOpenAI(OpenAIConfig{BaseURL: "http://x"}, nil, nil); err == nil {
		t.Error("no key accepted")
	}
	if _, err := NewOpenAI(OpenAIConfig{BaseURL: "http://x", APIKey: "k", Sizes: []string{"big"}}, nil, nil); err == nil {
		t.Error("bad size accepted")
	}
}

func TestLoadAPIKey(t *testing.T) {
	t.Parallel()
	p := t.TempDir() + "/key"
	if err := writeFile(p, " sk-file \n"); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadAPIKey(p, "sk-env"); err != nil || k != "sk-file" {
		t.Errorf("LoadAPIKey(file) = %q, %v", k, err)
	}
	if k, err := LoadAPIKey("", " sk-env "); err != nil || k != "sk-env" {
		t.Errorf("LoadAPIKey(value) = %q, %v", k, err)
	}
	if _, err := LoadAPIKey(p+"-missing", ""); err == nil {
		t.Error("missing file accepted")
	}
}
