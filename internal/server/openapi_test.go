package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/easelhq/easel/api"
	"github.com/easelhq/easel/internal/testutil"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specRouter loads api/openapi.yaml, validates it, and returns a router.
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is invalid: %v", err)
	}
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// apiClient is a browser whose every API exchange is checked against the
// OpenAPI description: requests and responses alike.
type apiClient struct {
	*browser
	router routers.Router
	base   string
	csrf   string
}

func (a *apiClient) call(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	out, _ := io.ReadAll(res.Body)
	a.validate(req, raw, res, out)
	if res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		var w struct {
			CSRF string `json:"csrf_token"`
		}
		if json.Unmarshal(out, &w) == nil && w.CSRF != "" {
			a.csrf = w.CSRF
		}
	}
	return res.StatusCode, out
}

func (a *apiClient) validate(req *http.Request, body []byte, res *http.Response, out []byte) {
	a.t.Helper()
	// The router matches on the path alone; give it a request without the
	// test server's host.
	vreq := req.Clone(context.Background())
	vreq.URL.Scheme, vreq.URL.Host, vreq.Host = "", "", ""
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := a.router.FindRoute(vreq)
	if err != nil {
		a.t.Errorf("%s %s is not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	// A request the server rejected as malformed was meant to be malformed
	// (the tests send such requests on purpose); only its answer is checked.
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && res.StatusCode != http.StatusBadRequest {
		a.t.Errorf("request %s %s does not match openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(out)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		a.t.Errorf("response %d to %s %s does not match openapi.yaml: %v", res.StatusCode, req.Method, req.URL.Path, err)
	}
}

func newAPIClient(t *testing.T, router routers.Router, base string) *apiClient {
	a := &apiClient{browser: newBrowser(t), router: router, base: base}
	a.call(http.MethodGet, "/api/v1/workspace", nil)
	return a
}

type stateJSON struct {
	Edits   []map[string]any `json:"edits"`
	Labels  []string         `json:"labels"`
	Cursor  int              `json:"cursor"`
	Current struct{ Width, Height int }
}

func decodeState(t *testing.T, b []byte) stateJSON {
	t.Helper()
	var s stateJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("state: %v: %s", err, b)
	}
	return s
}

// TestEditAPIConformsAndBehaves drives the edit API the way a client does,
// every exchange validated against openapi.yaml.
func TestEditAPIConformsAndBehaves(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	a := newAPIClient(t, specRouter(t), srv.URL)
	if p := a.uploadForm(srv.URL+"/api/v1/image", testPNG(t, 64, 48, 3), nil, map[string]string{"X-CSRF-Token": a.csrf}); p.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", p.status, p.body)
	}
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		w, h   int
		edits  int
		cursor int
		last   string // the newest edit's label, as the page's history shows it
	}{
		{"rotate", "POST", "/api/v1/workspace/edits", map[string]any{"op": "rotate", "angle": 90}, 200, 48, 64, 1, 1, "rotate 90°"},
		{"crop", "POST", "/api/v1/workspace/edits", map[string]any{"op": "crop", "x": 4, "y": 4, "width": 20, "height": 30}, 200, 20, 30, 2, 2, "crop 20×30 at 4,4"},
		{"crop outside", "POST", "/api/v1/workspace/edits", map[string]any{"op": "crop", "x": 10, "y": 10, "width": 900, "height": 900}, 400, 0, 0, 0, 0, ""},
		{"unknown op", "POST", "/api/v1/workspace/edits", map[string]any{"op": "melt"}, 400, 0, 0, 0, 0, ""},
		{"undo", "POST", "/api/v1/workspace/undo", nil, 200, 48, 64, 2, 1, ""},
		{"brightness drops the redo tail", "POST", "/api/v1/workspace/edits", map[string]any{"op": "brightness", "amount": 0.3}, 200, 48, 64, 2, 2, ""},
		{"redo at the end is a no-op", "POST", "/api/v1/workspace/redo", nil, 200, 48, 64, 2, 2, ""},
		{"reset", "POST", "/api/v1/workspace/reset", nil, 200, 64, 48, 0, 0, ""},
	}
	for _, s := range steps {
		status, body := a.call(s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("%s: %d, want %d: %s", s.name, status, s.status, body)
		}
		if status != 200 {
			if !strings.Contains(string(body), `"field"`) {
				t.Errorf("%s: the problem does not name the field: %s", s.name, body)
			}
			continue
		}
		st := decodeState(t, body)
		if st.Current.Width != s.w || st.Current.Height != s.h || len(st.Edits) != s.edits || st.Cursor != s.cursor {
			t.Errorf("%s: %dx%d, %d edits, cursor %d; want %dx%d, %d, %d", s.name, st.Current.Width, st.Current.Height, len(st.Edits), st.Cursor, s.w, s.h, s.edits, s.cursor)
		}
		if len(st.Labels) != len(st.Edits) {
			t.Errorf("%s: %d labels for %d edits", s.name, len(st.Labels), len(st.Edits))
		} else if s.last != "" && st.Labels[len(st.Labels)-1] != s.last {
			t.Errorf("%s: the newest label is %q, want %q", s.name, st.Labels[len(st.Labels)-1], s.last)
		}
	}
	a.call("POST", "/api/v1/workspace/edits", map[string]any{"op": "rotate", "angle": 90})
	status, img := a.call("GET", "/api/v1/workspace/render?size=full&format=png", nil)
	if status != 200 {
		t.Fatalf("render: %d %s", status, img)
	}
	cfg, err := decodePNGConfig(img)
	if err != nil || cfg.Width != 48 || cfg.Height != 64 {
		t.Errorf("render: %+v %v, want a 48×64 PNG", cfg, err)
	}
	if status, body := a.call("GET", "/api/v1/workspace/render?format=tiff", nil); status != 400 || !strings.Contains(string(body), "jpeg, png or webp") {
		t.Errorf("render tiff: %d %s", status, body)
	}
	// The download's JPEG quality: lower is smaller; nonsense is a 400 that
	// says the range.
	_, low := a.call("GET", "/api/v1/workspace/render?size=full&format=jpeg&quality=20", nil)
	_, high := a.call("GET", "/api/v1/workspace/render?size=full&format=jpeg&quality=95", nil)
	if len(low) == 0 || len(low) >= len(high) {
		t.Errorf("JPEG at quality 20 is %d bytes, at 95 %d; want the lower quality smaller", len(low), len(high))
	}
	for _, q := range []string{"0", "101", "high"} {
		if status, body := a.call("GET", "/api/v1/workspace/render?format=jpeg&quality="+q, nil); status != 400 || !strings.Contains(string(body), "1 to 100") {
			t.Errorf("render quality=%s: %d %s, want 400 naming the range", q, status, body)
		}
	}
}

// TestParallelEditsAcrossReplicas: 50 edits of one workspace sent at once
// to two replicas sharing Redis all land, each exactly once.
func TestParallelEditsAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	replicas := []string{newReplica(t, "a", redisEnv(addr)).URL, newReplica(t, "b", redisEnv(addr)).URL}
	b := newBrowser(t)
	w, _ := b.workspace(replicas[0])
	if p := b.uploadForm(replicas[0]+"/api/v1/image", testPNG(t, 32, 32, 1), nil, map[string]string{"X-CSRF-Token": w.CSRF}); p.status != http.StatusCreated {
		t.Fatalf("upload: %d", p.status)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"op": "hue", "degrees": i + 1}) // distinct, so each can be found
			req, _ := http.NewRequest(http.MethodPost, replicas[i%2]+"/api/v1/workspace/edits", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", w.CSRF)
			res, err := b.client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs <- res.Status
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("an edit failed: %s", e)
	}
	p := b.get(replicas[1] + "/api/v1/workspace")
	st := decodeState(t, []byte(p.body))
	seen := map[float64]int{}
	for _, e := range st.Edits {
		seen[e["degrees"].(float64)]++
	}
	if len(st.Edits) != n || st.Cursor != n || len(seen) != n {
		t.Fatalf("%d edits recorded (%d distinct), cursor %d; want %d, each once", len(st.Edits), len(seen), st.Cursor, n)
	}
}
