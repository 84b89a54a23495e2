package probe

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of values by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. It returns 0 for no values. The
// input is not modified.
func Percentile(values []time.Duration, p float64) time.Duration {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return percentileSorted(s, p)
}

// percentileSorted is Percentile on an already sorted slice.
func percentileSorted(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// Imbalance returns max share / mean share of the per-replica request
// counts. expected is the number of replicas that should share the load;
// replicas that received nothing are absent from counts but still count
// towards the mean when expected exceeds len(counts). A perfectly balanced
// load gives 1; everything on one of three replicas gives 3. It returns 0
// when there are no requests.
func Imbalance(counts map[string]int, expected int) float64 {
	total, top := 0, 0
	for _, c := range counts {
		total += c
		top = max(top, c)
	}
	n := max(expected, len(counts))
	if total == 0 || n == 0 {
		return 0
	}
	maxShare := float64(top) / float64(total)
	meanShare := 1 / float64(n)
	return maxShare / meanShare
}

// Shares returns each replica's share of the requests as a fraction of 1.
func Shares(counts map[string]int) map[string]float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	out := make(map[string]float64, len(counts))
	if total == 0 {
		return out
	}
	for k, c := range counts {
		out[k] = float64(c) / float64(total)
	}
	return out
}

// LatencySummary is the distribution of one step's latencies.
type LatencySummary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize computes count, p50, p95, p99, max and mean of values, in
// milliseconds.
func Summarize(values []time.Duration) LatencySummary {
	if len(values) == 0 {
		return LatencySummary{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return LatencySummary{
		Count: len(s),
		P50:   ms(percentileSorted(s, 50)),
		P95:   ms(percentileSorted(s, 95)),
		P99:   ms(percentileSorted(s, 99)),
		Max:   ms(s[len(s)-1]),
		Mean:  ms(sum / time.Duration(len(s))),
	}
}

// ms converts a duration to fractional milliseconds rounded to 0.01 ms.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// Bucket is one bar of a latency histogram: the count of values v with
// previous bucket's UpperMs < v ≤ UpperMs.
type Bucket struct {
	UpperMs float64 `json:"le_ms"`
	Count   int     `json:"count"`
}

// histogramBounds returns the bucket upper bounds in milliseconds, roughly
// logarithmic; the last bucket is open-ended.
func histogramBounds() []float64 {
	return []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, math.Inf(1)}
}

// Histogram sorts values into logarithmic latency buckets from 1 ms to 5 s
// plus an overflow bucket, whose UpperMs is -1 (JSON has no infinity).
func Histogram(values []time.Duration) []Bucket {
	bounds := histogramBounds()
	out := make([]Bucket, len(bounds))
	for i, b := range bounds {
		out[i].UpperMs = b
		if math.IsInf(b, 1) {
			out[i].UpperMs = -1
		}
	}
	for _, v := range values {
		m := float64(v) / float64(time.Millisecond)
		for i, b := range bounds {
			if m <= b {
				out[i].Count++
				break
			}
		}
	}
	return out
}
