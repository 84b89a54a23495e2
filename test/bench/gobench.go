package bench

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Sample is one line of `go test -bench` output: a benchmark name (without
// the -GOMAXPROCS suffix) and its metrics by unit (ns/op, B/op, allocs/op,
// and custom ones such as p99-µs).
type Sample struct {
	Name    string
	Metrics map[string]float64
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// ParseGoBench reads `go test -bench` output and returns its result lines
// in order; every other line is skipped.
func ParseGoBench(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		s := Sample{Name: procSuffix.ReplaceAllString(f[0], ""), Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			s.Metrics[f[i+1]] = v
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// Medians groups samples by name and returns the median of every metric,
// with the names in first-seen order.
func Medians(samples []Sample) (names []string, med map[string]map[string]float64) {
	byName := map[string]map[string][]float64{}
	for _, s := range samples {
		m, ok := byName[s.Name]
		if !ok {
			m = map[string][]float64{}
			byName[s.Name] = m
			names = append(names, s.Name)
		}
		for unit, v := range s.Metrics {
			m[unit] = append(m[unit], v)
		}
	}
	med = map[string]map[string]float64{}
	for name, m := range byName {
		med[name] = map[string]float64{}
		for unit, vs := range m {
			med[name][unit] = Median(vs)
		}
	}
	return names, med
}

// Median returns the median of vs (the mean of the middle two for an even
// count), or 0 for none. vs is not modified.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
