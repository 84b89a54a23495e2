package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstFakeCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
		shared   bool
		flow     string
		edits    int
		download bool
		// want
		consistency func(float64) bool
		misses      bool
	}{
		{"one replica, web", 1, false, FlowWeb, 2, true, func(c float64) bool { return c == 100 }, false},
		{"shared store, round robin, web", 3, true, FlowWeb, 3, true, func(c float64) bool { return c == 100 }, false},
		{"shared store, round robin, api", 3, true, FlowAPI, 2, true, func(c float64) bool { return c == 100 }, false},
		{"shared store, no edits", 3, true, FlowWeb, 0, false, func(c float64) bool { return c == 100 }, false},
		{"memory, round robin, web", 3, false, FlowWeb, 1, false, func(c float64) bool { return c < 50 }, true},
		{"memory, round robin, api", 3, false, FlowAPI, 1, false, func(c float64) bool { return c < 50 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFakeCluster(t, tc.replicas, tc.shared)
			cfg := DefaultConfig()
			cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits, cfg.Flow, cfg.Download = srv.URL, 6, 3, tc.edits, tc.flow, tc.download
			cfg.ExpectedReplicas = tc.replicas
			res, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Flows != 18 {
				t.Errorf("flows = %d, want 18", res.Flows)
			}
			if !tc.consistency(res.Consistency) {
				t.Errorf("consistency = %v%%; errors %v; examples %q", res.Consistency, res.Errors, res.Examples)
			}
			if (res.Misses > 0) != tc.misses {
				t.Errorf("misses = %d, want misses: %v", res.Misses, tc.misses)
			}
			if len(res.Replicas) != tc.replicas {
				t.Errorf("replicas = %v, want %d of them", res.Replicas, tc.replicas)
			}
			if tc.edits == 0 {
				if _, ok := res.Latency["edit"]; ok {
					t.Errorf("--edits 0 ran edit steps")
				}
			}
			if tc.shared && res.Imbalance > 1.2 {
				t.Errorf("round robin imbalance = %v", res.Imbalance)
			}
			if len(res.ContractViolations) > 0 {
				t.Errorf("contract violations against the fake: %v", res.ContractViolations)
			}
		})
	}
}

func TestRetriesProxyErrors(t *testing.T) {
	t.Parallel()
	fc, srv := newFakeCluster(t, 2, true)
	fc.proxyErrors.Store(3)
	cfg := DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits, cfg.RetryBackoff = srv.URL, 1, 2, 1, time.Millisecond
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Consistency != 100 || res.Retries != 3 || res.FailedRequests != 3 {
		t.Fatalf("consistency %v, retries %d, failed %d; want 100, 3, 3 (%v)", res.Consistency, res.Retries, res.FailedRequests, res.Examples)
	}
}

// TestRetriesBusyAnswers: a replica's 503 and a 429 are retried after
// their Retry-After, counted apart, and the flow still succeeds.
func TestRetriesBusyAnswers(t *testing.T) {
	t.Parallel()
	fc, srv := newFakeCluster(t, 2, true)
	fc.busy.Store(2)
	fc.limited.Store(1)
	fc.retryAfter = "0"
	cfg := DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits = srv.URL, 1, 1, 1
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Consistency != 100 || res.Busy != 2 || res.RateLimited != 1 || res.FailedRequests != 0 || res.Broken != 0 {
		t.Fatalf("consistency %v, busy %d, 429 %d, failed %d, broken %d; want 100, 2, 1, 0, 0 (%v)",
			res.Consistency, res.Busy, res.RateLimited, res.FailedRequests, res.Broken, res.Examples)
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil || !strings.Contains(text.String(), "busy answers") {
		t.Fatalf("text report lacks the busy answers (%v):\n%s", err, text.String())
	}
	// Bounded: a replica that stays busy breaks the flow after BusyRetries.
	fc.busy.Store(1000)
	cfg.BusyRetries = 2
	res, err = Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Broken != 1 || res.Errors["http-503"] != 1 || res.Busy != 3 {
		t.Fatalf("broken %d, errors %v, busy %d; want 1 flow broken by http-503 after 3 attempts", res.Broken, res.Errors, res.Busy)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	fc, srv := newFakeCluster(t, 1, true)
	fc.proxyErrors.Store(1000)
	cfg := DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Retries, cfg.RetryBackoff = srv.URL, 1, 1, 2, time.Millisecond
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Broken != 1 || res.Errors["proxy-502"] != 1 || res.Retries != 2 {
		t.Fatalf("broken %d, errors %v, retries %d; want 1 flow broken by proxy-502 after 2 retries", res.Broken, res.Errors, res.Retries)
	}
}

func TestCommandJSONAndHTML(t *testing.T) {
	t.Parallel()
	_, srv := newFakeCluster(t, 3, false)
	html := t.TempDir() + "/report.html"
	var stdout, stderr bytes.Buffer
	code := Command(context.Background(), []string{
		"--url", srv.URL, "--users", "4", "--iterations", "2", "--edits", "1", "--json",
		"--html", html, "--expect-consistency", "90", "--replicas", "3",
	}, &stdout, &stderr)
	if code != ExitFailed {
		t.Errorf("exit code %d, want %d (memory + round robin is below 90%%)", code, ExitFailed)
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	for _, k := range []string{"consistency", "flows", "broken", "misses", "replicas", "imbalance", "latency"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if !strings.Contains(stderr.String(), "consistency") {
		t.Errorf("no table on stderr: %s", stderr.String())
	}
}

func TestCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"bad flag", []string{"--nope"}, ExitUsage},
		{"bad flow", []string{"--flow", "carrier-pigeon"}, ExitUsage},
		{"bad source ips", []string{"--source-ips", "127.0.0.9-127.0.0.2"}, ExitUsage},
		{"no users", []string{"--users", "0"}, ExitUsage},
		{"stray argument", []string{"extra"}, ExitUsage},
		{"help", []string{"--help"}, ExitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			if got := Command(context.Background(), tc.args, &out, &errOut); got != tc.want {
				t.Errorf("exit %d, want %d; stderr %s", got, tc.want, errOut.String())
			}
		})
	}
}

func TestParseSourceIPs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"127.0.0.2-127.0.0.4", []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, false},
		{"127.0.1.1,127.0.2.1", []string{"127.0.1.1", "127.0.2.1"}, false},
		{"127.0.0.255-127.0.1.1", []string{"127.0.0.255", "127.0.1.0", "127.0.1.1"}, false},
		{"127.0.0.7", []string{"127.0.0.7"}, false},
		{"127.0.0.9-127.0.0.2", nil, true},
		{"::1", nil, true},
		{"", nil, true},
		{"10.0.0.0-10.255.255.255", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSourceIPs(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestSourceIPsAreUsed(t *testing.T) {
	t.Parallel()
	_, srv := newFakeCluster(t, 1, true)
	cfg := DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits = srv.URL, 3, 1, 0
	cfg.SourceIPs = SpreadIPs(3)
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Consistency != 100 {
		t.Fatalf("consistency %v with source ips: %v", res.Consistency, res.Examples)
	}
}

// TestHostHeader reaches a host-routed "ingress" by address: without
// --host every flow fails on its 404, with it every flow passes.
func TestHostHeader(t *testing.T) {
	t.Parallel()
	fc, srv := newFakeCluster(t, 2, true)
	fc.host = "easel.example.com"
	cfg := DefaultConfig()
	cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits = srv.URL, 2, 1, 1
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Consistency != 0 {
		t.Fatalf("without --host: consistency %v, want 0 (every request is the ingress's 404)", res.Consistency)
	}
	cfg.Host = fc.host
	if res, err = Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	if res.Consistency != 100 {
		t.Fatalf("with --host: consistency %v: %v", res.Consistency, res.Examples)
	}
	for _, bad := range []string{"http://easel.example.com", "easel.example.com/path", ":80", "a b"} {
		cfg.Host = bad
		if err := cfg.Validate(); err == nil {
			t.Errorf("host %q accepted", bad)
		}
	}
}

// TestConnectionModels runs memory sessions behind a per-connection
// balancer (kube-proxy's way): keep-alive users stay on one replica and see
// nothing wrong; users opening a connection per request land on every
// replica and lose their state, as behind a per-request balancer.
func TestConnectionModels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		connections string
		check       func(float64) bool
		want        string
	}{
		{ConnectionsPerUser, func(c float64) bool { return c == 100 }, "100 (each user keeps its connection, so its replica)"},
		{ConnectionsPerRequest, func(c float64) bool { return c < 50 }, "below 50 (every request may reach another replica)"},
	} {
		t.Run(tc.connections, func(t *testing.T) {
			t.Parallel()
			fc, srv := newFakeCluster(t, 3, false)
			fc.perConnection = true
			cfg := DefaultConfig()
			cfg.URL, cfg.Users, cfg.Iterations, cfg.Edits = srv.URL, 6, 2, 1
			cfg.Connections = tc.connections
			res, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(res.Consistency) {
				t.Errorf("consistency %.1f%%, want %s; replicas %v", res.Consistency, tc.want, res.Replicas)
			}
			if res.Connections != tc.connections {
				t.Errorf("the result says connections %q, want %q", res.Connections, tc.connections)
			}
			var text bytes.Buffer
			if err := WriteText(&text, res); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "connections "+tc.connections) {
				t.Errorf("the report does not say which connection model ran:\n%s", text.String())
			}
		})
	}
	cfg := DefaultConfig()
	cfg.Connections = "pooled"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "per-request") {
		t.Errorf("connections %q: error %v, want one naming the valid models", cfg.Connections, err)
	}
}

func TestPageParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		html string
		want page
	}{
		{"image, any attribute order", `<footer data-session="hit" id="replica" data-served-by="a"></footer><img src='/blobs/ab' data-digest=ab id=image>`,
			page{hasImage: true, imageDigest: "ab", imageSrc: "/blobs/ab", footer: true, servedBy: "a", session: "hit"}},
		{"no image", `<div id="no-image">none</div>`, page{noImage: true}},
		{"csrf", `<meta name="csrf-token" content="m"><form><input type="hidden" name="csrf_token" value="f"></form>`, page{csrfMeta: "m", csrfInput: "f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := parsePage([]byte(tc.html)); got != tc.want {
				t.Fatalf("parsePage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRateDurationAndStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		shape   func(*Config)
		stopAt  int // call Stop once this many flows completed; 0: never
		minTime time.Duration
		check   func(t *testing.T, res *Result)
	}{
		{"rate spaces flow starts", func(c *Config) { c.Users, c.Iterations, c.Rate = 4, 3, 100 }, 0, 100 * time.Millisecond,
			func(t *testing.T, res *Result) {
				if res.Flows != 12 {
					t.Errorf("flows = %d, want 12", res.Flows)
				}
			}},
		{"duration bounds the run", func(c *Config) { c.Users, c.Duration, c.Rate = 2, 150*time.Millisecond, 200 }, 0, 150 * time.Millisecond,
			func(t *testing.T, res *Result) {
				if res.Flows < 1 || res.Iterations != 0 {
					t.Errorf("flows = %d, iterations = %d; want some flows and no iteration count", res.Flows, res.Iterations)
				}
			}},
		{"stop ends a long run", func(c *Config) { c.Users, c.Duration = 2, time.Minute }, 10, 0,
			func(t *testing.T, res *Result) {
				if res.Flows < 10 || res.Seconds > 30 {
					t.Errorf("flows = %d after %.1fs; want Stop to end the run soon after 10 flows", res.Flows, res.Seconds)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFakeCluster(t, 2, true)
			cfg := DefaultConfig()
			cfg.URL, cfg.Edits = srv.URL, 0
			tc.shape(&cfg)
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.stopAt > 0 {
				go func() {
					for r.Completed() < tc.stopAt {
						time.Sleep(time.Millisecond)
					}
					r.Mark("stop")
					r.Stop()
				}()
			}
			start := time.Now()
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < tc.minTime {
				t.Errorf("run took %v, want at least %v", el, tc.minTime)
			}
			if res.Consistency != 100 {
				t.Errorf("consistency %v: %v", res.Consistency, res.Examples)
			}
			tc.check(t, res)
		})
	}
}

// TestStaleConnectionClassification: a request that broke on a reused
// keep-alive connection before any answer (the proxy closed the idle
// connection as the request went out: EOF, reset, or Go's "use of closed
// network connection") is a resend a browser does silently; the same error
// on a fresh connection, or another error, stays a visible failure.
func TestStaleConnectionClassification(t *testing.T) {
	t.Parallel()
	closedWrite := &url.Error{Op: "Post", URL: "http://127.0.0.1:8080/image",
		Err: &net.OpError{Op: "write", Net: "tcp", Err: net.ErrClosed}}
	if got := classifyError(closedWrite); got != "closed" {
		t.Fatalf("classifyError(%v) = %q, want closed", closedWrite, got)
	}
	rn := &Runner{cfg: DefaultConfig(), rec: newRecorder()}
	for _, a := range []attemptRecord{
		{step: "upload", failed: true, errKind: classifyError(closedWrite), errMsg: closedWrite.Error(), reused: true},
		{step: "upload", failed: true, errKind: "eof", reused: true},
		{step: "upload", failed: true, errKind: "closed", reused: false},
		{step: "upload", failed: true, errKind: "refused", reused: true},
	} {
		rn.rec.attempt(a)
	}
	res := rn.result()
	if res.FailedRequests != 4 || res.StaleConnectionFailures != 2 || res.VisibleFailures() != 2 {
		t.Errorf("failed %d, stale %d, visible %d; want 4, 2 (closed and eof on reused connections), 2",
			res.FailedRequests, res.StaleConnectionFailures, res.VisibleFailures())
	}
	if res.FailedByKind["closed-reused"] != 1 || res.FailedByKind["closed"] != 1 {
		t.Errorf("failed by kind %v, want closed-reused 1 and closed 1", res.FailedByKind)
	}
}
