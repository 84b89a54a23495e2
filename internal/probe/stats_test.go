package probe

import (
	"math"
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func oneToN(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		// Reverse order, to show the input need not be sorted.
		out[i] = time.Duration(n-i) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", durations(7), 50, 7 * time.Millisecond},
		{"single p99", durations(7), 99, 7 * time.Millisecond},
		{"1..100 p50", oneToN(100), 50, 50 * time.Millisecond},
		{"1..100 p95", oneToN(100), 95, 95 * time.Millisecond},
		{"1..100 p99", oneToN(100), 99, 99 * time.Millisecond},
		{"1..100 p100", oneToN(100), 100, 100 * time.Millisecond},
		{"1..10 p95 rounds up", oneToN(10), 95, 10 * time.Millisecond},
		{"1..10 p50", oneToN(10), 50, 5 * time.Millisecond},
		{"1..1000 p99", oneToN(1000), 99, 990 * time.Millisecond},
		{"outlier dominates p99 only", durations(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 99, 500 * time.Millisecond},
		{"outlier invisible at p50", durations(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 50, time.Millisecond},
		{"p0 clamps to min", durations(3, 1, 2), 0, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := append([]time.Duration(nil), tc.values...)
			if got := Percentile(tc.values, tc.p); got != tc.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.values[i] {
					t.Fatalf("Percentile modified its input")
				}
			}
		})
	}
}

func TestImbalance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		counts   map[string]int
		expected int
		want     float64
	}{
		{"no requests", map[string]int{}, 3, 0},
		{"perfect", map[string]int{"a": 100, "b": 100, "c": 100}, 3, 1},
		{"all on one of three observed", map[string]int{"a": 300}, 3, 3},
		{"all on one, expected unknown", map[string]int{"a": 300}, 0, 1},
		{"skewed", map[string]int{"a": 50, "b": 30, "c": 20}, 3, 1.5},
		{"two of three", map[string]int{"a": 50, "b": 50}, 3, 1.5},
		{"expected smaller than observed", map[string]int{"a": 25, "b": 25, "c": 25, "d": 25}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Imbalance(tc.counts, tc.expected); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Imbalance = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShares(t *testing.T) {
	t.Parallel()
	got := Shares(map[string]int{"a": 1, "b": 3})
	if got["a"] != 0.25 || got["b"] != 0.75 {
		t.Fatalf("Shares = %v", got)
	}
	if len(Shares(map[string]int{})) != 0 {
		t.Fatal("Shares of nothing is not empty")
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	got := Summarize(oneToN(100))
	want := LatencySummary{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100, Mean: 50.5}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != LatencySummary{}) {
		t.Fatal("Summarize(nil) is not zero")
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	h := Histogram([]time.Duration{
		500 * time.Microsecond, // ≤1
		time.Millisecond,       // ≤1 (inclusive upper bound)
		3 * time.Millisecond,   // ≤5
		time.Minute,            // overflow
	})
	counts := map[float64]int{}
	total := 0
	for _, b := range h {
		counts[b.UpperMs] = b.Count
		total += b.Count
	}
	if counts[1] != 2 || counts[5] != 1 || counts[-1] != 1 || total != 4 {
		t.Fatalf("Histogram = %+v", h)
	}
}
