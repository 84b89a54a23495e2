package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/kube"
	"github.com/easelhq/easel/internal/probe"
)

// runProbe runs `easel probe [flags]`: virtual users through the real
// upload → redirect → edit flow against --url, reporting consistency,
// per-replica load and latency. It returns the exit code: 0 when the run met
// --expect-consistency, 1 when it did not or could not run, 2 on bad flags.
//
// The Kubernetes chaos options are wired here, not in the probe, so that
// the probe stays a black-box HTTP client.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	kube.RouteLogs(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var c chaosFlags
	return probe.CommandWith(ctx, args, stdout, stderr, probe.Hook{Flags: c.register, Prepare: c.prepare})
}

type chaosFlags struct {
	deployment, chaos, kubeconfig, context string
	every                                  time.Duration
}

func (c *chaosFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.deployment, "kube-deployment", "", "`NAMESPACE/NAME` of the easel Deployment to disturb with --chaos (NAME alone: the context's namespace)")
	fs.StringVar(&c.chaos, "chaos", "", "what to do every --chaos-every: kill-pod (delete a ready pod), restart (rollout restart), or scale=1:5:2 (cycle through these replica counts)")
	fs.DurationVar(&c.every, "chaos-every", 20*time.Second, "interval between chaos events")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig `file` (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&c.context, "context", "", "kubeconfig `context` to use")
}

// prepare checks the chaos flags and connects to the cluster.
func (c *chaosFlags) prepare() (probe.During, error) {
	if c.chaos == "" && c.deployment == "" {
		return nil, nil
	}
	if c.chaos == "" || c.deployment == "" {
		return nil, errors.New("--chaos and --kube-deployment go together")
	}
	spec, err := kube.ParseChaos(c.chaos)
	if err != nil {
		return nil, fmt.Errorf("--chaos: %w", err)
	}
	if c.every <= 0 {
		return nil, errors.New("--chaos-every must be positive")
	}
	rc, ns, err := kube.RESTConfig(kube.KubeconfigOptions{Path: c.kubeconfig, Context: c.context})
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	name := c.deployment
	if n, d, ok := strings.Cut(c.deployment, "/"); ok {
		ns, name = n, d
	}
	client, err := kube.New(rc, kube.Options{})
	if err != nil {
		return nil, err
	}
	chaos := kube.NewChaos(client, ns, name, spec)
	return func(ctx context.Context, mark func(string)) error {
		events := make(chan kube.Event)
		done := make(chan error, 1)
		go func() { done <- chaos.Run(ctx, c.every, events) }()
		for ev := range events {
			mark(ev.String())
		}
		return <-done
	}, nil
}
