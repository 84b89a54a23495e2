package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestProbeChaosFlags: chaos options are checked before any request is
// sent, with a message naming what to fix, and exit status 2.
func TestProbeChaosFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--chaos", "kill-pod"}, "--chaos and --kube-deployment go together"},
		{[]string{"--kube-deployment", "default/easel", "--chaos", "sometimes"}, "want kill-pod, restart or scale"},
		{[]string{"--kube-deployment", "default/easel", "--chaos", "restart", "--chaos-every", "0s"}, "--chaos-every must be positive"},
	} {
		var stderr strings.Builder
		if code := runProbe(context.Background(), tc.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
