// Command demo runs easel's strategy matrix on a local cluster (real
// redis-server, three `easel serve` processes, real nginx), prints the
// comparison table and writes an HTML report with charts. `make demo` runs
// it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
	clustertest "github.com/easelhq/easel/test/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	report := fs.String("report", "demo-report.html", "write the HTML report to `FILE` (empty: none)")
	jsonOut := fs.String("json", "", "also write every result as JSON to `FILE`")
	users := fs.Int("users", 20, "virtual users per scenario")
	iterations := fs.Int("iterations", 3, "flows per user (a minimum for the scenarios with an action)")
	edits := fs.Int("edits", 2, "edits per flow")
	download := fs.Bool("download", true, "download the rendered image in every flow")
	only := fs.String("only", "", "run only scenarios whose name contains this `text`")
	verbose := fs.Bool("v", false, "log cluster operations")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dir, err := os.MkdirTemp("", "easel-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(stderr, "demo: removing the work dir:", err)
		}
	}()
	fmt.Fprintln(stderr, "demo: building easel …")
	bin, err := cluster.BuildEasel(ctx, dir)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}

	var outcomes []clustertest.Outcome
	failed := false
	for i, s := range clustertest.Matrix(*edits, *download) {
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		s.Users, s.Iterations = *users, *iterations
		fmt.Fprintf(stderr, "demo: %s …\n", s.Name)
		res, err := clustertest.Run(ctx, bin, filepath.Join(dir, fmt.Sprint(i)), s, logger)
		if err != nil {
			fmt.Fprintf(stderr, "demo: %s: %v\n", s.Name, err)
			failed = true
		}
		outcomes = append(outcomes, clustertest.Outcome{Scenario: s, Result: res, Err: err})
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintln(stdout)
	if err := clustertest.WriteComparison(stdout, outcomes); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	if *report != "" {
		if err := writeFile(*report, func(w io.Writer) error { return probe.WriteHTML(w, clustertest.NamedResults(outcomes)) }); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nHTML report: %s\n", *report)
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, func(w io.Writer) error { return clustertest.WriteJSON(w, outcomes) }); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := write(f); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	return nil
}
