// Command easel is a multi-replica image editor: `easel serve` runs the web
// service, `easel probe` measures a deployment's session consistency and
// balance, `easel version` prints the build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/easelhq/easel/internal/budget"
	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/version"
)

const usage = `Usage: easel [serve|probe|version] [flags]

  serve    run the web service (the default); see easel serve --help
  probe    drive virtual users through a deployment and report consistency; see easel probe --help
  version  print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, stopSignals func(), args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "probe" || args[0] == "version" || args[0] == "help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "easel", version.Version)
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "probe":
		return runProbe(ctx, args, stdout, stderr)
	}
	cfg, err := config.Load(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "easel:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	store.RouteLogs(log)
	if cfg.Memory.Budget, err = budget.Configure(cfg.Memory.Budget, cfg.BlobCacheBytes, log); err != nil {
		log.Error("sizing memory", "err", err)
		return 1
	}
	srv, err := server.New(cfg, log)
	var cfgErr *config.Error
	if errors.As(err, &cfgErr) { // a setting that cannot work here, e.g. a wrong S3 bucket
		fmt.Fprintln(stderr, "easel:", err)
		return 2
	}
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn("closing", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("listening", "addr", cfg.Addr, "err", err)
		return 1
	}
	go exitOnSecondSignal(ctx, stopSignals, stderr)
	if err := srv.Run(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// exitOnSecondSignal ends the process at once on a second SIGINT/SIGTERM
// while the first one's graceful drain is still running.
func exitOnSecondSignal(ctx context.Context, stopSignals func(), stderr io.Writer) {
	<-ctx.Done()
	stopSignals()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
	fmt.Fprintln(stderr, "easel: second signal, exiting now")
	os.Exit(1)
}
