package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Table is a Markdown table: leading label columns, then numeric columns.
type Table struct {
	Header []string
	Rows   [][]string
}

// String renders t as a GitHub Markdown table.
func (t Table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	line(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// NA marks a figure that does not exist (imaging has no hue operation).
const NA = "—"

// Num formats a figure with at most prec decimals and no thousands
// separators, so that ParseTables can read it back.
func Num(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

// Ratio formats a ratio such as "1.42×".
func Ratio(v float64) string { return Num(v, 2) + "×" }

// ParsedTable is a table read back from Markdown, with the command named
// on the nearest "Command:" line above it.
type ParsedTable struct {
	Line    int // 1-based line of the header
	Command string
	Table
}

// ParseTables reads every table of a Markdown document. Each must have a
// header, a separator and at least one row, the same number of cells in
// every row, a "Command: `...`" line above it, and, after its leading label
// columns, only numbers (optionally suffixed × or %) or NA.
func ParseTables(md string) ([]ParsedTable, error) {
	lines := strings.Split(md, "\n")
	var out []ParsedTable
	var errs []error
	command := ""
	inFence := false
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if c, ok := strings.CutPrefix(l, "Command: `"); ok {
			command = strings.TrimSuffix(c, "`")
			continue
		}
		if !strings.HasPrefix(l, "|") {
			continue
		}
		t := ParsedTable{Line: i + 1, Command: command}
		t.Header = cells(l)
		j := i + 1
		if j >= len(lines) || !isSeparator(lines[j], len(t.Header)) {
			errs = append(errs, fmt.Errorf("line %d: table header without a separator line", i+1))
		}
		for j++; j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|"); j++ {
			row := cells(strings.TrimSpace(lines[j]))
			if len(row) != len(t.Header) {
				errs = append(errs, fmt.Errorf("line %d: %d cells, the header has %d", j+1, len(row), len(t.Header)))
				continue
			}
			t.Rows = append(t.Rows, row)
		}
		i = j - 1
		if len(t.Rows) == 0 {
			errs = append(errs, fmt.Errorf("line %d: table without rows", t.Line))
		}
		if t.Command == "" {
			errs = append(errs, fmt.Errorf("line %d: no \"Command: `...`\" line names what produced this table", t.Line))
		}
		errs = append(errs, checkNumeric(t)...)
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// checkNumeric checks that every row has the same label columns and numbers
// after them.
func checkNumeric(t ParsedTable) []error {
	labels := -1
	var errs []error
	for k, row := range t.Rows {
		n := 0
		for n < len(row) && !IsFigure(row[n]) {
			n++
		}
		if n == len(row) {
			errs = append(errs, fmt.Errorf("line %d: a row with no figures", t.Line+2+k))
			continue
		}
		for _, c := range row[n:] {
			if !IsFigure(c) {
				errs = append(errs, fmt.Errorf("line %d: %q is not a figure", t.Line+2+k, c))
			}
		}
		if labels >= 0 && n != labels {
			errs = append(errs, fmt.Errorf("line %d: %d label columns, the rows above have %d", t.Line+2+k, n, labels))
		}
		labels = n
	}
	return errs
}

// IsFigure reports whether c is a number, a number suffixed × or %, or NA.
func IsFigure(c string) bool {
	if c == NA {
		return true
	}
	c = strings.TrimSuffix(strings.TrimSuffix(c, "×"), "%")
	_, err := strconv.ParseFloat(c, 64)
	return err == nil
}

func cells(l string) []string {
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	parts := strings.Split(l, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func isSeparator(l string, n int) bool {
	c := cells(strings.TrimSpace(l))
	if len(c) != n {
		return false
	}
	for _, s := range c {
		if strings.Trim(s, ":-") != "" || !strings.Contains(s, "-") {
			return false
		}
	}
	return true
}
