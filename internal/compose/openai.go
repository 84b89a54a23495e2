package compose

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAIConfig configures the OpenAI-compatible compositor.
type OpenAIConfig struct {
	// BaseURL is the API root, without /v1 (e.g. https://api.openai.com).
	BaseURL string
	// Model is sent as the "model" field (e.g. gpt-image-1).
	Model string
	// APIKey is sent as a bearer token; it is never logged and is redacted
	// from any error text.
	APIKey string
	// Timeout bounds each HTTP attempt (the per-call deadline).
	Timeout time.Duration
	// MaxAttempts is how many times one composite is tried (≥ 1).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff (with full
	// jitter) between attempts; a Retry-After header wins, up to
	// MaxRetryAfter.
	BackoffBase, BackoffMax, MaxRetryAfter time.Duration
	// MaxEdge is the longest side sent to the provider; larger inputs are
	// scaled down first, and the result is scaled back to the input's size.
	MaxEdge int
	// Sizes lists the "size" values the provider accepts, as WxH; the one
	// whose aspect ratio is nearest the input's is sent.
	Sizes []string
}

// Defaults for OpenAIConfig's zero fields.
const (
	DefaultOpenAIModel   = "gpt-image-1"
	DefaultOpenAITimeout = DefaultRemoteTimeout
	DefaultOpenAIEdge    = DefaultRemoteEdge
)

// DefaultOpenAISizes are the sizes gpt-image-1 accepts.
func DefaultOpenAISizes() []string { return []string{"1024x1024", "1536x1024", "1024x1536"} }

// OpenAI is a Compositor that calls POST {base}/v1/images/edits and reads
// the image from data[0].b64_json.
type OpenAI struct{ remote }

// NewOpenAI returns an OpenAI compositor. client may be nil (a default
// client is used; the per-call deadline comes from cfg.Timeout either way).
func NewOpenAI(cfg OpenAIConfig, client *http.Client, log *slog.Logger) (*OpenAI, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("openai compositor: no base URL configured")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("openai compositor: no API key configured")
	}
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1")
	d := openaiDialect{model: cfg.Model, sizes: cfg.Sizes}
	if d.model == "" {
		d.model = DefaultOpenAIModel
	}
	if len(d.sizes) == 0 {
		d.sizes = DefaultOpenAISizes()
	}
	for _, s := range d.sizes {
		if _, _, ok := parseSize(s); !ok {
			return nil, fmt.Errorf("openai compositor: size %q is not WxH", s)
		}
	}
	return &OpenAI{newRemote(remoteConfig{
		name: BackendOpenAI, url: base + "/v1/images/edits", accept: "application/json", apiKey: cfg.APIKey,
		timeout: cfg.Timeout, maxAttempts: cfg.MaxAttempts, backoffBase: cfg.BackoffBase, backoffMax: cfg.BackoffMax,
		maxRetryAfter: cfg.MaxRetryAfter, maxEdge: cfg.MaxEdge,
	}, d, client, log)}, nil
}

// openaiDialect speaks the images/edits API: a multipart form with model,
// size and n beside the image, the mask and the prompt; a JSON answer.
type openaiDialect struct {
	model string
	sizes []string
}

// encode sends image (PNG), optional mask (PNG), prompt, model, size, n=1.
func (d openaiDialect) encode(img, mask *image.NRGBA, prompt string) ([]byte, string, error) {
	size := nearestSize(d.sizes, img.Rect.Dx(), img.Rect.Dy())
	return multipartForm(img, mask, [2]string{"prompt", prompt}, [2]string{"model", d.model},
		[2]string{"size", size}, [2]string{"n", "1"})
}

// decode reads data[0].b64_json and decodes the image.
func (openaiDialect) decode(ctx context.Context, _ http.Header, data []byte) (*image.NRGBA, error) {
	var res struct {
		Data []struct {
			B64 string `json:"b64_json"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Data) == 0 || res.Data[0].B64 == "" {
		return nil, &Failure{Message: "The AI service answered without an image; please try again.", Err: fmt.Errorf("decoding ai answer: %v", err)}
	}
	raw, err := base64.StdEncoding.DecodeString(res.Data[0].B64)
	if err != nil {
		return nil, &Failure{Message: "The AI service sent an image that could not be read.", Err: fmt.Errorf("decoding b64_json: %w", err)}
	}
	return decodeResult(ctx, raw)
}

// problem reads {"error": {"code", "type", "message"}}.
func (openaiDialect) problem(_ http.Header, data []byte) providerError {
	var pe struct {
		Error struct {
			Code    any    `json:"code"`
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &pe) // a body that is not JSON leaves pe empty
	code := fmt.Sprint(pe.Error.Code)
	return providerError{
		Message: pe.Error.Message,
		Detail:  fmt.Sprintf("code %s, type %s", code, pe.Error.Type),
		Refused: isContentFilter(code, pe.Error.Type, pe.Error.Message),
	}
}

// isContentFilter recognises a refusal by the provider's safety system.
func isContentFilter(code, typ, msg string) bool {
	for _, s := range []string{code, typ} {
		switch s {
		case "content_policy_violation", "moderation_blocked", "content_filter", "image_generation_user_error":
			return true
		}
	}
	return strings.Contains(strings.ToLower(msg), "safety system")
}

// nearestSize picks the size (WxH, all valid) whose aspect ratio is nearest w/h.
func nearestSize(sizes []string, w, h int) string {
	best, bestDiff := sizes[0], math.Inf(1)
	for _, s := range sizes {
		sw, sh, _ := parseSize(s)
		diff := math.Abs(math.Log(float64(sw)/float64(sh)) - math.Log(float64(w)/float64(h)))
		if diff < bestDiff {
			best, bestDiff = s, diff
		}
	}
	return best
}

func parseSize(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, "x")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	return w, h, ok && err1 == nil && err2 == nil && w > 0 && h > 0
}
