package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchmarksFile checks the committed BENCHMARKS.md: it was written by
// `make bench`, every table parses (label columns, then figures), and every
// table names the command that produced it.
func TestBenchmarksFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{"`make bench`", "Command: `go run ./test/bench/run", "- Machine: ", "- Go: go", "- Date: "} {
		if !strings.Contains(md, want) {
			t.Errorf("BENCHMARKS.md does not contain %q", want)
		}
	}
	tables, err := ParseTables(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 6 {
		t.Errorf("BENCHMARKS.md has %d tables; the session, traffic, end-to-end and imaging sections make at least 6", len(tables))
	}
	for _, tb := range tables {
		if !strings.HasPrefix(tb.Command, "go test ") && !strings.HasPrefix(tb.Command, "go run ./test/bench/run") {
			t.Errorf("line %d: table produced by %q, not by go test or the bench driver", tb.Line, tb.Command)
		}
	}
	for _, section := range []string{"## 1. Session store", "## 2. Redis bytes", "## 3. End to end", "## 4. Image operations"} {
		if !strings.Contains(md, section) {
			t.Errorf("BENCHMARKS.md has no section %q", section)
		}
	}
}

func TestParseTables(t *testing.T) {
	t.Parallel()
	good := Table{Header: []string{"op", "ms", "ratio"}, Rows: [][]string{{"crop", "1.5", "2.00×"}, {"hue", "3", NA}}}
	tests := []struct {
		name, md string
		ok       bool
	}{
		{"good", "Command: `go test -bench .`\n\n" + good.String(), true},
		{"no command", good.String(), false},
		{"ragged row", "Command: `x`\n| a | b |\n| --- | --- |\n| x | 1 | 2 |\n", false},
		{"word among figures", "Command: `x`\n| a | b | c |\n| --- | --- | --- |\n| x | 1 | fast |\n", false},
		{"no separator", "Command: `x`\n| a | b |\n| x | 1 |\n", false},
		{"fenced tables are not tables", "```\n| a |\n```\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTables(tt.md)
			if (err == nil) != tt.ok {
				t.Errorf("ParseTables: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestParseGoBench(t *testing.T) {
	t.Parallel()
	out := `goos: linux
BenchmarkStoreGetSave/store=easel/conc=seq-2   7614   111335 ns/op   276.6 p99-µs   6899 B/op   108 allocs/op
BenchmarkStoreGetSave/store=easel/conc=seq-2   7000   100000 ns/op   200.0 p99-µs   6899 B/op   108 allocs/op
BenchmarkStoreGetSave/store=easel/conc=seq-2   7000   120000 ns/op   300.0 p99-µs   6899 B/op   108 allocs/op
PASS
`
	samples, err := ParseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	names, med := Medians(samples)
	if len(names) != 1 || names[0] != "BenchmarkStoreGetSave/store=easel/conc=seq" {
		t.Fatalf("names = %q", names)
	}
	m := med[names[0]]
	if m["ns/op"] != 111335 || m["p99-µs"] != 276.6 || m["allocs/op"] != 108 {
		t.Errorf("medians = %v", m)
	}
}
