package redisha

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// exchange is one request as the client side saw it.
type exchange struct {
	start, end time.Time
	method     string
	path       string
	status     int    // 0: no response (transport error)
	err        string // the transport error
	retryAfter string
	servedBy   string
}

// failed reports whether a user saw the request fail: no response or a 5xx.
func (e exchange) failed() bool { return e.status == 0 || e.status >= 500 }

// recorder is a reverse proxy in front of nginx that records every request
// the probe and the test's own users send, so the test can count statuses
// (nginx's access log has neither Retry-After nor sub-second times).
type recorder struct {
	URL string

	mu  sync.Mutex
	log []exchange
}

// newRecorder starts the proxy to target, stopped at cleanup.
func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host },
		Transport: recordingTransport{r: r, next: tr},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			// No X-Served-By: the probe retries this like a proxy error.
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(func() {
		srv.Close()
		// nginx's graceful stop waits for open client connections.
		tr.CloseIdleConnections()
	})
	r.URL = srv.URL
	return r
}

type recordingTransport struct {
	r    *recorder
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	e := exchange{start: time.Now(), method: req.Method, path: req.URL.Path}
	resp, err := rt.next.RoundTrip(req)
	e.end = time.Now()
	if err != nil {
		e.err = err.Error()
	} else {
		e.status = resp.StatusCode
		e.retryAfter = resp.Header.Get("Retry-After")
		e.servedBy = resp.Header.Get("X-Served-By")
	}
	rt.r.mu.Lock()
	rt.r.log = append(rt.r.log, e)
	rt.r.mu.Unlock()
	return resp, err
}

// exchanges returns the log so far, ordered by start.
func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	out := slices.Clone(r.log)
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// census counts responses by status ("transport-error" for none).
func census(log []exchange) map[string]int {
	out := map[string]int{}
	for _, e := range log {
		if e.status == 0 {
			out["transport-error"]++
			continue
		}
		out[fmt.Sprint(e.status)]++
	}
	return out
}

// badFailures returns the failures that break easel's contract during an
// outage of its store: anything but a 503 with Retry-After from a replica
// (X-Served-By set) is one, a 500 above all.
func badFailures(log []exchange) []string {
	var out []string
	for _, e := range log {
		switch {
		case !e.failed():
		case e.status == http.StatusServiceUnavailable && e.retryAfter != "" && e.servedBy != "":
		default:
			out = append(out, fmt.Sprintf("%s %s at %s: status %d retry-after %q served-by %q %s",
				e.method, e.path, e.start.Format("15:04:05.000"), e.status, e.retryAfter, e.servedBy, e.err))
		}
	}
	return out
}

// window describes the outage users saw around a failover.
type window struct {
	firstFail   time.Time // the first failed response after since
	recovered   time.Time // the first success of a request sent after firstFail
	lastFail    time.Time // the last failed response
	failed, all int       // failed and all requests after since
}

// outage measures the failover window in log after since.
func outage(log []exchange, since time.Time) window {
	var w window
	for _, e := range log {
		if e.start.Before(since) && e.end.Before(since) {
			continue
		}
		w.all++
		if !e.failed() {
			continue
		}
		w.failed++
		if w.firstFail.IsZero() || e.end.Before(w.firstFail) {
			w.firstFail = e.end
		}
		if e.end.After(w.lastFail) {
			w.lastFail = e.end
		}
	}
	if w.firstFail.IsZero() {
		return w
	}
	for _, e := range log {
		if !e.failed() && e.start.After(w.firstFail) && (w.recovered.IsZero() || e.end.Before(w.recovered)) {
			w.recovered = e.end
		}
	}
	return w
}

// describe renders the window in seconds relative to the kill.
func (w window) describe(kill time.Time) string {
	if w.firstFail.IsZero() {
		return fmt.Sprintf("no failed request among %d after the kill", w.all)
	}
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return fmt.Sprintf("%+.2fs", t.Sub(kill).Seconds())
	}
	return strings.Join([]string{
		fmt.Sprintf("first failure %s", rel(w.firstFail)),
		fmt.Sprintf("first success after it %s", rel(w.recovered)),
		fmt.Sprintf("last failure %s", rel(w.lastFail)),
		fmt.Sprintf("%d of %d requests failed", w.failed, w.all),
	}, ", ")
}
