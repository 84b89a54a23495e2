package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
)

// TestCompositeJobAcrossReplicas: a composite submitted on A and polled on B
// completes, and its result is the last, undoable edit.
func TestCompositeJobAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr, _ := testutil.StartRedis(t)
	a := newReplica(t, "a", redisEnv(addr))
	bsrv := newReplica(t, "b", redisEnv(addr))
	router := specRouter(t)
	ca := newAPIClient(t, router, a.URL)
	if p := ca.uploadForm(a.URL+"/api/v1/image", testPNG(t, 60, 40, 200), nil, map[string]string{"X-CSRF-Token": ca.csrf}); p.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", p.status, p.body)
	}
	status, body := ca.call(http.MethodPost, "/api/v1/workspace/composite", map[string]any{"mode": "replace-background", "background": map[string]any{"color": "#2255ff"}})
	if status != http.StatusAccepted {
		t.Fatalf("composite: %d %s", status, body)
	}
	var job struct {
		ID, Status, Error string
		Result            *struct{ Digest string }
	}
	_ = json.Unmarshal(body, &job)

	cb := &apiClient{browser: ca.browser, router: router, base: bsrv.URL, csrf: ca.csrf} // same browser, other replica
	deadline := time.Now().Add(20 * time.Second)
	for job.Status != "succeeded" {
		if job.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("job %s: %s %s", job.ID, job.Status, job.Error)
		}
		time.Sleep(100 * time.Millisecond)
		status, body = cb.call(http.MethodGet, "/api/v1/jobs/"+job.ID, nil)
		if status != http.StatusOK {
			t.Fatalf("poll on B: %d %s", status, body)
		}
		_ = json.Unmarshal(body, &job)
	}
	_, body = cb.call(http.MethodGet, "/api/v1/workspace", nil)
	st := decodeState(t, body)
	if n := len(st.Edits); n != 1 || st.Edits[0]["op"] != "composite" || st.Edits[0]["result"] != job.Result.Digest {
		t.Fatalf("edits after the composite: %v", st.Edits)
	}
	if status, _ := cb.call(http.MethodPost, "/api/v1/workspace/undo", nil); status != http.StatusOK {
		t.Fatalf("undo: %d", status)
	}
	// Another session cannot follow this session's job.
	stranger := newAPIClient(t, router, bsrv.URL)
	if status, _ := stranger.call(http.MethodGet, "/api/v1/jobs/"+job.ID, nil); status != http.StatusNotFound {
		t.Errorf("a stranger polled the job: %d, want 404", status)
	}
}

// TestBadComposites: each bad composite request is a clear 4xx and queues
// nothing.
func TestBadComposites(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	a := newAPIClient(t, specRouter(t), srv.URL)
	a.uploadForm(srv.URL+"/api/v1/image", testPNG(t, 20, 20, 1), nil, map[string]string{"X-CSRF-Token": a.csrf})
	cases := []struct {
		name   string
		body   map[string]any
		status int
		detail string
	}{
		{"unknown mode", map[string]any{"mode": "melt"}, 400, "unknown mode"},
		{"ai without a backend", map[string]any{"mode": "ai", "prompt": "a beach"}, 422, "AI"},
		{"empty prompt", map[string]any{"mode": "ai", "prompt": ""}, 400, "prompt"},
		{"unknown asset", map[string]any{"mode": "overlay", "asset": strings.Repeat("ab", 32)}, 422, "asset"},
		{"bad colour", map[string]any{"mode": "replace-background", "background": map[string]any{"color": "blue-ish"}}, 400, "colour"},
		{"opacity out of range", map[string]any{"mode": "overlay", "asset": strings.Repeat("ab", 32), "opacity": 3}, 400, "opacity"},
	}
	for _, tc := range cases {
		status, body := a.call(http.MethodPost, "/api/v1/workspace/composite", tc.body)
		if status != tc.status || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tc.detail)) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.name, status, body, tc.status, tc.detail)
		}
	}
	p := a.uploadForm(srv.URL+"/api/v1/assets", []byte("not an image"), nil, map[string]string{"X-CSRF-Token": a.csrf})
	if p.status != http.StatusUnsupportedMediaType {
		t.Errorf("asset that is not an image: %d %s", p.status, p.body)
	}
	_, body := a.call(http.MethodGet, "/api/v1/workspace", nil)
	if st := decodeState(t, body); len(st.Edits) != 0 {
		t.Errorf("rejected composites changed the workspace: %v", st.Edits)
	}
}

// TestCompositeThroughThePage: the panel's form queues the job, the
// progress page refreshes itself and lands back on the editor.
func TestCompositeThroughThePage(t *testing.T) {
	t.Parallel()
	srv := newReplica(t, "solo", nil)
	b := newBrowser(t)
	tok := b.csrf(srv.URL)
	b.uploadForm(srv.URL+"/image", testPNG(t, 30, 30, 250), map[string]string{"csrf_token": tok}, nil)
	p := b.uploadForm(srv.URL+"/image/composite", nil, map[string]string{"csrf_token": tok, "mode": "replace-background", "color": "#00ff00"}, nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/jobs/") {
		t.Fatalf("composite form: %d → %q", p.status, p.header.Get("Location"))
	}
	job := p.header.Get("Location")
	deadline := time.Now().Add(20 * time.Second)
	for {
		p = b.get(srv.URL + job)
		if p.status == http.StatusSeeOther {
			break
		}
		if !bytes.Contains([]byte(p.body), []byte(`http-equiv="refresh"`)) || time.Now().After(deadline) {
			t.Fatalf("progress page: %d without a refresh, or the job never ended", p.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if page := b.get(srv.URL + "/image").body; !strings.Contains(page, "Composite applied") || !strings.Contains(page, "composite") {
		t.Errorf("the editor does not show the applied composite")
	}
}

// TestCompositeAIOverHTTP: with EASEL_AI_BACKEND=http the editor offers the
// ai mode, a prompt goes to the configured service as the documented
// multipart request, and its answer becomes an undoable edit; a refusal
// reaches the user in the service's words.
func TestCompositeAIOverHTTP(t *testing.T) {
	t.Parallel()
	var answer atomic.Value // "image" or an error message
	edit := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("image")
		if err != nil || r.URL.Path != "/edit" || r.FormValue("prompt") == "" || r.Header.Get("Authorization") != "" {
			t.Errorf("edit request %s, image part %v, prompt %q, Authorization %q", r.URL.Path, err, r.FormValue("prompt"), r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_ = f.Close()
		if msg := answer.Load().(string); msg != "image" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(testPNG(t, 32, 32, 7))
	}))
	t.Cleanup(edit.Close)
	srv := newReplica(t, "solo", map[string]string{"EASEL_AI_BACKEND": "http", "EASEL_AI_URL": edit.URL + "/edit", "EASEL_AI_MAX_EDGE": "64"})
	a := newAPIClient(t, specRouter(t), srv.URL)
	if p := a.uploadForm(srv.URL+"/api/v1/image", testPNG(t, 120, 80, 200), nil, map[string]string{"X-CSRF-Token": a.csrf}); p.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", p.status, p.body)
	}
	if page := a.get(srv.URL + "/image").body; !strings.Contains(page, `name="mode" value="ai"`) {
		t.Error("the editor does not offer the ai mode with the http backend")
	}
	run := func(prompt string) (status, errMsg string) {
		t.Helper()
		code, body := a.call(http.MethodPost, "/api/v1/workspace/composite", map[string]any{"mode": "ai", "prompt": prompt})
		if code != http.StatusAccepted {
			t.Fatalf("composite: %d %s", code, body)
		}
		var job struct{ ID, Status, Error string }
		_ = json.Unmarshal(body, &job)
		for deadline := time.Now().Add(20 * time.Second); job.Status != "succeeded" && job.Status != "failed"; {
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s", job.ID, job.Status)
			}
			time.Sleep(50 * time.Millisecond)
			_, body = a.call(http.MethodGet, "/api/v1/jobs/"+job.ID, nil)
			_ = json.Unmarshal(body, &job)
		}
		return job.Status, job.Error
	}

	answer.Store("image")
	if status, msg := run("put it on a beach"); status != "succeeded" {
		t.Fatalf("job %s: %s", status, msg)
	}
	_, body := a.call(http.MethodGet, "/api/v1/workspace", nil)
	if st := decodeState(t, body); len(st.Edits) != 1 || st.Edits[0]["op"] != "composite" {
		t.Fatalf("edits after the ai composite: %v", st.Edits)
	}
	p := a.get(srv.URL + "/api/v1/workspace/render?size=full&format=png")
	if cfg, err := decodePNGConfig([]byte(p.body)); err != nil || cfg.Width != 120 || cfg.Height != 80 {
		t.Errorf("render after the composite: %+v, %v; want the upload's 120×80", cfg, err)
	}

	answer.Store("no face found")
	if status, msg := run("swap the face"); status != "failed" || msg != "The AI service could not do this edit: no face found." {
		t.Errorf("refused job: %s %q", status, msg)
	}
}
