package compose

import (
	"bytes"
	"context"
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

const testHTTPKey = "hk-test-secret-456"

// editRequest is what the fake service received in one request.
type editRequest struct {
	auth, accept, prompt string
	image, mask          *image.NRGBA // mask: nil when no part was sent
}

// fakeEditService speaks easel's http backend protocol at POST /edit. Each
// call is answered by the next handler in answers (the last one repeats);
// every request is parsed first, checked for what the protocol always
// requires, and recorded.
func fakeEditService(t *testing.T, answers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32, chan editRequest) {
	t.Helper()
	var calls atomic.Int32
	seen := make(chan editRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.Method != http.MethodPost || r.URL.Path != "/edit" {
			t.Errorf("request %s %s, want POST /edit", r.Method, r.URL.Path)
		}
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			t.Errorf("parsing multipart: %v", err)
			return
		}
		got := editRequest{auth: r.Header.Get("Authorization"), accept: r.Header.Get("Accept"), prompt: r.FormValue("prompt")}
		got.image = formPNG(t, r, "image")
		if _, _, err := r.FormFile("mask"); err == nil {
			got.mask = formPNG(t, r, "mask")
		}
		seen <- got
		answers[min(n, len(answers))-1](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, seen
}

// formPNG reads the file part field, which must be a PNG.
func formPNG(t *testing.T, r *http.Request, field string) *image.NRGBA {
	t.Helper()
	f, fh, err := r.FormFile(field)
	if err != nil {
		t.Errorf("no %s part: %v", field, err)
		return nil
	}
	defer func() { _ = f.Close() }()
	if ct := fh.Header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("%s part Content-Type %q, want image/png", field, ct)
	}
	buf, err := io.ReadAll(f)
	if err != nil {
		t.Errorf("reading %s part: %v", field, err)
		return nil
	}
	if info, err := imaging.Inspect(buf, imaging.Limits{}); err != nil || info.Format != imaging.FormatPNG {
		t.Errorf("%s part is %+v, %v; want a PNG", field, info, err)
		return nil
	}
	img, _, err := imaging.Decode(context.Background(), buf, imaging.Limits{})
	if err != nil {
		t.Errorf("decoding %s part: %v", field, err)
	}
	return img
}

// editedImage answers 200 with a 96×64 green image in format.
func editedImage(t *testing.T, format, contentType string) http.HandlerFunc {
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, fill(96, 64, color.NRGBA{0, 128, 0, 255}), format, 95); err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(buf.Bytes())
	}
}

// answer answers status with body as contentType, and Retry-After when set.
func answer(status int, retryAfter, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func jsonError(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

func newTestHTTP(t *testing.T, url, key string, timeout time.Duration) *HTTP {
	t.Helper()
	h, err := NewHTTP(HTTPConfig{URL: url + "/edit", APIKey: key, Timeout: timeout, MaxAttempts: 3,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxEdge: 64}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHTTPSuccess: the request carries the scaled image, the scaled mask and
// the prompt, a bearer token only when a key is configured, and the answer
// comes back at the input's size, whatever format the service sends.
func TestHTTPSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, format, contentType string
		mask                           bool
	}{
		{name: "png, no key, no mask", format: imaging.FormatPNG, contentType: "image/png"},
		{name: "jpeg, key, mask", key: testHTTPKey, format: imaging.FormatJPEG, contentType: "image/jpeg", mask: true},
		{name: "webp, key", key: testHTTPKey, format: imaging.FormatWebP, contentType: "image/webp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls, seen := fakeEditService(t, editedImage(t, tc.format, tc.contentType))
			in := aiInput()
			if tc.mask {
				in.Mask = fill(160, 100, color.NRGBA{}) // paint anywhere
			}
			var progress []float64
			out, err := newTestHTTP(t, srv.URL, tc.key, 5*time.Second).Compose(context.Background(), in, func(p float64) { progress = append(progress, p) })
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if calls.Load() != 1 {
				t.Errorf("calls = %d, want 1", calls.Load())
			}
			got := <-seen
			if got.prompt != "put it on a beach" {
				t.Errorf("prompt = %q", got.prompt)
			}
			if got.accept != "image/png, image/jpeg, image/webp" {
				t.Errorf("Accept = %q", got.accept)
			}
			wantAuth := ""
			if tc.key != "" {
				wantAuth = "Bearer " + tc.key
			}
			if got.auth != wantAuth {
				t.Errorf("Authorization = %q, want %q", got.auth, wantAuth)
			}
			if got.image == nil || got.image.Rect != image.Rect(0, 0, 64, 40) {
				t.Errorf("image part %v, want 64×40 (160×100 with its long edge scaled to the max edge)", got.image)
			}
			switch {
			case !tc.mask && got.mask != nil:
				t.Error("a mask part was sent without a mask")
			case tc.mask && (got.mask == nil || got.mask.Rect != image.Rect(0, 0, 64, 40) || got.mask.NRGBAAt(30, 20).A != 0):
				t.Errorf("mask part %v, want a transparent 64×40 PNG, the image part's size", got.mask)
			}
			if out.Rect != image.Rect(0, 0, 160, 100) || !near(out.NRGBAAt(80, 50), color.NRGBA{0, 128, 0, 255}, 3) {
				t.Fatalf("result %v, centre %v; want 160×100 green", out.Rect, out.NRGBAAt(80, 50))
			}
			if len(progress) == 0 || progress[len(progress)-1] != 0.9 {
				t.Errorf("progress %v, want it to reach 0.9", progress)
			}
		})
	}
}

// TestHTTPFailures: retries, final errors and the sentences users read.
func TestHTTPFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   func(t *testing.T) []http.HandlerFunc
		timeout   time.Duration
		wantCalls int32
		wantMsg   string // "" = success
		minWait   time.Duration
	}{
		{name: "429 with Retry-After then success", wantCalls: 2, minWait: time.Second,
			answers: func(t *testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(429, "1", "application/json", jsonError("queue full")), editedImage(t, imaging.FormatPNG, "image/png")}
			}},
		{name: "5xx then success", wantCalls: 3,
			answers: func(t *testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(502, "", "text/html", "<h1>Bad Gateway</h1>"), answer(503, "0", "", ""),
					editedImage(t, imaging.FormatPNG, "image/png")}
			}},
		{name: "500 every time", wantCalls: 3, wantMsg: "The AI service is having trouble right now; please try again later.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(500, "", "application/json", jsonError("CUDA out of memory"))}
			}},
		{name: "429 every time", wantCalls: 3, wantMsg: "The AI service is busy (too many requests); please try again in a minute.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(429, "0", "application/json", jsonError("queue full"))}
			}},
		{name: "400 with an error message", wantCalls: 1, wantMsg: "The AI service could not do this edit: the mask is empty.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(400, "", "application/json", jsonError("the mask is empty"))}
			}},
		{name: "422 problem+json detail", wantCalls: 1, wantMsg: "The AI service could not do this edit: prompt longer than 77 tokens.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(422, "", "application/problem+json",
					`{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"prompt longer than 77 tokens."}`)}
			}},
		{name: "400 without a message", wantCalls: 1, wantMsg: "The AI service could not do this edit.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(400, "", "text/html", "<html>400 Bad Request</html>")}
			}},
		{name: "401 is the credentials", wantCalls: 1,
			wantMsg: "The AI service rejected this server's credentials; the operator needs to check the API key.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(401, "", "application/json", jsonError("invalid token "+testHTTPKey))}
			}},
		{name: "403 is the credentials", wantCalls: 1,
			wantMsg: "The AI service rejected this server's credentials; the operator needs to check the API key.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(403, "", "text/plain", "forbidden")}
			}},
		{name: "the key is redacted from a message", wantCalls: 1,
			wantMsg: "The AI service could not do this edit: token [redacted] has no access to model sdxl.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(400, "", "application/json", jsonError("token "+testHTTPKey+" has no access to model sdxl"))}
			}},
		{name: "200 with JSON instead of an image", wantCalls: 1, wantMsg: "The AI service answered without an image; please try again.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(200, "", "application/json", `{"status":"ok"}`)}
			}},
		{name: "200 with an empty body", wantCalls: 1, wantMsg: "The AI service answered without an image; please try again.",
			answers: func(*testing.T) []http.HandlerFunc { return []http.HandlerFunc{answer(200, "", "image/png", "")} }},
		{name: "200 with a broken image", wantCalls: 1, wantMsg: "The AI service sent an image that could not be read.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{answer(200, "", "image/png", "\x89PNG\r\n\x1a\nnot really")}
			}},
		{name: "timeout", wantCalls: 3, timeout: 100 * time.Millisecond,
			wantMsg: "The AI service did not answer within 100ms; please try again later.",
			answers: func(*testing.T) []http.HandlerFunc {
				return []http.HandlerFunc{func(_ http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-time.After(2 * time.Second):
					}
				}}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls, _ := fakeEditService(t, tc.answers(t)...)
			start := time.Now()
			out, err := newTestHTTP(t, srv.URL, testHTTPKey, cmpDur(tc.timeout, 5*time.Second)).Compose(context.Background(), aiInput(), nil)
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
				if out.Rect != image.Rect(0, 0, 160, 100) {
					t.Fatalf("result %v, want 160×100", out.Rect)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Message != tc.wantMsg {
				t.Fatalf("err = %v, want Failure %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), testHTTPKey) {
				t.Fatalf("the API key leaked into the error: %v", err)
			}
		})
	}
}

// TestHTTPUnreachable: a refused connection is retried, then a Failure.
func TestHTTPUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newTestHTTP(t, url, "", time.Second).Compose(context.Background(), aiInput(), nil)
	if UserMessage(err) != "The AI service could not be reached; please try again later." {
		t.Fatalf("err = %v", err)
	}
}

// TestHTTPCancel: a cancelled job ends at once with ctx's error, not a Failure.
func TestHTTPCancel(t *testing.T) {
	t.Parallel()
	srv, _, _ := fakeEditService(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := newTestHTTP(t, srv.URL, "", 5*time.Second).Compose(ctx, aiInput(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestHTTPProblemMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ctype, body, want string }{
		{"application/json", `{"error":"no face found"}`, "no face found"},
		{"application/json", `{"error":{"message":"no face found","code":7}}`, "no face found"},
		{"application/problem+json", `{"title":"Bad Request","detail":"no face found"}`, "no face found"},
		{"application/json", `{"detail":[{"loc":["prompt"],"msg":"field required"}]}`, ""},
		{"text/plain; charset=utf-8", "no face found\nat line 3", "no face found"},
		{"text/html", "<p>no face found</p>", ""},
		{"", "", ""},
	} {
		h := http.Header{"Content-Type": {tc.ctype}}
		if got := (httpDialect{}).problem(h, []byte(tc.body)).Message; got != tc.want {
			t.Errorf("problem(%s %s) = %q, want %q", tc.ctype, tc.body, got, tc.want)
		}
	}
}

// TestHTTPLongMessageIsClipped: a user reads at most a few lines of the
// service's words, and never part of the key.
func TestHTTPLongMessageIsClipped(t *testing.T) {
	t.Parallel()
	// The clip falls within the key: clipping before redacting would leak
	// its first characters.
	long := strings.Repeat("word ", 58) + testHTTPKey + strings.Repeat(" tail", 100)
	srv, _, _ := fakeEditService(t, answer(400, "", "application/json", jsonError(long)))
	_, err := newTestHTTP(t, srv.URL, testHTTPKey, time.Second).Compose(context.Background(), aiInput(), nil)
	msg := UserMessage(err)
	if n := len([]rune(msg)); n > 350 || !strings.HasSuffix(msg, "…") || strings.Contains(msg, testHTTPKey[:6]) {
		t.Fatalf("message (%d runes) %q", n, msg)
	}
}

func TestNewHTTPConfig(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "inpaint:8080/edit", "ftp://inpaint/edit", "http://", "http://[::1"} {
		if _, err := NewHTTP(HTTPConfig{URL: u}, nil, nil); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	h, err := NewHTTP(HTTPConfig{URL: "https://inpaint.example/v2/edit?model=lama"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := h.cfg; c.url != "https://inpaint.example/v2/edit?model=lama" || c.maxEdge != DefaultRemoteEdge ||
		c.timeout != DefaultRemoteTimeout || c.maxAttempts != 1 || c.apiKey != "" {
		t.Errorf("defaults: %+v", c)
	}
}
