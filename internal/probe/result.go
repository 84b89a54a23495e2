package probe

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"time"
)

// Result is what one probe run measured. Its JSON form is the output of
// `easel probe --json`, which the cluster tests, `helm test` and the e2e
// read.
type Result struct {
	URL  string `json:"url"`
	Flow string `json:"flow"`
	// Connections is the connection model: per-user (keep-alive) or
	// per-request (a new connection for every request).
	Connections string  `json:"connections"`
	Users       int     `json:"users"`
	Iterations  int     `json:"iterations,omitempty"`
	Edits       int     `json:"edits"`
	Download    bool    `json:"download"`
	Seconds     float64 `json:"duration_seconds"`

	// Flows is the number of flows run; Consistent of them saw the user's
	// own state at every step, Broken did not.
	Flows      int `json:"flows"`
	Consistent int `json:"consistent"`
	Broken     int `json:"broken"`
	// Consistency is Consistent / Flows as a percentage (100 when no flow
	// ran, so that an empty run is not mistaken for the bug).
	Consistency float64 `json:"consistency"`

	// Requests counts HTTP attempts, retries included.
	Requests int `json:"requests"`
	// Misses counts responses with X-Session: miss.
	Misses int `json:"misses"`
	// Retries counts attempts that repeated a failed one; RetriesByStep
	// splits them per step.
	Retries       int            `json:"retries"`
	RetriesByStep map[string]int `json:"retries_by_step"`
	// FailedRequests counts attempts that failed at the connection level or
	// got 502/503/504 from the proxy, whether or not a retry then worked.
	FailedRequests int `json:"failed_requests"`
	// FailedByKind splits FailedRequests: proxy-502/503/504, or the
	// connection error (refused, reset, eof, closed, timeout, other), suffixed
	// "-reused" when it hit a reused keep-alive connection.
	FailedByKind map[string]int `json:"failed_by_kind"`
	// StaleConnectionFailures counts the failed requests that broke on a
	// reused keep-alive connection before any response arrived: the server
	// or proxy closed the idle connection as the request went out (nginx
	// does so on every reload). Browsers resend such requests without
	// showing anything, so they are not failures a user would see.
	StaleConnectionFailures int `json:"stale_connection_failures"`
	// FailureSamples holds the first error message of each FailedByKind
	// kind.
	FailureSamples map[string]string `json:"failure_samples,omitempty"`
	// Busy counts attempts a replica answered 503 (busy, retry: its
	// memory budget was full, say) and RateLimited those answered 429.
	// They are retried after their Retry-After and are not failures: a
	// flow that succeeds after them is consistent.
	Busy        int `json:"busy_503"`
	RateLimited int `json:"rate_limited_429"`
	// DuplicateEdits counts edits applied twice because a retry repeated an
	// attempt that had reached the service.
	DuplicateEdits int `json:"duplicate_edits"`

	// Replicas maps each X-Served-By value to its request count.
	Replicas map[string]int `json:"replicas"`
	// Shares maps each replica to its fraction of those requests.
	Shares map[string]float64 `json:"shares"`
	// ExpectedReplicas is the replica count the load should spread over (0
	// when not given: then the replicas seen).
	ExpectedReplicas int `json:"expected_replicas"`
	// Imbalance is max share / mean share: 1 is perfect balance.
	Imbalance float64 `json:"imbalance"`

	// Latency holds per-step percentiles of the time the user waited,
	// retries included; Histograms the per-step distributions.
	Latency    map[string]LatencySummary `json:"latency"`
	Histograms map[string][]Bucket       `json:"histograms"`
	// Errors counts broken flows by failure kind.
	Errors map[string]int `json:"errors"`
	// Examples describes up to ten broken flows.
	Examples []string `json:"examples,omitempty"`
	// ContractViolations counts responses that broke the HTTP contract
	// without breaking a flow.
	ContractViolations map[string]int `json:"contract_violations,omitempty"`

	// Timeline counts flows and broken flows by start time.
	Timeline []TimeBucket `json:"timeline"`
	// Events are the marks set with Runner.Mark.
	Events []Event `json:"events,omitempty"`
}

// TimeBucket is one slice of the run's timeline.
type TimeBucket struct {
	Start  float64 `json:"start_seconds"`
	Flows  int     `json:"flows"`
	Broken int     `json:"broken"`
}

// Event is something that happened during the run, such as a replica being
// killed.
type Event struct {
	At    float64 `json:"at_seconds"`
	Label string  `json:"label"`
}

// stepOrder lists steps in flow order, for tables and charts.
func stepOrder() []string {
	return []string{"form", "csrf", "upload", "page", "workspace", "edit", "verify", "download"}
}

// Steps returns the steps present in the result, in flow order.
func (r *Result) Steps() []string {
	var out []string
	for _, s := range stepOrder() {
		if _, ok := r.Latency[s]; ok {
			out = append(out, s)
		}
	}
	var rest []string
	for s := range r.Latency {
		if !slices.Contains(out, s) {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// ReplicaNames returns the replicas in the result, sorted by name.
func (r *Result) ReplicaNames() []string {
	out := make([]string, 0, len(r.Replicas))
	for k := range r.Replicas {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// VisibleFailures returns the failed requests a browser user would have
// noticed: all of them except those on stale keep-alive connections.
func (r *Result) VisibleFailures() int { return r.FailedRequests - r.StaleConnectionFailures }

// MaxShare returns the largest replica share, as a fraction of 1.
func (r *Result) MaxShare() float64 {
	m := 0.0
	for _, s := range r.Shares {
		m = max(m, s)
	}
	return m
}

// result aggregates everything recorded so far.
func (rn *Runner) result() *Result {
	rec := rn.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	res := &Result{
		URL:                rn.cfg.URL,
		Flow:               rn.cfg.Flow,
		Connections:        rn.cfg.Connections,
		Users:              rn.cfg.Users,
		Edits:              rn.cfg.Edits,
		Download:           rn.cfg.Download,
		Seconds:            math.Round(rec.sinceNow().Seconds()*1000) / 1000,
		RetriesByStep:      map[string]int{},
		FailedByKind:       map[string]int{},
		FailureSamples:     map[string]string{},
		Replicas:           map[string]int{},
		Latency:            map[string]LatencySummary{},
		Histograms:         map[string][]Bucket{},
		Errors:             map[string]int{},
		ExpectedReplicas:   rn.cfg.ExpectedReplicas,
		DuplicateEdits:     int(rec.duplicates.Load()),
		Events:             slices.Clone(rec.events),
		ContractViolations: map[string]int{},
	}
	if rn.cfg.Duration <= 0 {
		res.Iterations = rn.cfg.Iterations
	}
	for k, v := range rec.violations {
		res.ContractViolations[k] = v
	}
	for _, a := range rec.attempts {
		res.Requests++
		if a.retry {
			res.Retries++
			res.RetriesByStep[a.step]++
		}
		switch {
		case !a.failed && a.status == http.StatusTooManyRequests:
			res.RateLimited++
		case !a.failed && busy(a.status, headerIf(a.servedBy)):
			res.Busy++
		case a.failed:
			res.FailedRequests++
			kind := a.errKind
			if a.reused {
				kind += "-reused"
				if staleConnectionKind(a.errKind) {
					res.StaleConnectionFailures++
				}
			}
			res.FailedByKind[kind]++
			if _, ok := res.FailureSamples[kind]; !ok {
				res.FailureSamples[kind] = a.errMsg
			}
		case retryable(a.status, headerIf(a.servedBy), nil):
			res.FailedRequests++
			res.FailedByKind[fmt.Sprintf("proxy-%d", a.status)]++
		}
		if a.servedBy != "" {
			res.Replicas[a.servedBy]++
		}
		if a.session == sessionMiss {
			res.Misses++
		}
	}
	byStep := map[string][]time.Duration{}
	for _, s := range rec.steps {
		byStep[s.step] = append(byStep[s.step], s.latency)
	}
	for step, v := range byStep {
		res.Latency[step] = Summarize(v)
		res.Histograms[step] = Histogram(v)
	}
	flows := slices.Clone(rec.flows)
	slices.SortFunc(flows, func(a, b flowRecord) int { return int(a.start - b.start) })
	for _, f := range flows {
		res.Flows++
		if f.ok {
			res.Consistent++
			continue
		}
		res.Broken++
		res.Errors[f.kind]++
		if len(res.Examples) < 10 {
			res.Examples = append(res.Examples, f.detail)
		}
	}
	res.Consistency = 100
	if res.Flows > 0 {
		res.Consistency = math.Round(float64(res.Consistent)/float64(res.Flows)*10000) / 100
	}
	res.Shares = Shares(res.Replicas)
	res.Imbalance = math.Round(Imbalance(res.Replicas, rn.cfg.ExpectedReplicas)*1000) / 1000
	res.Timeline = timeline(flows, rec.sinceNow())
	return res
}

// headerIf returns a header carrying X-Served-By when servedBy is set, to
// reuse retryable on recorded attempts.
func headerIf(servedBy string) map[string][]string {
	if servedBy == "" {
		return map[string][]string{}
	}
	return map[string][]string{headerServedBy: {servedBy}}
}

// timeline buckets flows by start time into about 30 slices of at least
// 100 ms.
func timeline(flows []flowRecord, total time.Duration) []TimeBucket {
	width := max(100*time.Millisecond, (total / 30).Round(100*time.Millisecond))
	n := int(total/width) + 1
	out := make([]TimeBucket, n)
	for i := range out {
		out[i].Start = math.Round((time.Duration(i)*width).Seconds()*1000) / 1000
	}
	for _, f := range flows {
		i := min(int(f.start/width), n-1)
		out[i].Flows++
		if !f.ok {
			out[i].Broken++
		}
	}
	return out
}

// staleConnectionKind reports whether a failure of this kind on a reused
// keep-alive connection is the idle-connection race: the peer closed the
// connection (eof, reset) or the transport saw it closed (closed) before any
// response arrived. A browser resends such a request without telling the user.
func staleConnectionKind(kind string) bool {
	return kind == "eof" || kind == "reset" || kind == "closed"
}
