package compose

import (
	"bytes"
	"context"
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
	"unicode/utf8"

	"github.com/easelhq/easel/internal/imaging"
)

// Defaults shared by the remote backends' zero fields.
const (
	DefaultRemoteTimeout = 120 * time.Second
	DefaultRemoteEdge    = 1024
)

const (
	// maxAnswerBytes bounds what is read of one answer.
	maxAnswerBytes = 64 << 20
	// maxResultPixels bounds a decoded result.
	maxResultPixels = 64 << 20
	// maxProviderMessage bounds the provider's words quoted to a user.
	maxProviderMessage = 300
)

// dialect is what differs between remote image-edit APIs. Everything else
// (scaling, retries, Retry-After, backoff, timeouts, error sentences, key
// redaction, restoring the size) is remote's.
type dialect interface {
	// encode builds the request body from the scaled image, the mask (nil,
	// or exactly img's size) and the prompt, and returns it with its
	// Content-Type. It runs once per composite: every attempt resends the
	// same bytes.
	encode(img, mask *image.NRGBA, prompt string) (body []byte, contentType string, err error)
	// decode reads the image out of a 200 answer. Errors are *Failure
	// values, or ctx's error.
	decode(ctx context.Context, h http.Header, body []byte) (*image.NRGBA, error)
	// problem reads the provider's explanation out of a non-200 answer. A
	// body it cannot read gives the zero value, never an error.
	problem(h http.Header, body []byte) providerError
}

// providerError is what a provider said about a request it did not do.
type providerError struct {
	// Message is the provider's own words ("" when it gave none); remote
	// redacts and shortens it before a user sees it.
	Message string
	// Detail is extra context for the log only, such as error codes.
	Detail string
	// Refused means the provider's safety system turned the request down.
	Refused bool
}

// remoteConfig is what the shared machinery needs; OpenAIConfig and
// HTTPConfig map onto it.
type remoteConfig struct {
	name   string // the backend, in log lines
	url    string // every attempt POSTs here
	accept string // the Accept header
	// apiKey is sent as a bearer token when set.
	apiKey                                 string
	timeout                                time.Duration
	maxAttempts                            int
	backoffBase, backoffMax, maxRetryAfter time.Duration
	maxEdge                                int
}

// remote is a Compositor for the ai mode that sends the image to an HTTP
// image-edit service, in the request format of its dialect.
type remote struct {
	cfg     remoteConfig
	dialect dialect
	client  *http.Client
	log     *slog.Logger
	// sleep waits between attempts; tests may shorten it.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a random duration in [0, d).
	jitter func(d time.Duration) time.Duration
}

// newRemote fills cfg's zero fields with the defaults.
func newRemote(cfg remoteConfig, d dialect, client *http.Client, log *slog.Logger) remote {
	if cfg.timeout <= 0 {
		cfg.timeout = DefaultRemoteTimeout
	}
	cfg.maxAttempts = max(cfg.maxAttempts, 1)
	if cfg.backoffBase <= 0 {
		cfg.backoffBase = 500 * time.Millisecond
	}
	if cfg.backoffMax <= 0 {
		cfg.backoffMax = 20 * time.Second
	}
	if cfg.maxRetryAfter <= 0 {
		cfg.maxRetryAfter = 60 * time.Second
	}
	if cfg.maxEdge <= 0 {
		cfg.maxEdge = DefaultRemoteEdge
	}
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return remote{cfg: cfg, dialect: d, client: client, log: log, sleep: sleepCtx, jitter: randomJitter}
}

// Compose implements Compositor for the ai mode.
func (r *remote) Compose(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error) {
	if in.Request.Mode != ModeAI {
		return nil, &Failure{Message: fmt.Sprintf("The AI backend does not do %q.", in.Request.Mode)}
	}
	report(progress, 0)
	src := normalized(in.Image)
	small, mask, err := r.scaleDown(ctx, src, in.Mask)
	if err != nil {
		return nil, err
	}
	body, ctype, err := r.dialect.encode(small, mask, in.Request.Prompt)
	if err != nil {
		return nil, err
	}
	report(progress, 0.1)
	var last error
	for attempt := 1; attempt <= r.cfg.maxAttempts; attempt++ {
		img, wait, err := r.call(ctx, body, ctype)
		if err == nil {
			report(progress, 0.9)
			return r.restore(ctx, img, src.Rect.Dx(), src.Rect.Dy())
		}
		last = err
		if wait < 0 || attempt == r.cfg.maxAttempts || ctx.Err() != nil {
			break
		}
		if wait == 0 {
			wait = r.backoff(attempt)
		}
		r.log.WarnContext(ctx, "ai call failed; retrying", "backend", r.cfg.name, "attempt", attempt,
			"wait", wait.String(), "err", r.redact(err.Error()))
		if err := r.sleep(ctx, wait); err != nil {
			return nil, err
		}
		report(progress, 0.1+0.1*float64(attempt))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, last
}

// scaleDown returns src with its long edge at most maxEdge, and the mask
// (if any) at exactly that size, as the providers expect the two to match.
func (r *remote) scaleDown(ctx context.Context, src, mask *image.NRGBA) (*image.NRGBA, *image.NRGBA, error) {
	small, err := imaging.Preview(ctx, src, r.cfg.maxEdge)
	if err != nil {
		return nil, nil, err
	}
	if mask == nil {
		return small, nil, nil
	}
	mask = normalized(mask)
	w, h := small.Rect.Dx(), small.Rect.Dy()
	if mask.Rect.Dx() == w && mask.Rect.Dy() == h {
		return small, mask, nil
	}
	mask, err = imaging.Op{Op: imaging.OpResize, Width: w, Height: h, Fit: imaging.FitFill}.Apply(ctx, mask)
	if err != nil {
		return nil, nil, fmt.Errorf("scaling the mask: %w", err)
	}
	return small, normalized(mask), nil
}

// call makes one attempt. wait < 0 means the error is final; 0 means
// retry after the usual backoff; > 0 is the provider's Retry-After.
func (r *remote) call(ctx context.Context, body []byte, ctype string) (*image.NRGBA, time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, r.cfg.url, bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("building ai request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", r.cfg.accept)
	if r.cfg.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.apiKey)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		if cctx.Err() != nil {
			return nil, 0, r.timedOut(err)
		}
		return nil, 0, &Failure{Message: "The AI service could not be reached; please try again later.", Err: errors.New(r.redact(err.Error()))}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, 0, r.timedOut(err)
		}
		return nil, 0, &Failure{Message: "The AI service's answer was cut off; please try again.", Err: errors.New(r.redact(err.Error()))}
	}
	if resp.StatusCode != http.StatusOK {
		wait, err := r.failure(resp, data)
		return nil, wait, err
	}
	img, err := r.dialect.decode(ctx, resp.Header, data)
	if err != nil {
		return nil, -1, err
	}
	return img, 0, nil
}

// timedOut is the Failure of an attempt that ran past the per-call deadline.
func (r *remote) timedOut(err error) error {
	return &Failure{Message: fmt.Sprintf("The AI service did not answer within %s; please try again later.", r.cfg.timeout),
		Err: errors.New(r.redact(err.Error()))}
}

// failure turns a non-200 answer into a Failure and a retry decision: 429
// and 5xx are retried (after Retry-After when given), the rest is final.
func (r *remote) failure(resp *http.Response, data []byte) (time.Duration, error) {
	pe := r.dialect.problem(resp.Header, data)
	// Redact before clipping: a cut could leave part of the key behind.
	msg := clip(r.redact(strings.TrimSpace(pe.Message)), maxProviderMessage)
	detail := ""
	if pe.Detail != "" {
		detail = " (" + r.redact(pe.Detail) + ")"
	}
	cause := fmt.Errorf("ai service answered %d%s: %s", resp.StatusCode, detail, msg)
	sentence := func(prefix string) string {
		if msg == "" {
			return prefix + "."
		}
		if strings.HasSuffix(msg, "…") {
			return prefix + ": " + msg
		}
		return prefix + ": " + strings.TrimRight(msg, ".") + "."
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return r.retryAfter(resp), &Failure{Message: "The AI service is busy (too many requests); please try again in a minute.", Err: cause}
	case resp.StatusCode >= 500:
		return r.retryAfter(resp), &Failure{Message: "The AI service is having trouble right now; please try again later.", Err: cause}
	case pe.Refused:
		return -1, &Failure{Message: sentence("The AI service refused this request"), Err: cause}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return -1, &Failure{Message: "The AI service rejected this server's credentials; the operator needs to check the API key.", Err: cause}
	default:
		return -1, &Failure{Message: sentence("The AI service could not do this edit"), Err: cause}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped; 0 when
// absent.
func (r *remote) retryAfter(resp *http.Response) time.Duration {
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
	return min(d, r.cfg.maxRetryAfter)
}

// backoff is the wait before attempt+1: full jitter over an exponentially
// growing, capped window.
func (r *remote) backoff(attempt int) time.Duration {
	window := min(r.cfg.backoffMax, r.cfg.backoffBase<<min(attempt-1, 20))
	return window/2 + r.jitter(window/2)
}

// redact removes the API key from text.
func (r *remote) redact(s string) string {
	if r.cfg.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, r.cfg.apiKey, "[redacted]")
}

// restore scales the provider's result to the input's size (cover, so the
// aspect ratio is kept and the centre is cropped if the provider's size
// differs).
func (r *remote) restore(ctx context.Context, img *image.NRGBA, w, h int) (*image.NRGBA, error) {
	if img.Rect.Dx() == w && img.Rect.Dy() == h {
		return normalized(img), nil
	}
	out, err := imaging.Op{Op: imaging.OpResize, Width: w, Height: h, Fit: imaging.FitCover}.Apply(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("scaling the ai result: %w", err)
	}
	return normalized(out), nil
}

// decodeResult decodes the image bytes a provider sent. It runs inside
// Execute, whose memory reservation covers it (jobBytes counts the output).
func decodeResult(ctx context.Context, raw []byte) (*image.NRGBA, error) {
	img, _, err := imaging.Decode(ctx, raw, imaging.Limits{MaxPixels: maxResultPixels})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Failure{Message: "The AI service sent an image that could not be read.", Err: err}
	}
	return img, nil
}

// multipartForm encodes img and mask (when set) as PNG file parts named
// "image" and "mask", then the text fields in order.
func multipartForm(img, mask *image.NRGBA, fields ...[2]string) ([]byte, string, error) {
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
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", fmt.Errorf("building ai request: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("building ai request: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// clip shortens s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
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
