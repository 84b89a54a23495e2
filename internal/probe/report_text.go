package probe

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText writes the result as a terminal table: the verdict, the
// requests per replica, the latency per step and the errors by kind.
func WriteText(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("easel probe\t%s (%s flow, %d users, %d edits, connections %s, %.1fs)\n", r.URL, r.Flow, r.Users, r.Edits, r.Connections, r.Seconds)
	p("consistency\t%.2f%%\t%d of %d flows saw their own state, %d broken\n", r.Consistency, r.Consistent, r.Flows, r.Broken)
	p("session misses\t%d\n", r.Misses)
	p("requests\t%d\t%d failed at the proxy or connection (%d on stale keep-alive connections), %d retries\n",
		r.Requests, r.FailedRequests, r.StaleConnectionFailures, r.Retries)
	if r.Busy > 0 || r.RateLimited > 0 {
		p("busy answers\t%d\t503 from a replica (busy) and %d 429 (over a limit), retried after Retry-After; not failures\n", r.Busy, r.RateLimited)
	}
	if len(r.FailedByKind) > 0 {
		p("failed requests\t%s\n", joinCounts(r.FailedByKind))
	}
	if r.DuplicateEdits > 0 {
		p("duplicate edits\t%d\t(retried edits applied twice)\n", r.DuplicateEdits)
	}
	p("imbalance\t%.3f\tmax share / mean share over %d replicas\n", r.Imbalance, max(r.ExpectedReplicas, len(r.Replicas)))
	for _, e := range r.Events {
		p("event\t%.1fs\t%s\n", e.At, e.Label)
	}
	p("\n")

	p("replica\trequests\tshare\t\n")
	for _, name := range r.ReplicaNames() {
		share := r.Shares[name]
		p("%s\t%d\t%5.1f%%\t%s\n", name, r.Replicas[name], share*100, strings.Repeat("█", int(share*40+0.5)))
	}
	p("\n")

	p("step\tcount\tp50 ms\tp95 ms\tp99 ms\tmax ms\tretries\n")
	for _, s := range r.Steps() {
		l := r.Latency[s]
		p("%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n", s, l.Count, l.P50, l.P95, l.P99, l.Max, r.RetriesByStep[s])
	}

	if len(r.Errors) > 0 {
		p("\n")
		p("broken by\tflows\n")
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool {
			return r.Errors[kinds[i]] > r.Errors[kinds[j]] || r.Errors[kinds[i]] == r.Errors[kinds[j]] && kinds[i] < kinds[j]
		})
		for _, k := range kinds {
			p("%s\t%d\n", k, r.Errors[k])
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	for i, e := range r.Examples {
		if i == 0 {
			fmt.Fprintln(w, "\nexamples:")
		}
		fmt.Fprintf(w, "  - %s\n", e)
	}
	if len(r.ContractViolations) > 0 {
		fmt.Fprintln(w, "\ncontract violations (did not break flows):")
		for k, v := range r.ContractViolations {
			fmt.Fprintf(w, "  - %dx %s\n", v, k)
		}
	}
	return nil
}

// joinCounts formats a count map as "a 3, b 1", largest first.
func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
