//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/easelhq/easel/internal/kube"
	"github.com/easelhq/easel/internal/probe"
)

// release is the chart's release name; the Deployment is called the same
// (the chart's fullname when the release name contains the chart name).
const release = "easel"

// steadyReplicas is the replica count of the steady probe.
const steadyReplicas = 3

// provider is where the suite's cluster comes from: kind, the local cluster
// of hack/cluster, or any cluster by kubeconfig.
type provider interface {
	// kubeconfig is the path of the cluster's kubeconfig.
	kubeconfig() string
	// loadImage builds cfg.Image from the repository's Dockerfile and makes
	// it available to the cluster's nodes.
	loadImage(ctx context.Context, t *testing.T)
	// installIngress makes sure an ingress controller answers at cfg.URL.
	installIngress(ctx context.Context, t *testing.T, e *env)
	// reachesClusterIPs: this machine can open connections to a Service's
	// ClusterIP (true on the local cluster, whose node is this machine).
	reachesClusterIPs() bool
	// exportLogs copies what the cluster logged into dir.
	exportLogs(t *testing.T, dir string)
	// tearDown removes what the provider created, unless E2E_KEEP=1.
	tearDown(t *testing.T)
}

// env is one suite run: its cluster, clients, and the results so far.
type env struct {
	cfg  Config
	p    provider
	kube *kube.Client
	c    client.Client
	rows []Row
}

// TestE2E runs every configured strategy on one cluster (E2E_PROVIDER, or
// kind where Docker can run privileged containers and the local cluster
// otherwise), then writes the "measured on Kubernetes" table.
func TestE2E(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(os.Getenv, root, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	name, err := ChooseProvider(cfg, detectHost())
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithProvider(name)
	if _, err := os.Stat(cfg.Helm); err != nil {
		t.Fatalf("helm not found at %s (run hack/install-tools.sh or set E2E_HELM): %v", cfg.Helm, err)
	}
	t.Logf("provider %s, ingress at %s, strategies %v, artifacts in %s", cfg.Provider, cfg.URL, cfg.Strategies, cfg.Artifacts)
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()

	e := &env{cfg: cfg}
	switch cfg.Provider {
	case ProviderKind:
		e.p = newKind(t, cfg)
	case ProviderLocal:
		e.p, e.cfg = newLocal(ctx, t, cfg)
	case ProviderKubeconfig:
		e.p = kubeconfigCluster{path: cfg.Kubeconfig}
	}
	t.Cleanup(func() {
		if t.Failed() {
			e.p.exportLogs(t, filepath.Join(e.cfg.Artifacts, "cluster-logs"))
		}
		e.p.tearDown(t)
	})
	rc, _, err := kube.RESTConfig(kube.KubeconfigOptions{Path: e.p.kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	kube.RouteLogs(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if e.kube, err = kube.New(rc, kube.Options{PollInterval: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if e.c, err = client.New(rc, client.Options{}); err != nil {
		t.Fatal(err)
	}
	if !e.cfg.SkipBuild {
		e.p.loadImage(ctx, t)
	}
	e.p.installIngress(ctx, t, e)

	for _, name := range e.cfg.Strategies {
		s, _ := StrategyNamed(name)
		t.Run(s.Name, func(t *testing.T) { e.strategy(ctx, t, s) })
	}
	e.writeTable(t)
}

// detectHost looks at this machine for ChooseProvider.
func detectHost() Host {
	h := Host{Root: os.Geteuid() == 0}
	if err := exec.Command("docker", "info").Run(); err == nil {
		h.DockerAnswers = true
	}
	status, err1 := os.ReadFile("/proc/self/status")
	last, err2 := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err1 == nil && err2 == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(last))); err == nil {
			h.PrivilegedContainers = FullCapabilityBoundingSet(string(status), n)
		}
	}
	return h
}

// strategy installs s, probes it steady and under chaos, runs `helm test`
// and uninstalls it (its Ingress claims every host, so strategies run one
// at a time).
func (e *env) strategy(ctx context.Context, t *testing.T, s Strategy) {
	if s.ViaService && !e.p.reachesClusterIPs() {
		t.Skipf("%s is measured through the Service's ClusterIP, which this machine cannot reach on a %s cluster", s.Title, e.cfg.Provider)
	}
	ns := "e2e-" + s.Name
	repo, tag, _ := SplitImage(e.cfg.Image)
	t.Cleanup(func() {
		if t.Failed() {
			e.p.exportLogs(t, filepath.Join(e.cfg.Artifacts, "logs-"+s.Name))
		}
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := e.helm(cctx, t, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "2m"); err != nil {
			t.Errorf("uninstalling %s: %v", s.Name, err)
		}
	})
	if _, err := e.helm(ctx, t, "install", release, filepath.Join(e.cfg.Root, "charts", "easel"),
		"--namespace", ns, "--create-namespace", "-f", writeValues(t, s.Values(e.cfg.Ingress, repo, tag, e.cfg.RedisImage)),
		"--wait", "--timeout", "5m"); err != nil {
		t.Fatalf("installing the chart: %v", err)
	}

	// kubectl scale deployment/easel --replicas 3, through the scale
	// subresource.
	if err := e.kube.Scale(ctx, ns, release, steadyReplicas); err != nil {
		t.Fatal(err)
	}
	e.waitRollout(ctx, t, ns)
	url := e.cfg.URL
	if s.ViaService {
		url = e.serviceURL(ctx, t, ns)
	} else {
		// Through the ingress every pod must answer before the probe starts;
		// through a ClientIP Service only one ever does.
		waitServed(ctx, t, url, steadyReplicas, 2*time.Minute)
	}

	steady := e.probe(ctx, t, s, url, "steady", steadyReplicas, nil)
	if err := CheckSteady(s, steady, steadyReplicas); err != nil {
		t.Errorf("%s, steady (expected: %s): %v", s.Title, s.Expectation, err)
	}
	helm := e.helmTest(ctx, t, s, ns)
	e.rows = append(e.rows, Row{Strategy: s, Phase: "steady", Result: steady, HelmTest: helm})

	chaos := e.probe(ctx, t, s, url, "chaos", 0, func(r *probe.Runner) error { return e.chaos(ctx, t, ns, r) })
	if err := CheckChaos(s, chaos); err != nil {
		t.Errorf("%s, under chaos: %v", s.Title, err)
	}
	e.rows = append(e.rows, Row{Strategy: s, Phase: "chaos", Result: chaos})
	if s.Store == "redis" {
		e.photos(ctx, t, s, ns, url)
	}
}

// photoUsers is how many users upload a 48 MP photo at once in the photos
// phase: with the chart's 1 GiB limit, more than three replicas could hold
// at once without the memory budget.
const photoUsers = 8

// photos runs the photos phase: 3 replicas at the chart's resource limits,
// photoUsers users at once each upload a 48 MP phone photo, edit it and
// download it at full size; nobody's work may be lost and no replica may
// be OOM-killed.
func (e *env) photos(ctx context.Context, t *testing.T, s Strategy, ns, url string) {
	t.Helper()
	if err := e.kube.Scale(ctx, ns, release, steadyReplicas); err != nil {
		t.Fatal(err)
	}
	e.waitRollout(ctx, t, ns)
	before, err := e.kube.Restarts(ctx, ns, release)
	if err != nil {
		t.Fatal(err)
	}
	res := e.probeWith(ctx, t, s, url, "photos", func(cfg *probe.Config) {
		cfg.Users, cfg.Iterations, cfg.Edits, cfg.Download = photoUsers, 1, 1, true
		cfg.Photo, cfg.ImageWidth, cfg.ImageHeight = true, 8064, 6048
		cfg.Timeout, cfg.Retries = 2*time.Minute, 10
	}, nil)
	after, err := e.kube.Restarts(ctx, ns, release)
	if err != nil {
		t.Fatal(err)
	}
	var lost []kube.Restart
	for _, r := range after {
		if !slices.Contains(before, r) {
			lost = append(lost, r)
		}
	}
	if err := CheckPhotos(res, photoUsers, lost); err != nil {
		t.Errorf("%s, %d users with 48 MP photos: %v", s.Title, photoUsers, err)
	}
	e.rows = append(e.rows, Row{Strategy: s, Phase: "photos", Result: res})
}

// helmTest runs `helm test` and checks its outcome against s.HelmTest; it
// returns "passed" or "failed".
func (e *env) helmTest(ctx context.Context, t *testing.T, s Strategy, ns string) string {
	out, err := e.helm(ctx, t, "test", release, "--namespace", ns, "--logs", "--timeout", "5m")
	switch {
	case err == nil && s.HelmTest == HelmTestFails:
		t.Errorf("helm test passed for %s, but must fail: the probe through the Service (a new connection per request) should see memory sessions on %d pods lose flows\n%s", s.Title, steadyReplicas, out)
	case err != nil && s.HelmTest == HelmTestPasses:
		t.Errorf("helm test failed for %s: %v\n%s", s.Title, err, out)
	case err != nil:
		t.Logf("helm test failed for %s, as it must", s.Title)
	}
	if err != nil {
		return "failed"
	}
	return "passed"
}

// serviceURL is the easel Service's ClusterIP URL.
func (e *env) serviceURL(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	var svc corev1.Service
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: release}, &svc); err != nil {
		t.Fatalf("reading Service %s/%s: %v", ns, release, err)
	}
	if len(svc.Spec.Ports) == 0 || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Fatalf("Service %s/%s has no ClusterIP and port", ns, release)
	}
	return fmt.Sprintf("http://%s:%d", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
}

// waitRollout waits for the easel Deployment, logging progress.
func (e *env) waitRollout(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	if err := e.kube.WaitForRollout(ctx, ns, release, e.cfg.RolloutTimeout, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
}

// probe runs the probe against url. With act nil it runs a fixed number of
// iterations; otherwise it runs until act returns (capped at ten minutes)
// and stops. Users keep their connections alive, as browsers do; through a
// Service (kube-proxy balances connections) that is what ClientIP affinity
// is measured with too. It writes the result as JSON and HTML into the
// artifacts folder.
func (e *env) probe(ctx context.Context, t *testing.T, s Strategy, url, phase string, replicas int, act func(*probe.Runner) error) *probe.Result {
	t.Helper()
	return e.probeWith(ctx, t, s, url, phase, func(cfg *probe.Config) {
		cfg.ExpectedReplicas = replicas
		if act != nil {
			cfg.Iterations, cfg.Duration = 0, 10*time.Minute
		}
	}, act)
}

// probeWith is probe with the configuration changed by set.
func (e *env) probeWith(ctx context.Context, t *testing.T, s Strategy, url, phase string, set func(*probe.Config), act func(*probe.Runner) error) *probe.Result {
	t.Helper()
	cfg := probe.DefaultConfig()
	cfg.URL = url
	cfg.Users = e.cfg.Users
	cfg.Iterations = 3
	if s.ViaService {
		// A new connection per request: otherwise kube-proxy would keep
		// each user on one pod whatever the affinity, and the run would
		// measure connection reuse, not ClientIP affinity.
		cfg.Connections = probe.ConnectionsPerRequest
	}
	set(&cfg)
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
	t.Logf("%s, %s: consistency %.2f%%, %d flows, %d broken, imbalance %.2f, replicas %v, failed %v, events %v",
		s.Title, phase, res.Consistency, res.Flows, res.Broken, res.Imbalance, res.Replicas, res.FailedByKind, res.Events)
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
		r.Mark(rolloutComplete)
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

// writeTable writes the run's table into the artifacts folder, prints it,
// and with E2E_README=1 puts it into README.md.
func (e *env) writeTable(t *testing.T) {
	if len(e.rows) == 0 {
		return
	}
	table := Table(e.rows)
	note := fmt.Sprintf("\n%s cluster, %d users, %d replicas steady; chaos: a pod deleted, a rollout restart, scaled 3 → 5 → 2, each waited for; photos: %d users at once each upload a 48 MP phone photo (8064×6048 JPEG), edit it and download it at full size, against %d replicas at the chart's memory limit, with no replica restarted or OOM-killed. Measured %s by `make e2e`.\n",
		e.cfg.Provider, e.cfg.Users, steadyReplicas, photoUsers, steadyReplicas, time.Now().UTC().Format("2006-01-02"))
	t.Logf("measured on Kubernetes:\n%s%s", table, note)
	if err := os.MkdirAll(e.cfg.Artifacts, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(e.cfg.Artifacts, "table.md"), []byte(table+note), 0o644) // best effort: the log has it too
	}
	if !e.cfg.Readme || t.Failed() {
		return
	}
	path := filepath.Join(e.cfg.Root, "README.md")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := ReplaceTable(string(old), table+note)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("README.md's table updated")
}

// run runs a command in dir, logging its output.
func run(ctx context.Context, t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	return string(out), nil
}

// helm runs bin/helm against the cluster.
func (e *env) helm(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	return run(ctx, t, e.cfg.Root, e.cfg.Helm, append([]string{"--kubeconfig", e.p.kubeconfig()}, args...)...)
}

// writeValues writes chart values as a JSON (hence YAML) file.
func writeValues(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "values.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitServed polls url/healthz until replicas distinct X-Served-By values
// answered, so that the probe starts with every pod in the ingress's
// endpoints.
func waitServed(ctx context.Context, t *testing.T, url string, replicas int, timeout time.Duration) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if by := resp.Header.Get("X-Served-By"); resp.StatusCode == http.StatusOK && by != "" {
				seen[by] = true
				if len(seen) >= replicas {
					return
				}
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d replicas within %s (saw %v; last answer: %s)", url, replicas, timeout, seen, last)
}
