package browser

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/easelhq/easel/internal/cluster"
)

// busyOnce makes the browser's first request matching pattern answer
// 503 with Retry-After: 1, as a replica whose memory budget is full answers
// (internal/server's budget tests prove that answer; this test is about
// what the editor's script does with it), and lets every later one through
// to the cluster. It returns a function that reports the paths it answered
// busy and, after the first, passed.
func busyOnce(t *testing.T, p *Page, pattern string) func() (busy, passed []string) {
	t.Helper()
	var (
		mu           sync.Mutex
		busy, passed []string
	)
	paused := make(chan *fetch.EventRequestPaused, 16)
	if err := chromedp.Listen(p.Context(), func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range paused {
			mu.Lock()
			first := len(busy) == 0
			if first {
				busy = append(busy, e.Request.URL)
			} else {
				passed = append(passed, e.Request.URL)
			}
			mu.Unlock()
			_ = chromedp.Do(p.Context(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				if first {
					_, err := cdp.Call(ctx, tg, fetch.FulfillRequest, fetch.FulfillRequestParams{
						RequestID: e.RequestID, ResponseCode: 503,
						ResponseHeaders: []*fetch.HeaderEntry{
							{Name: "Retry-After", Value: "1"}, {Name: "Content-Type", Value: "application/problem+json"},
						},
						Body: []byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"this server is busy with other large images right now; please retry in 1 seconds"}`),
					})
					return err
				}
				_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
				return err
			}))
		}
	}()
	if err := chromedp.Do(p.Context(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	return func() ([]string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), busy...), append([]string(nil), passed...)
	}
}

// TestEditorWaitsOutABusyServer: when the server answers an edit, or the
// new preview's render, "503 busy, Retry-After: 1", the editor says it is
// retrying, waits, tries again, and the edit lands with its preview shown,
// without a reload and without an error left on the page.
func TestEditorWaitsOutABusyServer(t *testing.T) {
	e := setup(t, cluster.StoreRedis)
	p := e.page
	openEditor(t, e)
	for _, tc := range []struct {
		name, pattern, key string
		cursor             int
	}{
		{"the edit", "*/api/v1/workspace/edits", "Flip horizontal", 1},
		{"the preview", "*/api/v1/workspace/render*", "Flip vertical", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := busyOnce(t, p, tc.pattern)
			defer func() {
				_ = chromedp.Do(p.Context(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
					return err
				}))
			}()
			if err := p.Click(`#tab-group-geometry`); err != nil {
				t.Fatal(err)
			}
			dir := strings.TrimPrefix(tc.key, "Flip ")
			if _, err := Eval[string](p, `document.getElementById('flip-dir').value = '`+dir+`'`); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := p.Click(`#flip-dir + button`); err != nil {
				t.Fatal(err)
			}
			// The status line says it is waiting while it waits.
			var said bool
			for time.Since(start) < 3*time.Second && !said {
				s, _ := Eval[string](p, `(document.getElementById('status') || {}).textContent || ''`)
				said = strings.Contains(s, "busy, retrying in 1 s")
				time.Sleep(30 * time.Millisecond)
			}
			if !said {
				t.Error("the status line never said the server was busy and a retry was coming")
			}
			st, err := p.WaitCursor(tc.cursor)
			if err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < time.Second {
				t.Errorf("the retry came after %s, before the Retry-After of 1 s", waited)
			}
			busy, passed := log()
			if len(busy) != 1 || len(passed) == 0 {
				t.Fatalf("answered busy %v, passed %v: want one busy answer and the retry passed", busy, passed)
			}
			if s, _ := p.WaitIdle(); !strings.HasPrefix(s, "Applied: flip") {
				t.Errorf("status after the retried edit: %q, want it applied", s)
			}
			if n, _ := Eval[int](p, `document.querySelectorAll('.problem, .status-error').length`); n != 0 {
				t.Errorf("an error is shown after a retry that succeeded")
			}
			if ok, _ := Eval[bool](p, `(() => { const i = document.getElementById('image'); return i.complete && i.naturalWidth > 0 && i.src.includes('render?size=preview'); })()`); !ok {
				t.Error("the preview after the retried edit is not shown")
			}
			if st.Cursor != tc.cursor {
				t.Errorf("cursor %d, want %d", st.Cursor, tc.cursor)
			}
			notReloaded(t, p, "a retried edit")
		})
	}
}
