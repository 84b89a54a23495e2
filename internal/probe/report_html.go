package probe

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"time"
)

// NamedResult is one run in an HTML report, such as one strategy of the
// demo matrix.
type NamedResult struct {
	// Name titles the run's section, e.g. "memory + round robin".
	Name string
	// Expectation says what the run should show, e.g. "consistency < 50%".
	Expectation string
	// Result is the probe's measurement.
	Result *Result
}

// WriteHTML writes a self-contained HTML report (no scripts, no external
// files) with a summary table and, per run, inline SVG charts: requests per
// replica, the latency histogram of each step and broken flows over time.
func WriteHTML(w io.Writer, runs []NamedResult) error {
	type section struct {
		NamedResult
		Replicas chart
		Latency  []chart
		Timeline chart
		Steps    []string
	}
	data := struct {
		Generated string
		Runs      []section
	}{Generated: time.Now().UTC().Format(time.RFC3339)}
	for _, r := range runs {
		s := section{NamedResult: r, Replicas: replicaChart(r.Result), Timeline: timelineChart(r.Result), Steps: r.Result.Steps()}
		for _, step := range s.Steps {
			s.Latency = append(s.Latency, histogramChart(step, r.Result.Histograms[step], r.Result.Latency[step]))
		}
		data.Runs = append(data.Runs, s)
	}
	t, err := template.New("report").Funcs(template.FuncMap{
		"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"f2":    func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"f1":    func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"share": func(r *Result) string { return fmt.Sprintf("%.1f%%", r.MaxShare()*100) },
	}).Parse(reportTemplate)
	if err != nil {
		return fmt.Errorf("parsing report template: %w", err)
	}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("writing html report: %w", err)
	}
	return nil
}

// chart is an SVG drawing made of rectangles, lines and text, computed in
// Go so that the template only places shapes.
type chart struct {
	Title string
	W, H  float64
	Rects []rect
	Lines []line
	Texts []text
}

type rect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type line struct {
	X1, Y1, X2, Y2 float64
	Stroke         string
	Dash           bool
}

type text struct {
	X, Y   float64
	Anchor string
	Size   int
	Fill   string
	S      string
}

// Colours of the charts.
const (
	colBar    = "#4c78a8"
	colOK     = "#54a24b"
	colBroken = "#e45756"
	colAxis   = "#888"
	colEvent  = "#b279a2"
	colText   = "#333"
)

// replicaChart draws one horizontal bar per replica with its share, and a
// dashed line at the fair share.
func replicaChart(r *Result) chart {
	names := r.ReplicaNames()
	const left, right, rowH, top = 110.0, 90.0, 26.0, 24.0
	c := chart{Title: "requests per replica", W: 560, H: top + rowH*float64(max(len(names), 1)) + 24}
	plotW := c.W - left - right
	top1 := 0.0
	for _, n := range names {
		top1 = max(top1, r.Shares[n])
	}
	scale := 1.0
	if top1 > 0 {
		scale = 1 / top1
	}
	for i, n := range names {
		y := top + float64(i)*rowH
		w := r.Shares[n] * scale * plotW
		c.Rects = append(c.Rects, rect{X: left, Y: y + 3, W: w, H: rowH - 8, Fill: colBar,
			Title: fmt.Sprintf("%s: %d requests (%.1f%%)", n, r.Replicas[n], r.Shares[n]*100)})
		c.Texts = append(c.Texts,
			text{X: left - 6, Y: y + rowH/2 + 3, Anchor: "end", Size: 12, Fill: colText, S: n},
			text{X: left + w + 6, Y: y + rowH/2 + 3, Anchor: "start", Size: 12, Fill: colText, S: fmt.Sprintf("%d (%.1f%%)", r.Replicas[n], r.Shares[n]*100)})
	}
	if n := max(r.ExpectedReplicas, len(names)); n > 0 && top1 > 0 {
		x := left + (1/float64(n))*scale*plotW
		c.Lines = append(c.Lines, line{X1: x, Y1: top - 6, X2: x, Y2: c.H - 18, Stroke: colAxis, Dash: true})
		c.Texts = append(c.Texts, text{X: x, Y: c.H - 6, Anchor: "middle", Size: 10, Fill: colAxis, S: "fair share"})
	}
	if len(names) == 0 {
		c.Texts = append(c.Texts, text{X: c.W / 2, Y: c.H / 2, Anchor: "middle", Size: 12, Fill: colAxis, S: "no responses with X-Served-By"})
	}
	return c
}

// histogramChart draws a step's latency histogram with its percentiles.
func histogramChart(step string, buckets []Bucket, l LatencySummary) chart {
	c := chart{Title: fmt.Sprintf("%s: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (n=%d)", step, l.P50, l.P95, l.P99, l.Count), W: 360, H: 170}
	const left, bottom, top = 30.0, 36.0, 10.0
	plotW, plotH := c.W-left-10, c.H-bottom-top
	peak := 0
	for _, b := range buckets {
		peak = max(peak, b.Count)
	}
	bw := plotW / float64(max(len(buckets), 1))
	for i, b := range buckets {
		h := 0.0
		if peak > 0 {
			h = float64(b.Count) / float64(peak) * plotH
		}
		x := left + float64(i)*bw
		label := fmt.Sprintf("≤%g", b.UpperMs)
		if b.UpperMs < 0 {
			label = ">5000"
		}
		c.Rects = append(c.Rects, rect{X: x + 1, Y: top + plotH - h, W: bw - 2, H: h, Fill: colBar, Title: fmt.Sprintf("%s ms: %d", label, b.Count)})
		c.Texts = append(c.Texts, text{X: x + bw/2, Y: c.H - bottom + 12, Anchor: "middle", Size: 8, Fill: colText, S: label})
		if b.Count > 0 {
			c.Texts = append(c.Texts, text{X: x + bw/2, Y: top + plotH - h - 2, Anchor: "middle", Size: 8, Fill: colText, S: fmt.Sprint(b.Count)})
		}
	}
	c.Lines = append(c.Lines, line{X1: left, Y1: top + plotH, X2: c.W - 10, Y2: top + plotH, Stroke: colAxis})
	c.Texts = append(c.Texts, text{X: left + plotW/2, Y: c.H - 8, Anchor: "middle", Size: 10, Fill: colAxis, S: "latency (ms, bucket upper bound)"})
	return c
}

// timelineChart draws flows per time slice, broken ones stacked in red,
// with the run's events as vertical lines.
func timelineChart(r *Result) chart {
	c := chart{Title: "flows over time (broken in red)", W: 720, H: 200}
	const left, bottom, top = 36.0, 30.0, 16.0
	plotW, plotH := c.W-left-10, c.H-bottom-top
	peak := 0
	for _, b := range r.Timeline {
		peak = max(peak, b.Flows)
	}
	n := max(len(r.Timeline), 1)
	bw := plotW / float64(n)
	span := r.Seconds
	if len(r.Timeline) > 1 {
		span = math.Max(span, r.Timeline[len(r.Timeline)-1].Start+(r.Timeline[1].Start-r.Timeline[0].Start))
	}
	for i, b := range r.Timeline {
		x := left + float64(i)*bw
		if peak == 0 {
			break
		}
		okH := float64(b.Flows-b.Broken) / float64(peak) * plotH
		brH := float64(b.Broken) / float64(peak) * plotH
		tip := fmt.Sprintf("from %.1fs: %d flows, %d broken", b.Start, b.Flows, b.Broken)
		c.Rects = append(c.Rects,
			rect{X: x + 1, Y: top + plotH - okH - brH, W: bw - 2, H: brH, Fill: colBroken, Title: tip},
			rect{X: x + 1, Y: top + plotH - okH, W: bw - 2, H: okH, Fill: colOK, Title: tip})
		if i%5 == 0 {
			c.Texts = append(c.Texts, text{X: x, Y: c.H - bottom + 14, Anchor: "start", Size: 9, Fill: colText, S: fmt.Sprintf("%.2fs", b.Start)})
		}
	}
	c.Lines = append(c.Lines, line{X1: left, Y1: top + plotH, X2: c.W - 10, Y2: top + plotH, Stroke: colAxis})
	c.Texts = append(c.Texts, text{X: 4, Y: top + 8, Anchor: "start", Size: 9, Fill: colAxis, S: fmt.Sprint(peak)})
	for _, e := range r.Events {
		if span <= 0 {
			break
		}
		x := left + e.At/span*plotW
		c.Lines = append(c.Lines, line{X1: x, Y1: top, X2: x, Y2: top + plotH, Stroke: colEvent, Dash: true})
		c.Texts = append(c.Texts, text{X: x + 3, Y: top - 4, Anchor: "start", Size: 10, Fill: colEvent, S: e.Label})
	}
	return c
}

const reportTemplate = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>easel probe report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#222;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f4f4f4}td.l{text-align:left}.bad{color:#c0392b;font-weight:600}.good{color:#2e7d32;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:.5em 1.5em}svg{background:#fcfcfc;border:1px solid #eee}
.muted{color:#777}code{background:#f4f4f4;padding:0 .2em}
</style></head><body>
<h1>easel probe report</h1>
<p class="muted">Generated {{.Generated}}. Consistency is the share of flows in which every step saw the user's own session and image.</p>
<table><tr><th>run</th><th>expectation</th><th>flows</th><th>consistency</th><th>broken</th><th>misses</th><th>max share</th><th>imbalance</th><th>failed req.</th><th>busy 503</th><th>429</th><th>retries</th></tr>
{{range .Runs}}<tr><td><a href="#{{.Name}}">{{.Name}}</a></td><td class="l">{{.Expectation}}</td><td>{{.Result.Flows}}</td>
<td class="{{if lt .Result.Consistency 100.0}}bad{{else}}good{{end}}">{{f2 .Result.Consistency}}%</td>
<td>{{.Result.Broken}}</td><td>{{.Result.Misses}}</td><td>{{share .Result}}</td><td>{{f2 .Result.Imbalance}}</td><td>{{.Result.FailedRequests}}</td><td>{{.Result.Busy}}</td><td>{{.Result.RateLimited}}</td><td>{{.Result.Retries}}</td></tr>
{{end}}</table>
{{range .Runs}}
<h2 id="{{.Name}}">{{.Name}}</h2>
<p><code>{{.Result.URL}}</code>, {{.Result.Flow}} flow, {{.Result.Users}} users, {{.Result.Edits}} edits per flow, connections {{.Result.Connections}}, {{f1 .Result.Seconds}} s.
{{if .Expectation}}Expected: {{.Expectation}}.{{end}}</p>
<div class="charts">
{{template "chart" .Replicas}}
{{template "chart" .Timeline}}
</div>
<h3>latency per step</h3>
<table><tr><th>step</th><th>count</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>retries</th></tr>
{{$r := .Result}}{{range .Steps}}{{$l := index $r.Latency .}}<tr><td>{{.}}</td><td>{{$l.Count}}</td><td>{{f1 $l.P50}}</td><td>{{f1 $l.P95}}</td><td>{{f1 $l.P99}}</td><td>{{f1 $l.Max}}</td><td>{{index $r.RetriesByStep .}}</td></tr>
{{end}}</table>
<div class="charts">{{range .Latency}}{{template "chart" .}}{{end}}</div>
{{if .Result.Errors}}<h3>broken flows by kind</h3><table><tr><th>kind</th><th>flows</th></tr>
{{range $k, $v := .Result.Errors}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>{{end}}
{{if .Result.Examples}}<h3>examples</h3><ul>{{range .Result.Examples}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
</body></html>
{{define "chart"}}<figure style="margin:0"><figcaption><h3>{{.Title}}</h3></figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}">
{{range .Rects}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Lines}}<line x1="{{.X1}}" y1="{{.Y1}}" x2="{{.X2}}" y2="{{.Y2}}" stroke="{{.Stroke}}"{{if .Dash}} stroke-dasharray="4 3"{{end}}/>
{{end}}{{range .Texts}}<text x="{{.X}}" y="{{.Y}}" text-anchor="{{.Anchor}}" font-size="{{.Size}}" fill="{{.Fill}}">{{.S}}</text>
{{end}}</svg></figure>{{end}}`
