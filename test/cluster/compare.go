package clustertest

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/easelhq/easel/internal/probe"
)

// Outcome is one scenario's measurement, or the error that prevented it.
type Outcome struct {
	Scenario Scenario
	Result   *probe.Result
	Err      error
}

// WriteComparison writes the strategy matrix as a table: one row per
// scenario with consistency, broken flows, misses, the largest replica
// share, imbalance, and failed requests (user-visible / stale keep-alive).
func WriteComparison(w io.Writer, outcomes []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "strategy\tconsistency\tflows\tbroken\tmisses\tmax share\timbalance\tfailed req. (visible/stale)\tretries\texpected")
	for _, o := range outcomes {
		if o.Result == nil {
			fmt.Fprintf(tw, "%s\terror: %v\t\t\t\t\t\t\t\t%s\n", o.Scenario.Name, o.Err, o.Scenario.Expectation)
			continue
		}
		r := o.Result
		fmt.Fprintf(tw, "%s\t%.1f%%\t%d\t%d\t%d\t%.1f%%\t%.2f\t%d/%d\t%d\t%s\n",
			o.Scenario.Name, r.Consistency, r.Flows, r.Broken, r.Misses, r.MaxShare()*100, r.Imbalance,
			r.VisibleFailures(), r.StaleConnectionFailures, r.Retries, o.Scenario.Expectation)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}

// NamedResults converts outcomes that produced a result for probe.WriteHTML.
func NamedResults(outcomes []Outcome) []probe.NamedResult {
	var out []probe.NamedResult
	for _, o := range outcomes {
		if o.Result != nil {
			out = append(out, probe.NamedResult{Name: o.Scenario.Name, Expectation: o.Scenario.Expectation, Result: o.Result})
		}
	}
	return out
}

// WriteJSON writes the outcomes as a JSON array of {name, expectation,
// result, error}.
func WriteJSON(w io.Writer, outcomes []Outcome) error {
	type row struct {
		Name        string        `json:"name"`
		Expectation string        `json:"expectation"`
		Result      *probe.Result `json:"result,omitempty"`
		Error       string        `json:"error,omitempty"`
	}
	rows := make([]row, len(outcomes))
	for i, o := range outcomes {
		rows[i] = row{Name: o.Scenario.Name, Expectation: o.Scenario.Expectation, Result: o.Result}
		if o.Err != nil {
			rows[i].Error = o.Err.Error()
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}
