package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // the download of a photo flow is a JPEG
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// Failure kinds: why a flow did not see the user's own state. They are the
// keys of Result.Errors.
const (
	// KindSessionMiss: the service answered X-Session: miss to a request
	// that carried the user's cookie (it did not know the session).
	KindSessionMiss = "session-miss"
	// KindSessionLost: a request carried the cookie but got a new session.
	KindSessionLost = "session-lost"
	// KindNoImage: the page or API showed no image after the upload.
	KindNoImage = "no-image"
	// KindForeignImage: the page or API showed an image, but not the one
	// this user uploaded.
	KindForeignImage = "foreign-image"
	// KindDigest: the upload response reported a digest that is not the
	// SHA-256 of the uploaded bytes.
	KindDigest = "digest-mismatch"
	// KindEditCount: the edit list did not grow by exactly one per edit.
	KindEditCount = "edit-count"
	// KindDownload: the rendered image was not an image of the expected
	// size.
	KindDownload = "download"
	// KindComposite: a composite job failed, did not end in time, or its
	// result is not the last edit.
	KindComposite = "composite"
	// KindConnection: the request failed at the connection level after all
	// retries.
	KindConnection = "connection"
	// KindContract: a response lacked something the HTTP contract promises
	// (a CSRF token, a Location header, a parsable body).
	KindContract = "contract"
)

// failure says why a flow broke.
type failure struct {
	kind   string
	detail string
}

func fail(kind, format string, args ...any) *failure {
	return &failure{kind: kind, detail: fmt.Sprintf(format, args...)}
}

// flowState carries what one flow knows as it goes.
type flowState struct {
	up       upload
	csrf     string
	current  [2]int // expected width, height of the rendered image
	servedBy []string
	photo    bool // Config.Photo: the download is a JPEG
}

// runFlow runs one flow of cfg.Flow and reports how it went. It stops at
// the first step that did not see the user's own state.
func (u *user) runFlow(ctx context.Context, cfg Config, up upload, iteration int) flowRecord {
	fr := flowRecord{user: u.id, iteration: iteration}
	st := &flowState{up: up, current: [2]int{up.width, up.height}, photo: cfg.Photo}
	fr.start = u.rec.sinceNow()
	var f *failure
	if cfg.Flow == FlowAPI {
		f = u.apiFlow(ctx, cfg, st)
	} else {
		f = u.webFlow(ctx, cfg, st)
	}
	fr.end = u.rec.sinceNow()
	fr.servedBy = st.servedBy
	fr.ok = f == nil
	if f != nil {
		fr.kind, fr.detail = f.kind, f.detail
	}
	return fr
}

// webFlow is the browser's POST-redirect-GET flow of the original bug.
func (u *user) webFlow(ctx context.Context, cfg Config, st *flowState) *failure {
	res := u.get(ctx, "form", "/", "text/html")
	if f := u.check(st, "GET /", res, http.StatusOK); f != nil {
		return f
	}
	p := parsePage(res.body)
	if st.csrf = p.csrf(); st.csrf == "" {
		return fail(KindContract, "GET / has no csrf_token field or csrf-token meta")
	}

	res = u.do(ctx, "upload", u.multipart(http.MethodPost, "/image", st.up, map[string]string{"csrf_token": st.csrf}, ""))
	if f := u.check(st, "POST /image", res, http.StatusSeeOther); f != nil {
		return f
	}
	loc := res.header.Get("Location")
	if loc == "" {
		return fail(KindContract, "POST /image answered 303 without Location")
	}

	res = u.get(ctx, "page", loc, "text/html")
	if f := u.check(st, "GET "+loc, res, http.StatusOK); f != nil {
		return f
	}
	p = parsePage(res.body)
	switch {
	case p.hasImage && p.imageDigest == st.up.digest:
	case p.hasImage && p.imageDigest != "":
		return fail(KindForeignImage, "GET %s (served by %s) shows image %.12s, the user uploaded %.12s", loc, res.servedBy, p.imageDigest, st.up.digest)
	case p.noImage:
		return fail(KindNoImage, "GET %s (served by %s, session %s) shows no image after the upload", loc, res.servedBy, res.session)
	default:
		return fail(KindContract, "GET %s has neither #image with data-digest nor #no-image", loc)
	}
	if t := p.csrf(); t != "" {
		st.csrf = t
	}

	if cfg.Edits > 0 {
		if f := u.editAndVerify(ctx, cfg, st); f != nil {
			return f
		}
	}
	return u.extraSteps(ctx, cfg, st)
}

// apiFlow is the same journey through the JSON API only.
func (u *user) apiFlow(ctx context.Context, cfg Config, st *flowState) *failure {
	res := u.get(ctx, "csrf", "/api/v1/workspace", "application/json")
	if f := u.check(st, "GET /api/v1/workspace", res, http.StatusOK); f != nil {
		return f
	}
	var ws workspaceDoc
	if err := json.Unmarshal(res.body, &ws); err != nil {
		return fail(KindContract, "GET /api/v1/workspace: decoding: %v", err)
	}
	if st.csrf = ws.CSRFToken; st.csrf == "" {
		return fail(KindContract, "GET /api/v1/workspace has no csrf_token")
	}

	res = u.do(ctx, "upload", u.multipart(http.MethodPost, "/api/v1/image", st.up, nil, st.csrf))
	if f := u.check(st, "POST /api/v1/image", res, http.StatusCreated); f != nil {
		return f
	}
	var info imageInfo
	if err := json.Unmarshal(res.body, &info); err != nil {
		return fail(KindContract, "POST /api/v1/image: decoding: %v", err)
	}
	if info.Digest != st.up.digest {
		return fail(KindDigest, "POST /api/v1/image reported digest %.12s for bytes whose SHA-256 is %.12s", info.Digest, st.up.digest)
	}
	if f := u.editAndVerify(ctx, cfg, st); f != nil {
		return f
	}
	return u.extraSteps(ctx, cfg, st)
}

// extraSteps runs the optional end of both flows: a composite job and a
// download.
func (u *user) extraSteps(ctx context.Context, cfg Config, st *flowState) *failure {
	if cfg.Composite {
		if f := u.composite(ctx, st); f != nil {
			return f
		}
	}
	if cfg.Download {
		return u.download(ctx, st)
	}
	return nil
}

// editAndVerify reads the workspace (it must hold the user's image), applies
// cfg.Edits edits checking that the list grows by one each time, and reads
// the workspace again to check the final count. With no edits it only reads
// the workspace once.
func (u *user) editAndVerify(ctx context.Context, cfg Config, st *flowState) *failure {
	ws, f := u.workspace(ctx, "workspace", st)
	if f != nil {
		return f
	}
	if cfg.Edits == 0 {
		return nil
	}
	want := len(ws.Edits)
	ops := editOps()
	for i := 0; i < cfg.Edits; i++ {
		body, err := json.Marshal(ops[i%len(ops)])
		if err != nil {
			return fail(KindContract, "encoding edit: %v", err)
		}
		res := u.do(ctx, "edit", func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base.JoinPath("/api/v1/workspace/edits").String(), bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set(headerCSRF, st.csrf)
			return req, nil
		})
		if f := u.check(st, "POST /api/v1/workspace/edits", res, http.StatusOK); f != nil {
			return f
		}
		var got workspaceDoc
		if err := json.Unmarshal(res.body, &got); err != nil {
			return fail(KindContract, "POST /api/v1/workspace/edits: decoding: %v", err)
		}
		want++
		switch n := len(got.Edits); {
		case n == want:
		case n == want+1 && res.attempts > 1:
			// A retried edit whose first attempt reached the service before
			// the connection broke is applied twice, as it would be for a
			// browser user pressing the button again.
			want = n
			u.rec.duplicateEdit()
		default:
			return fail(KindEditCount, "POST /api/v1/workspace/edits (served by %s): %d edits, want %d", res.servedBy, n, want)
		}
		if f := st.checkImage("POST /api/v1/workspace/edits", res.servedBy, got.Image); f != nil {
			return f
		}
		st.setCurrent(got)
	}
	ws, f = u.workspace(ctx, "verify", st)
	if f != nil {
		return f
	}
	if len(ws.Edits) != want {
		return fail(KindEditCount, "GET /api/v1/workspace after %d edits: %d edits, want %d", cfg.Edits, len(ws.Edits), want)
	}
	return nil
}

// workspace GETs the workspace and checks that it holds the user's image.
func (u *user) workspace(ctx context.Context, step string, st *flowState) (workspaceDoc, *failure) {
	var ws workspaceDoc
	res := u.get(ctx, step, "/api/v1/workspace", "application/json")
	if f := u.check(st, "GET /api/v1/workspace", res, http.StatusOK); f != nil {
		return ws, f
	}
	if err := json.Unmarshal(res.body, &ws); err != nil {
		return ws, fail(KindContract, "GET /api/v1/workspace: decoding: %v", err)
	}
	if f := st.checkImage("GET /api/v1/workspace", res.servedBy, ws.Image); f != nil {
		return ws, f
	}
	if ws.CSRFToken != "" {
		st.csrf = ws.CSRFToken
	}
	st.setCurrent(ws)
	return ws, nil
}

// download fetches the full-size rendering (PNG, or JPEG for photos) and
// checks its size.
func (u *user) download(ctx context.Context, st *flowState) *failure {
	want := "png"
	if st.photo {
		want = "jpeg"
	}
	path := "/api/v1/workspace/render?size=full&format=" + want
	res := u.get(ctx, "download", path, "image/"+want)
	if f := u.check(st, "GET "+path, res, http.StatusOK); f != nil {
		return f
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(res.body))
	if err != nil {
		return fail(KindDownload, "GET %s (served by %s): not an image: %v", path, res.servedBy, err)
	}
	if format != want || cfg.Width != st.current[0] || cfg.Height != st.current[1] {
		return fail(KindDownload, "GET %s (served by %s): %s %dx%d, want %s %dx%d",
			path, res.servedBy, format, cfg.Width, cfg.Height, want, st.current[0], st.current[1])
	}
	return nil
}

// checkImage checks that the API shows the user's own image.
func (st *flowState) checkImage(what, servedBy string, img *imageInfo) *failure {
	switch {
	case img == nil:
		return fail(KindNoImage, "%s (served by %s) has no image after the upload", what, servedBy)
	case img.Digest != st.up.digest:
		return fail(KindForeignImage, "%s (served by %s) shows image %.12s, the user uploaded %.12s", what, servedBy, img.Digest, st.up.digest)
	}
	return nil
}

// setCurrent remembers the size the rendered image should have.
func (st *flowState) setCurrent(ws workspaceDoc) {
	if ws.Current != nil && ws.Current.Width > 0 && ws.Current.Height > 0 {
		st.current = [2]int{ws.Current.Width, ws.Current.Height}
	}
}

// check turns a response into a failure, or nil when the step saw the
// user's own session and the wanted status. A session miss is reported in
// preference to the status it causes (a miss on POST /image usually shows
// as a CSRF rejection).
func (u *user) check(st *flowState, what string, res result, want int) *failure {
	if res.servedBy != "" {
		st.servedBy = append(st.servedBy, res.servedBy)
	}
	if res.err != nil {
		return fail(KindConnection, "%s: %v (after %d attempts)", what, res.err, res.attempts)
	}
	if res.servedBy == "" && slices.Contains([]int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, res.status) {
		return fail(fmt.Sprintf("proxy-%d", res.status), "%s: the proxy answered %d (after %d attempts)", what, res.status, res.attempts)
	}
	if res.session == "" || res.servedBy == "" {
		u.rec.contractViolation(fmt.Sprintf("%s answered %d without X-Served-By or X-Session", what, res.status))
	}
	if res.hadCookie {
		switch res.session {
		case sessionMiss:
			return fail(KindSessionMiss, "%s: %s did not know the session (status %d)", what, res.servedBy, res.status)
		case sessionNew:
			return fail(KindSessionLost, "%s: %s started a new session although the cookie was sent (status %d)", what, res.servedBy, res.status)
		}
	}
	if res.status != want {
		return fail(fmt.Sprintf("http-%d", res.status), "%s (served by %s): status %d, want %d: %s", what, res.servedBy, res.status, want, snippet(res.body))
	}
	return nil
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// multipart returns a request builder for a multipart upload of up in the
// field "image", with extra form fields and, when csrf is set, the
// X-CSRF-Token header.
func (u *user) multipart(method, path string, up upload, fields map[string]string, csrf string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			if err := w.WriteField(k, v); err != nil {
				return nil, fmt.Errorf("writing field %s: %w", k, err)
			}
		}
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="image"; filename=%q`, up.name))
		h.Set("Content-Type", up.contentType())
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("creating image part: %w", err)
		}
		if _, err := part.Write(up.data); err != nil {
			return nil, fmt.Errorf("writing image part: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("closing multipart body: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.base.JoinPath(path).String(), &buf)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		if csrf != "" {
			req.Header.Set(headerCSRF, csrf)
		}
		return req, nil
	}
}
