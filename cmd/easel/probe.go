package main

import (
	"context"
	"io"

	"github.com/easelhq/easel/internal/probe"
)

// runProbe runs `easel probe [flags]`: virtual users through the real
// upload → redirect → edit flow against --url, reporting consistency,
// per-replica load and latency. It returns the exit code: 0 when the run met
// --expect-consistency, 1 when it did not or could not run, 2 on bad flags.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return probe.Command(ctx, args, stdout, stderr)
}
