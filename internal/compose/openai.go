package compose

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/imaging"
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
	DefaultOpenAITimeout = 120 * time.Second
	DefaultOpenAIEdge    = 1024
)

// DefaultOpenAISizes are the sizes gpt-image-1 accepts.
func DefaultOpenAISizes() []string { return []string{"1024x1024", "1536x1024", "1024x1536"} }

// OpenAI is a Compositor that calls POST {base}/v1/images/edits.
type OpenAI struct {
	cfg    OpenAIConfig
	client *http.Client
	log    *slog.Logger
	// sleep waits between attempts; tests may shorten it.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a random duration in [0, d).
	jitter func(d time.Duration) time.Duration
}

// NewOpenAI returns an OpenAI compositor. client may be nil (a default
// client is used; the per-call deadline comes from cfg.Timeout either way).
func NewOpenAI(cfg OpenAIConfig, client *http.Client, log *slog.Logger) (*OpenAI, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("openai compositor: no base URL configured")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("openai compositor: no API key configured")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/v1")
	if cfg.Model == "" {
		cfg.Model = DefaultOpenAIModel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultOpenAITimeout
	}
	cfg.MaxAttempts = max(cfg.MaxAttempts, 1)
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 20 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.MaxEdge <= 0 {
		cfg.MaxEdge = DefaultOpenAIEdge
	}
	if len(cfg.Sizes) == 0 {
		cfg.Sizes = DefaultOpenAISizes()
	}
	for _, s := range cfg.Sizes {
		if _, _, ok := parseSize(s); !ok {
			return nil, fmt.Errorf("openai compositor: size %q is not WxH", s)
		}
	}
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &OpenAI{cfg: cfg, client: client, log: log, sleep: sleepCtx, jitter: randomJitter}, nil
}

// Compose implements Compositor for the ai mode.
func (o *OpenAI) Compose(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	if in.Request.Mode != ModeAI {
		return nil, &Failure{Message: fmt.Sprintf("The AI backend does not do %q.", in.Request.Mode)}
	}
	report(progress, 0)
	src := normalized(in.Image)
	small, err := imaging.Preview(ctx, src, o.cfg.MaxEdge)
	if err != nil {
		return nil, err
	}
	size := o.chooseSize(small.Rect.Dx(), small.Rect.Dy())
	body, ctype, err := o.form(small, in.Mask, in.Request.Prompt, size)
	if err != nil {
		return nil, err
	}
	report(progress, 0.1)
	var last error
	for attempt := 1; attempt <= o.cfg.MaxAttempts; attempt++ {
		img, wait, err := o.call(ctx, body, ctype)
		if err == nil {
			report(progress, 0.9)
			return o.restore(ctx, img, src.Rect.Dx(), src.Rect.Dy())
		}
		last = err
		if wait < 0 || attempt == o.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		if wait == 0 {
			wait = o.backoff(attempt)
		}
		o.log.WarnContext(ctx, "ai call failed; retrying", "attempt", attempt, "wait", wait.String(), "err", o.redact(err.Error()))
		if err := o.sleep(ctx, wait); err != nil {
			return nil, err
		}
		report(progress, 0.1+0.1*float64(attempt))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, last
}

// call makes one attempt. wait < 0 means the error is final; 0 means
// retry after the usual backoff; > 0 is the provider's Retry-After.
func (o *OpenAI) call(ctx context.Context, body []byte, ctype string) (*image.NRGBA, time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, o.cfg.BaseURL+"/v1/images/edits", bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("building ai request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		if cctx.Err() != nil {
			return nil, 0, &Failure{Message: fmt.Sprintf("The AI service did not answer within %s; please try again later.", o.cfg.Timeout), Err: errors.New(o.redact(err.Error()))}
		}
		return nil, 0, &Failure{Message: "The AI service could not be reached; please try again later.", Err: errors.New(o.redact(err.Error()))}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, 0, &Failure{Message: fmt.Sprintf("The AI service did not answer within %s; please try again later.", o.cfg.Timeout), Err: err}
		}
		return nil, 0, &Failure{Message: "The AI service's answer was cut off; please try again.", Err: errors.New(o.redact(err.Error()))}
	}
	if resp.StatusCode != http.StatusOK {
		return o.providerError(resp, data)
	}
	img, err := o.decodeResult(ctx, data)
	if err != nil {
		return nil, -1, err
	}
	return img, 0, nil
}

// providerError turns a non-200 answer into a Failure and a retry decision.
func (o *OpenAI) providerError(resp *http.Response, data []byte) (*image.NRGBA, time.Duration, error) {
	var pe struct {
		Error struct {
			Code    any    `json:"code"`
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &pe) // a body that is not JSON leaves pe empty
	msg := o.redact(strings.TrimSpace(pe.Error.Message))
	code := fmt.Sprint(pe.Error.Code)
	cause := fmt.Errorf("ai service answered %d (code %s, type %s): %s", resp.StatusCode, code, pe.Error.Type, msg)
	sentence := func(prefix string) string {
		if msg == "" {
			return prefix + "."
		}
		return prefix + ": " + strings.TrimRight(msg, ".") + "."
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, o.retryAfter(resp), &Failure{Message: "The AI service is busy (too many requests); please try again in a minute.", Err: cause}
	case resp.StatusCode >= 500:
		return nil, o.retryAfter(resp), &Failure{Message: "The AI service is having trouble right now; please try again later.", Err: cause}
	case isContentFilter(code, pe.Error.Type, msg):
		return nil, -1, &Failure{Message: sentence("The AI service refused this request"), Err: cause}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, -1, &Failure{Message: "The AI service rejected this server's credentials; the operator needs to check the API key.", Err: cause}
	default:
		return nil, -1, &Failure{Message: sentence("The AI service could not do this edit"), Err: cause}
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

// retryAfter reads Retry-After (seconds or an HTTP date), capped; 0 when
// absent.
func (o *OpenAI) retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		d = time.Duration(s * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d <= 0 {
		return time.Millisecond // "now": retry at once, not after the backoff
	}
	return min(d, o.cfg.MaxRetryAfter)
}

// backoff is the wait before attempt+1: full jitter over an exponentially
// growing, capped window.
func (o *OpenAI) backoff(attempt int) time.Duration {
	window := min(o.cfg.BackoffMax, o.cfg.BackoffBase<<min(attempt-1, 20))
	return window/2 + o.jitter(window/2)
}

// redact removes the API key from text.
func (o *OpenAI) redact(s string) string {
	if o.cfg.APIKey == "" {
		return s
	}
	return strings.ReplaceAll(s, o.cfg.APIKey, "[redacted]")
}

// chooseSize picks the configured size whose aspect ratio is nearest w/h.
func (o *OpenAI) chooseSize(w, h int) string {
	best, bestDiff := o.cfg.Sizes[0], math.Inf(1)
	for _, s := range o.cfg.Sizes {
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

// form encodes the multipart body: image (PNG), optional mask (PNG),
// prompt, model, size, n=1.
func (o *OpenAI) form(img, mask *image.NRGBA, prompt, size string) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	files := []struct {
		field string
		img   *image.NRGBA
	}{{"image", img}, {"mask", mask}}
	for _, f := range files {
		if f.img == nil {
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="%s.png"`, f.field, f.field))
		h.Set("Content-Type", "image/png")
		part, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", fmt.Errorf("building ai request: %w", err)
		}
		if err := imaging.Encode(part, f.img, imaging.FormatPNG, 0); err != nil {
			return nil, "", fmt.Errorf("encoding %s for the ai service: %w", f.field, err)
		}
	}
	for _, kv := range [][2]string{{"prompt", prompt}, {"model", o.cfg.Model}, {"size", size}, {"n", "1"}} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", fmt.Errorf("building ai request: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("building ai request: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// decodeResult reads data[0].b64_json and decodes the image.
func (o *OpenAI) decodeResult(ctx context.Context, data []byte) (*image.NRGBA, error) {
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
	img, _, err := imaging.Decode(ctx, raw, imaging.Limits{MaxPixels: 64 << 20})
	if err != nil {
		return nil, &Failure{Message: "The AI service sent an image that could not be read.", Err: err}
	}
	return img, nil
}

// restore scales the provider's result to the input's size (cover, so the
// aspect ratio is kept and the centre is cropped if the provider's size
// differs).
func (o *OpenAI) restore(ctx context.Context, img *image.NRGBA, w, h int) (*image.NRGBA, error) {
	if img.Rect.Dx() == w && img.Rect.Dy() == h {
		return normalized(img), nil
	}
	out, err := imaging.Op{Op: imaging.OpResize, Width: w, Height: h, Fit: imaging.FitCover}.Apply(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("scaling the ai result: %w", err)
	}
	return normalized(out), nil
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
