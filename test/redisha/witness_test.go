package redisha

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"sync"
	"time"
)

// witness is a user whose workspace the test knows exactly: it uploads an
// image of its own and applies two edits through the JSON API, and after
// the failover it reads the workspace back. The probe's users cannot be
// asked afterwards what they had; witnesses can.
type witness struct {
	id     int
	base   string
	client *http.Client
	csrf   string
	digest string
	edits  int
}

// witnessEdits are the edits every witness applies, in order.
var witnessEdits = []string{`{"op":"rotate","angle":90}`, `{"op":"brightness","amount":0.1}`}

func newWitness(id int, base string) *witness {
	jar, _ := cookiejar.New(nil)
	return &witness{id: id, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// createWitnesses creates n witnesses' workspaces concurrently.
func createWitnesses(ctx context.Context, base string, n int) ([]*witness, error) {
	ws := make([]*witness, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = newWitness(i, base)
		wg.Go(func() { errs[i] = ws[i].create(ctx) })
	}
	wg.Wait()
	return ws, errors.Join(errs...)
}

// create uploads the witness's image and applies witnessEdits.
func (w *witness) create(ctx context.Context) error {
	doc, err := w.workspace(ctx)
	if err != nil {
		return err
	}
	w.csrf = doc.CSRF
	img, err := witnessPNG(w.id)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="image"; filename="witness-%d.png"`, w.id))
	h.Set("Content-Type", "image/png")
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := part.Write(img); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	var info struct {
		Digest string `json:"digest"`
	}
	if err := w.call(ctx, http.MethodPost, "/api/v1/image", mw.FormDataContentType(), &body, http.StatusCreated, &info); err != nil {
		return err
	}
	sum := sha256.Sum256(img)
	if w.digest = hex.EncodeToString(sum[:]); info.Digest != w.digest {
		return fmt.Errorf("witness %d: upload digest %s, want %s", w.id, info.Digest, w.digest)
	}
	for _, e := range witnessEdits {
		var doc workspaceDoc
		if err := w.call(ctx, http.MethodPost, "/api/v1/workspace/edits", "application/json", bytes.NewBufferString(e), http.StatusOK, &doc); err != nil {
			return err
		}
		w.edits++
		if len(doc.Edits) != w.edits {
			return fmt.Errorf("witness %d: %d edits after edit %d", w.id, len(doc.Edits), w.edits)
		}
	}
	return nil
}

// verify reads the workspace back, retrying a 503 for up to a few seconds,
// and checks that the session is known and holds the image and both edits.
func (w *witness) verify(ctx context.Context) error {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		doc, err := w.workspace(ctx)
		var unavailable errUnavailable
		if errors.As(err, &unavailable) {
			lastErr = err
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case doc.session != "hit":
			return fmt.Errorf("witness %d: X-Session %q, want hit (the session is gone)", w.id, doc.session)
		case doc.Image == nil || doc.Image.Digest != w.digest:
			return fmt.Errorf("witness %d: image %+v, want digest %.12s", w.id, doc.Image, w.digest)
		case len(doc.Edits) != w.edits || doc.Cursor != w.edits:
			return fmt.Errorf("witness %d: %d edits, cursor %d; want %d and %d", w.id, len(doc.Edits), doc.Cursor, w.edits, w.edits)
		}
		return nil
	}
	return lastErr
}

// workspaceDoc is what the witness reads of GET /api/v1/workspace.
type workspaceDoc struct {
	CSRF  string `json:"csrf_token"`
	Image *struct {
		Digest string `json:"digest"`
	} `json:"image"`
	Edits   []json.RawMessage `json:"edits"`
	Cursor  int               `json:"cursor"`
	session string
}

func (w *witness) workspace(ctx context.Context) (workspaceDoc, error) {
	var doc workspaceDoc
	h, err := w.do(ctx, http.MethodGet, "/api/v1/workspace", "", nil, http.StatusOK, &doc)
	if h != nil {
		doc.session = h.Get("X-Session")
	}
	return doc, err
}

func (w *witness) call(ctx context.Context, method, path, ctype string, body io.Reader, want int, out any) error {
	_, err := w.do(ctx, method, path, ctype, body, want, out)
	return err
}

// errUnavailable is a 503 answer.
type errUnavailable struct{ error }

func (w *witness) do(ctx context.Context, method, path, ctype string, body io.Reader, want int, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if w.csrf != "" {
		req.Header.Set("X-CSRF-Token", w.csrf)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness %d: %s %s: %w", w.id, method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, fmt.Errorf("witness %d: reading %s %s: %w", w.id, method, path, err)
	}
	if resp.StatusCode != want {
		err := fmt.Errorf("witness %d: %s %s: %s, want %d: %.200s", w.id, method, path, resp.Status, want, b)
		if resp.StatusCode == http.StatusServiceUnavailable {
			return resp.Header, errUnavailable{err}
		}
		return resp.Header, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.Header, fmt.Errorf("witness %d: decoding %s %s: %w", w.id, method, path, err)
	}
	return resp.Header, nil
}

// witnessPNG is a 32×24 PNG unique to id.
func witnessPNG(id int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			img.Set(x, y, color.NRGBA{R: uint8(id), G: uint8(id >> 8), B: uint8(x * 8), A: 255})
		}
	}
	img.Set(0, 0, color.NRGBA{R: 1, G: 2, B: 3, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding witness image: %w", err)
	}
	return buf.Bytes(), nil
}
