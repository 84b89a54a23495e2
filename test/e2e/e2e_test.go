//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/kube"
	"github.com/easelhq/easel/internal/probe"
)

// release is the chart's release name; the Deployment is called the same
// (the chart's fullname when the release name contains the chart name).
const release = "easel"

// TestKind runs every configured strategy on one kind cluster.
func TestKind(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(os.Getenv, root, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Helm); err != nil {
		t.Fatalf("helm not found at %s (run hack/install-tools.sh or set E2E_HELM): %v", cfg.Helm, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	e := setUp(ctx, t, cfg)
	for _, name := range cfg.Strategies {
		s, _ := StrategyNamed(name)
		t.Run(s.Name, func(t *testing.T) { e.strategy(ctx, t, s) })
	}
}

// strategy installs s, probes it steady and under chaos, runs `helm test`
// and uninstalls it (its Ingress claims every host, so strategies run one
// at a time).
func (e *env) strategy(ctx context.Context, t *testing.T, s Strategy) {
	ns := "e2e-" + s.Name
	repo, tag, _ := SplitImage(e.cfg.Image)
	t.Cleanup(func() {
		if t.Failed() {
			e.exportLogs(t, "logs-"+s.Name)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := e.helm(cctx, t, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "2m"); err != nil {
			t.Errorf("uninstalling %s: %v", s.Name, err)
		}
	})
	if _, err := e.helm(ctx, t, "install", release, filepath.Join(e.cfg.Root, "charts", "easel"),
		"--namespace", ns, "--create-namespace", "-f", writeValues(t, s.Values(e.cfg.Ingress, repo, tag)),
		"--wait", "--timeout", "5m"); err != nil {
		t.Fatalf("installing the chart: %v", err)
	}

	// kubectl scale deployment/easel --replicas 3, through the scale
	// subresource.
	if err := e.kube.Scale(ctx, ns, release, 3); err != nil {
		t.Fatal(err)
	}
	e.waitRollout(ctx, t, ns)
	waitServed(ctx, t, e.cfg.URL, 3, 2*time.Minute)

	steady := e.probe(ctx, t, s, "steady", 3, nil)
	if err := CheckSteady(s, steady, 3); err != nil {
		t.Errorf("%s, steady (expected: %s): %v", s.Title, s.Expectation, err)
	}

	chaos := e.probe(ctx, t, s, "chaos", 0, func(r *probe.Runner) error { return e.chaos(ctx, t, ns, r) })
	if err := CheckChaos(s, chaos); err != nil {
		t.Errorf("%s, under chaos: %v", s.Title, err)
	}

	out, err := e.helm(ctx, t, "test", release, "--namespace", ns, "--logs", "--timeout", "5m")
	switch {
	case s.HelmTestPasses && err != nil:
		t.Errorf("helm test failed for %s: %v\n%s", s.Title, err, out)
	case !s.HelmTestPasses && err != nil:
		t.Logf("helm test failed for %s, as expected with memory sessions on 2 replicas", s.Title)
	case !s.HelmTestPasses:
		t.Logf("helm test passed for %s (the Service happened to keep every user on one pod)", s.Title)
	}
}

// waitRollout waits for the easel Deployment, logging progress.
func (e *env) waitRollout(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	if err := e.kube.WaitForRollout(ctx, ns, release, e.cfg.RolloutTimeout, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
}

// probe runs the probe through the ingress. With act nil it runs a fixed
// number of iterations; otherwise it runs until act returns (capped at ten
// minutes) and stops. It writes the result as JSON and HTML into the
// artifacts folder.
func (e *env) probe(ctx context.Context, t *testing.T, s Strategy, phase string, replicas int, act func(*probe.Runner) error) *probe.Result {
	t.Helper()
	cfg := probe.DefaultConfig()
	cfg.URL = e.cfg.URL
	cfg.Users = e.cfg.Users
	cfg.Iterations = 3
	cfg.ExpectedReplicas = replicas
	if act != nil {
		cfg.Iterations, cfg.Duration = 0, 10*time.Minute
	}
	runner, err := probe.NewRunner(cfg, probe.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	actErr := make(chan error, 1)
	if act != nil {
		go func() {
			defer runner.Stop()
			actErr <- act(runner)
		}()
	} else {
		actErr <- nil
	}
	res, err := runner.Run(ctx)
	if err != nil {
		t.Fatalf("probe (%s): %v", phase, err)
	}
	if err := <-actErr; err != nil {
		t.Errorf("chaos during the %s probe: %v", phase, err)
	}
	e.saveResult(t, s, phase, res)
	t.Logf("%s, %s: consistency %.2f%%, %d flows, %d broken, imbalance %.2f, replicas %v, events %v",
		s.Title, phase, res.Consistency, res.Flows, res.Broken, res.Imbalance, res.Replicas, res.Events)
	return res
}

// chaos deletes a pod, restarts the rollout and scales 3 → 5 → 2, each
// after some flows and each waited for, marking every action on the probe's
// timeline; then it lets a few more flows run.
func (e *env) chaos(ctx context.Context, t *testing.T, ns string, r *probe.Runner) error {
	flows := func(n int) error {
		target := r.Completed() + n
		for r.Completed() < target {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil
	}
	var steps []*kube.Chaos
	for _, spec := range []string{"kill-pod", "restart", "scale=5:2"} {
		sp, err := kube.ParseChaos(spec)
		if err != nil {
			return err
		}
		steps = append(steps, kube.NewChaos(e.kube, ns, release, sp))
	}
	// The scale chaos steps twice: 3→5, then 5→2.
	steps = append(steps, steps[2])
	for _, c := range steps {
		if err := flows(e.cfg.Users); err != nil {
			return err
		}
		ev, err := c.Step(ctx)
		r.Mark(ev.String())
		t.Log(ev.String())
		if err != nil {
			return err
		}
		if err := e.kube.WaitForRollout(ctx, ns, release, e.cfg.RolloutTimeout, func(s string) { t.Log(s) }); err != nil {
			return fmt.Errorf("after %s: %w", ev, err)
		}
		r.Mark("rollout complete")
	}
	return flows(e.cfg.Users)
}

// saveResult writes res as JSON and HTML into the artifacts folder.
func (e *env) saveResult(t *testing.T, s Strategy, phase string, res *probe.Result) {
	t.Helper()
	base := filepath.Join(e.cfg.Artifacts, s.Name+"-"+phase)
	err := os.MkdirAll(e.cfg.Artifacts, 0o755)
	var b []byte
	if err == nil {
		b, err = json.MarshalIndent(res, "", "  ")
	}
	if err == nil {
		err = os.WriteFile(base+".json", b, 0o644)
	}
	if err == nil {
		var f *os.File
		if f, err = os.Create(base + ".html"); err == nil {
			err = errors.Join(probe.WriteHTML(f, []probe.NamedResult{{Name: s.Title + " (" + phase + ")", Expectation: s.Expectation, Result: res}}), f.Close())
		}
	}
	if err != nil {
		t.Errorf("saving the %s result: %v", phase, err)
	}
}
