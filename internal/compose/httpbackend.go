package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPConfig configures the http compositor: a self-hosted image-edit
// service (an in-cluster inpainting model, say) that speaks the protocol
// described on HTTP.
type HTTPConfig struct {
	// URL is where every edit is POSTed, e.g. http://inpaint.default.svc:8080/edit.
	URL string
	// APIKey, when set, is sent as a bearer token; it is never logged and
	// is redacted from any error text. Without it no Authorization header
	// is sent.
	APIKey string
	// Timeout bounds each HTTP attempt (the per-call deadline).
	Timeout time.Duration
	// MaxAttempts is how many times one composite is tried (≥ 1).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff (with full
	// jitter) between attempts; a Retry-After header wins, up to
	// MaxRetryAfter.
	BackoffBase, BackoffMax, MaxRetryAfter time.Duration
	// MaxEdge is the longest side sent to the service; larger inputs are
	// scaled down first, and the result is scaled back to the input's size.
	MaxEdge int
}

// HTTP is a Compositor for a self-hosted image-edit service. The protocol:
//
// Request: POST {URL}, multipart/form-data with the parts "image" (PNG, the
// current image scaled so its long edge is at most MaxEdge), "mask" (PNG of
// the same size, optional: transparent where the model may paint) and
// "prompt" (text); Accept: image/png, image/jpeg, image/webp; and
// Authorization: Bearer {APIKey} when a key is configured.
//
// Answer: 200 with the edited image as the body (PNG, JPEG or WebP; any
// size, it is scaled back to the input's). Anything else is an error, whose
// message is read from a JSON body {"error": "…"} (or {"error": {"message":
// "…"}}), an application/problem+json {"detail": "…"}, or a text/plain
// body. 429 and 5xx are retried (after Retry-After when given), 401 and 403
// mean the key is wrong or missing, and any other status is final, with the
// service's message shown to the user.
type HTTP struct{ remote }

// NewHTTP returns an http compositor. client may be nil (a default client
// is used; the per-call deadline comes from cfg.Timeout either way).
func NewHTTP(cfg HTTPConfig, client *http.Client, log *slog.Logger) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("http compositor: no http(s) URL configured")
	}
	return &HTTP{newRemote(remoteConfig{
		name: BackendHTTP, url: cfg.URL, accept: "image/png, image/jpeg, image/webp", apiKey: cfg.APIKey,
		timeout: cfg.Timeout, maxAttempts: cfg.MaxAttempts, backoffBase: cfg.BackoffBase, backoffMax: cfg.BackoffMax,
		maxRetryAfter: cfg.MaxRetryAfter, maxEdge: cfg.MaxEdge,
	}, httpDialect{}, client, log)}, nil
}

// httpDialect speaks the protocol documented on HTTP.
type httpDialect struct{}

// encode sends image (PNG), optional mask (PNG) and prompt.
func (httpDialect) encode(img, mask *image.NRGBA, prompt string) ([]byte, string, error) {
	return multipartForm(img, mask, [2]string{"prompt", prompt})
}

// decode reads the body as an image, by its content (not its Content-Type).
func (httpDialect) decode(ctx context.Context, h http.Header, data []byte) (*image.NRGBA, error) {
	ct := h.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(data) == 0 || (mt != "" && !strings.HasPrefix(mt, "image/") && mt != "application/octet-stream") {
		return nil, &Failure{Message: "The AI service answered without an image; please try again.",
			Err: fmt.Errorf("the answer is %d bytes of %q, not an image", len(data), ct)}
	}
	return decodeResult(ctx, data)
}

// problem reads {"error": "…"}, {"error": {"message": "…"}},
// {"detail": "…"} (problem+json, and FastAPI's errors) or a text/plain body.
func (httpDialect) problem(h http.Header, data []byte) providerError {
	var body struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(data, &body) == nil {
		for _, raw := range []json.RawMessage{body.Error, body.Detail} {
			if msg := jsonMessage(raw); msg != "" {
				return providerError{Message: msg}
			}
		}
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "text/plain" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		return providerError{Message: line}
	}
	return providerError{}
}

// jsonMessage returns raw as a string, or its "message" when it is an
// object; "" otherwise.
func jsonMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Message
	}
	return ""
}
