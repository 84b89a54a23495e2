package browser

import (
	"context"
	"slices"
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
// to the cluster. It returns a function that reports the URLs it answered
// busy and, after the first, passed; stop ends the interception.
func busyOnce(t *testing.T, p *Page, pattern string) (log func() (busy, passed []string), stop func()) {
	t.Helper()
	var (
		mu           sync.Mutex
		busy, passed []string
	)
	// The listener lives as long as lctx: a later call's must be the only
	// one answering paused requests.
	lctx, cancel := context.WithCancel(p.Context())
	paused := make(chan *fetch.EventRequestPaused, 64)
	if err := chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case paused <- e:
			default: // never block the tab's event loop; the test then fails on the missing retry
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var e *fetch.EventRequestPaused
			select {
			case <-lctx.Done():
				return
			case e = <-paused:
			}
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
	fetchCall := func(m cdp.Command[fetch.EnableParams, cdp.Empty], params fetch.EnableParams) error {
		return chromedp.Do(p.Context(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, m, params)
			return err
		}))
	}
	if err := fetchCall(fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	log = func() ([]string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), busy...), append([]string(nil), passed...)
	}
	stop = func() {
		_ = chromedp.Do(p.Context(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
			return err
		}))
		cancel()
		<-done
	}
	return log, stop
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
			log, stop := busyOnce(t, p, tc.pattern)
			defer stop()
			if err := p.Click(`#tab-group-geometry`); err != nil {
				t.Fatal(err)
			}
			// Everything the status line says from now on, however briefly
			// (a loaded machine must not make the message's moment a race).
			if _, err := Eval[bool](p, `(() => { const s = document.getElementById('status'); window.__said = [];
				new MutationObserver(() => window.__said.push(s.textContent)).observe(s, {childList: true, characterData: true, subtree: true});
				return true; })()`); err != nil {
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
			st, err := p.WaitCursor(tc.cursor)
			if err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < time.Second {
				t.Errorf("the retry came after %s, before the Retry-After of 1 s", waited)
			}
			said, err := Eval[[]string](p, `window.__said`)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "busy, retrying in 1 s") }) {
				t.Errorf("the status line never said the server was busy and a retry was coming; it said %q", said)
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
