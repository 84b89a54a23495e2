package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/easelhq/easel/internal/config"
)

// newBudgetReplica is a replica with a memory budget of 1 MiB, no queue and
// a 10 ms wait: a busy budget refuses at once. It returns the server too,
// so that a test can hold the budget as concurrent work would.
func newBudgetReplica(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	env := map[string]string{
		"EASEL_LOG_LEVEL": "error", "EASEL_MAX_UPLOAD_BYTES": "4MiB",
		"EASEL_MEMORY_BUDGET": "1MiB", "EASEL_MEMORY_QUEUE": "0", "EASEL_MEMORY_WAIT": "10ms",
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(t.Context())
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	return srv, ts
}

// TestBusyBudgetRefusesAndLosesNothing: while the memory budget is taken,
// uploads and renders are refused with 503, Retry-After and problem+json on
// the API and a flash message on the web form; the session's image is
// untouched, and the same requests succeed once the budget is free.
func TestBusyBudgetRefusesAndLosesNothing(t *testing.T) {
	t.Parallel()
	srv, ts := newBudgetReplica(t)
	b := newBrowser(t)
	first := testPNG(t, 300, 200, 1)
	if p := b.uploadForm(ts.URL+"/api/v1/image", first, nil, nil); p.status != http.StatusCreated {
		t.Fatalf("first upload: %d %s", p.status, p.body)
	}
	ws, _ := b.workspace(ts.URL)

	hold, err := srv.svc.Budget.Acquire(context.Background(), srv.svc.Budget.Capacity())
	if err != nil {
		t.Fatal(err)
	}
	second := testPNG(t, 300, 200, 2)
	for name, p := range map[string]page{
		"api upload": b.uploadForm(ts.URL+"/api/v1/image", second, nil, map[string]string{"X-CSRF-Token": ws.CSRF}),
		"api render": b.get(ts.URL + "/api/v1/workspace/render?size=full&format=png"),
	} {
		if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") != "1" ||
			p.header.Get("Content-Type") != "application/problem+json" || !contains(p.body, "busy") {
			t.Errorf("%s while busy: %d, Retry-After %q, %s: %s; want 503, 1, problem+json saying busy",
				name, p.status, p.header.Get("Retry-After"), p.header.Get("Content-Type"), p.body)
		}
	}
	p := b.uploadForm(ts.URL+"/image", second, map[string]string{"csrf_token": b.csrf(ts.URL)}, nil)
	if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") != "1" || !contains(p.body, `name="image"`) {
		t.Fatalf("web upload while busy: %d, Retry-After %q; want 503, 1 and the upload form again", p.status, p.header.Get("Retry-After"))
	}
	if !contains(p.body, "busy") {
		t.Errorf("the upload form shows no busy message:\n%s", p.body)
	}
	if got, _ := b.workspace(ts.URL); got.Image == nil || got.Image.Digest != sha(first) {
		t.Fatalf("after refusals the workspace holds %+v, want the first image %s", got.Image, sha(first))
	}
	if in := srv.svc.Budget.InUse(); in != srv.svc.Budget.Capacity() {
		t.Fatalf("refused requests left %d bytes in use, want only the held %d", in, srv.svc.Budget.Capacity())
	}

	hold()
	if srv.svc.Budget.InUse() != 0 {
		t.Fatalf("budget in use %d after every request ended", srv.svc.Budget.InUse())
	}
	if p := b.uploadForm(ts.URL+"/api/v1/image", second, nil, map[string]string{"X-CSRF-Token": ws.CSRF}); p.status != http.StatusCreated {
		t.Fatalf("upload once free: %d %s", p.status, p.body)
	}
	if p := b.get(ts.URL + "/api/v1/workspace/render?size=full&format=png"); p.status != http.StatusOK {
		t.Fatalf("render once free: %d %s", p.status, p.body)
	}
	metrics := b.get(ts.URL + "/metrics").body
	for _, m := range []string{`easel_memory_budget_refusals_total{reason="queue_full"} 3`, "easel_memory_budget_bytes 1.048576e+06", "easel_memory_budget_in_use_bytes 0", "easel_memory_budget_queue 0"} {
		if !contains(metrics, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}

// TestConcurrentUploadsUnderTinyBudget: many users uploading at once to a
// replica whose budget fits one image get 201 or 503 with Retry-After,
// never an error, and every user that got 201 has its own image.
func TestConcurrentUploadsUnderTinyBudget(t *testing.T) {
	t.Parallel()
	srv, ts := newBudgetReplica(t)
	const users = 8
	statuses := make([]int, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			b := newBrowser(t)
			img := testPNG(t, 700, 700, byte(i))
			p := b.uploadForm(ts.URL+"/api/v1/image", img, nil, nil)
			statuses[i] = p.status
			switch p.status {
			case http.StatusCreated:
				if ws, _ := b.workspace(ts.URL); ws.Image == nil || ws.Image.Digest != sha(img) {
					t.Errorf("user %d: workspace %+v, want its own image", i, ws.Image)
				}
			case http.StatusServiceUnavailable:
				if p.header.Get("Retry-After") == "" {
					t.Errorf("user %d: 503 without Retry-After", i)
				}
			default:
				t.Errorf("user %d: %d %s", i, p.status, p.body)
			}
		})
	}
	wg.Wait()
	t.Logf("statuses: %v", statuses)
	if srv.svc.Budget.InUse() != 0 {
		t.Fatalf("budget in use %d after every request ended", srv.svc.Budget.InUse())
	}
}
