package probe

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Exit codes of Command.
const (
	// ExitOK: the run completed and met --expect-consistency.
	ExitOK = 0
	// ExitFailed: consistency was below --expect-consistency, or the probe
	// could not run or write its reports.
	ExitFailed = 1
	// ExitUsage: the arguments were invalid.
	ExitUsage = 2
)

// cliOptions are the flags of `easel probe` that are not part of Config.
type cliOptions struct {
	sourceIPs         string
	expectConsistency float64
	json              bool
	html              string
	quiet             bool
	verbose           bool
}

// newFlagSet binds the flags of `easel probe` to cfg and o.
func newFlagSet(cfg *Config, o *cliOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("easel probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", cfg.URL, "base `URL` of the service or the balancer in front of it")
	fs.StringVar(&cfg.Host, "host", cfg.Host, "send this `host[:port]` as the Host header (and TLS server name) instead of --url's, e.g. to reach an Ingress rule for easel.example.com through the controller's IP")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "concurrent virtual users, each with its own cookie jar")
	fs.IntVar(&cfg.Iterations, "iterations", cfg.Iterations, "flows per user (ignored with --duration)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "run flows until this much time has passed, instead of --iterations")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "at most this many flow starts per second across all users (0: no limit)")
	fs.IntVar(&cfg.Edits, "edits", cfg.Edits, "edits per flow, each checked; 0 skips the edit steps")
	fs.StringVar(&cfg.Flow, "flow", cfg.Flow, "flow to run: web (form, POST /image, 303, GET /image) or api (JSON only)")
	fs.BoolVar(&cfg.Composite, "composite", cfg.Composite, "run a built-in composite job after the edits, poll it to the end and check its result is the last edit")
	fs.BoolVar(&cfg.Download, "download", cfg.Download, "download the rendered image at the end of each flow and check it")
	fs.Func("image-size", "`WIDTHxHEIGHT` of the generated uploads (default 64x48; with --photo up to 16384 a side, e.g. 8064x6048 for a 48 MP phone photo)", func(v string) error {
		w, h, err := ParseSize(v)
		cfg.ImageWidth, cfg.ImageHeight = w, h
		return err
	})
	fs.BoolVar(&cfg.Photo, "photo", cfg.Photo, "upload photo-like JPEGs (gradients and grain, like a camera's) of --image-size instead of small PNGs, and download full-size JPEGs: a load test with what phones send")
	fs.StringVar(&cfg.Connections, "connections", cfg.Connections, "connection model: per-user keeps each user's connections alive, as a browser does; per-request opens a new connection for every request, which makes a per-connection balancer (a Kubernetes Service, kube-proxy) spread a user's requests the way an L7 balancer does")
	fs.StringVar(&o.sourceIPs, "source-ips", "", "bind each user to a local address from this list or range, e.g. 127.0.0.2-127.0.0.60 (ip_hash only looks at the first three octets)")
	fs.IntVar(&cfg.Retries, "retries", cfg.Retries, "retries of a request that fails to connect or gets 502/503/504 from the proxy")
	fs.IntVar(&cfg.BusyRetries, "busy-retries", cfg.BusyRetries, "retries of a request a replica answers 503 (busy) or that gets 429, each after its Retry-After (at most 30s); counted apart from failures")
	fs.DurationVar(&cfg.RetryBackoff, "retry-backoff", cfg.RetryBackoff, "pause before the first retry; doubles per retry")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of a single request")
	fs.IntVar(&cfg.ExpectedReplicas, "replicas", cfg.ExpectedReplicas, "number of replicas the load should spread over, for the imbalance (0: those seen)")
	fs.Float64Var(&o.expectConsistency, "expect-consistency", -1, "exit 1 when consistency is below this `PERCENT`")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object on stdout (the table goes to stderr)")
	fs.StringVar(&o.html, "html", "", "write a self-contained HTML report with charts to `FILE`")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line and no table")
	fs.BoolVar(&o.verbose, "v", false, "log every broken flow to stderr")
	return fs
}

// Hook extends `easel probe` from outside this package, which stays a pure
// HTTP client: cmd/easel adds Kubernetes chaos this way.
type Hook struct {
	// Flags registers the hook's flags.
	Flags func(fs *flag.FlagSet)
	// Prepare runs after parsing; a non-nil error is a usage error. It
	// returns the task to run alongside the probe, or nil for none.
	Prepare func() (During, error)
}

// During runs while the probe runs; its context ends with the run. mark
// records an event on the report's timeline. An error fails the run.
type During func(ctx context.Context, mark func(label string)) error

// Command runs `easel probe` with args (without the subcommand name) and
// returns the process exit code.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return CommandWith(ctx, args, stdout, stderr, Hook{})
}

// CommandWith is Command with a Hook.
func CommandWith(ctx context.Context, args []string, stdout, stderr io.Writer, hook Hook) int {
	cfg := DefaultConfig()
	var o cliOptions
	fs := newFlagSet(&cfg, &o, stderr)
	if hook.Flags != nil {
		hook.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "easel probe: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	if o.sourceIPs != "" {
		ips, err := ParseSourceIPs(o.sourceIPs)
		if err != nil {
			fmt.Fprintf(stderr, "easel probe: --source-ips: %v\n", err)
			return ExitUsage
		}
		cfg.SourceIPs = ips
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "easel probe: %v\n", err)
		return ExitUsage
	}
	var during During
	if hook.Prepare != nil {
		var err error
		if during, err = hook.Prepare(); err != nil {
			fmt.Fprintf(stderr, "easel probe: %v\n", err)
			return ExitUsage
		}
	}

	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	opts := Options{Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	if !o.quiet {
		opts.Progress = stderr
	}
	res, duringErr, err := runWith(ctx, cfg, opts, during)
	if err != nil {
		fmt.Fprintf(stderr, "easel probe: %v\n", err)
		return ExitFailed
	}

	code := ExitOK
	if duringErr != nil {
		fmt.Fprintf(stderr, "easel probe: %v\n", duringErr)
		code = ExitFailed
	}
	if err := writeReports(res, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "easel probe: %v\n", err)
		code = ExitFailed
	}
	if o.expectConsistency >= 0 && res.Consistency < o.expectConsistency {
		fmt.Fprintf(stderr, "easel probe: consistency %.2f%% is below the expected %.2f%%\n", res.Consistency, o.expectConsistency)
		code = ExitFailed
	}
	return code
}

// writeReports writes the table, the JSON and the HTML file as asked.
func writeReports(res *Result, o cliOptions, stdout, stderr io.Writer) error {
	if !o.quiet {
		table := stdout
		if o.json {
			table = stderr
		}
		if err := WriteText(table, res); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("writing json: %w", err)
		}
	}
	if o.html != "" {
		f, err := os.Create(o.html)
		if err != nil {
			return fmt.Errorf("creating html report: %w", err)
		}
		if err := WriteHTML(f, []NamedResult{{Name: res.URL, Result: res}}); err != nil {
			_ = f.Close() // the write error is the one to report
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("closing html report: %w", err)
		}
		if !o.quiet {
			fmt.Fprintf(stderr, "html report: %s\n", o.html)
		}
	}
	return nil
}

// runWith runs the probe with an optional task alongside it.
func runWith(ctx context.Context, cfg Config, opts Options, during During) (*Result, error, error) {
	r, err := NewRunner(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	if during == nil {
		res, err := r.Run(ctx)
		return res, nil, err
	}
	dctx, cancel := context.WithCancel(ctx)
	derr := make(chan error, 1)
	go func() { derr <- during(dctx, r.Mark) }()
	res, err := r.Run(ctx)
	cancel()
	return res, <-derr, err
}
