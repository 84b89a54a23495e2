// Command run is `make bench`: it measures easel against the alternatives
// (see package bench), rewrites BENCHMARKS.md and prints the ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

// settings are the knobs of one run; the defaults fit in ten minutes on a
// 2-core machine.
type settings struct {
	out, work, benchstat                 string
	sessionCount                         int
	sessionTime                          string
	previewTime, fullTime                string
	previewCount, fullCount              int
	views, rounds, users, edits, replica int
	e2eDuration                          time.Duration
	s3server                             string
	blobUpload, blobUsers, blobViews     int
	blobRounds                           int
	largeRounds                          int
	only                                 string
}

func main() {
	var s settings
	flag.StringVar(&s.out, "out", "BENCHMARKS.md", "the report to rewrite (relative to the module root)")
	flag.StringVar(&s.work, "work", "", "directory for raw outputs and profiles (default: a new temporary one)")
	flag.StringVar(&s.benchstat, "benchstat", "bin/benchstat", "the benchstat binary")
	flag.IntVar(&s.sessionCount, "session-count", 5, "runs of every session store benchmark")
	flag.StringVar(&s.sessionTime, "session-benchtime", "1s", "-benchtime of the session store benchmarks")
	flag.StringVar(&s.previewTime, "preview-benchtime", "10x", "-benchtime of the preview operations")
	flag.IntVar(&s.previewCount, "preview-count", 5, "runs of every preview operation")
	flag.StringVar(&s.fullTime, "full-benchtime", "2x", "-benchtime of the 12 MP operations and the export")
	flag.IntVar(&s.fullCount, "full-count", 3, "runs of every 12 MP operation")
	flag.IntVar(&s.views, "views", 30, "steady-state page views measured per variant")
	flag.IntVar(&s.rounds, "e2e-rounds", 3, "end-to-end runs per strategy (alternating)")
	flag.DurationVar(&s.e2eDuration, "e2e-duration", 12*time.Second, "length of one end-to-end run")
	flag.IntVar(&s.users, "e2e-users", 16, "probe users in the end-to-end runs")
	flag.IntVar(&s.edits, "e2e-edits", 3, "edits per probe flow")
	flag.IntVar(&s.replica, "replicas", 3, "easel replicas behind nginx")
	flag.StringVar(&s.s3server, "s3-server", "bin/gofakes3", "the S3 server of the blob store step (bash hack/install-tools.sh gofakes3)")
	flag.IntVar(&s.blobUpload, "blob-upload", 3<<20, "bytes of each user's upload in the blob store step")
	flag.IntVar(&s.blobUsers, "blob-users", 8, "users in the blob store step")
	flag.IntVar(&s.blobViews, "blob-views", 20, "steady-state views per user in the blob store step")
	flag.IntVar(&s.blobRounds, "blob-rounds", 2, "rounds of the blob store step (each runs both variants)")
	flag.IntVar(&s.largeRounds, "large-rounds", 3, "rounds of the large photos step (each runs easel and vips)")
	flag.StringVar(&s.only, "only", "", "run only this step (e.g. \"blob store\") and print its section instead of rewriting the report")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s, "go run ./test/bench/run "+strings.Join(os.Args[1:], " ")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, s settings, command string) error {
	start := time.Now()
	root, err := cluster.ModuleRoot()
	if err != nil {
		return err
	}
	if s.work == "" {
		if s.work, err = os.MkdirTemp("", "easel-bench-"); err != nil {
			return err
		}
	}
	if s.work, err = filepath.Abs(s.work); err != nil {
		return err
	}
	if !filepath.IsAbs(s.benchstat) {
		s.benchstat = filepath.Join(root, s.benchstat)
	}
	r := &report{s: s, root: root, command: strings.TrimSpace(command), started: start}
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"session store", r.sessions},
		{"bytes per page view", r.traffic},
		{"end to end", r.e2e},
		{"image operations", r.imaging},
		{"blob store", r.blobs},
		{"large photos", r.largePhotos},
	}
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%5.0fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	log("raw outputs in %s", s.work)
	bin, err := cluster.BuildEasel(ctx, s.work)
	if err != nil {
		return err
	}
	r.bin = bin
	for _, st := range steps {
		if s.only != "" && st.name != s.only {
			continue
		}
		log("%s…", st.name)
		if err := st.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	r.elapsed = time.Since(start)
	if s.only != "" { // a part of the report: print it, keep BENCHMARKS.md
		for _, sec := range r.sections {
			fmt.Printf("## %s\n\n%s\n", sec.title, sec.body)
		}
		fmt.Print(r.summary())
		return nil
	}
	md := r.markdown()
	out := s.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	log("wrote %s", s.out)
	fmt.Print(r.summary())
	return nil
}
