//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"

	"github.com/easelhq/easel/internal/kube"
)

// env is one suite run's cluster: the kind provider, a kubeconfig file for
// helm and the kube client.
type env struct {
	cfg        Config
	provider   *cluster.Provider
	kubeconfig string
	kube       *kube.Client
}

// setUp creates (or adopts) the kind cluster, builds and loads the image and
// installs the ingress controller. Its cleanup exports the cluster's logs
// when the test failed and deletes a created cluster unless E2E_KEEP=1.
func setUp(ctx context.Context, t *testing.T, cfg Config) *env {
	t.Helper()
	opt, err := cluster.DetectNodeProvider()
	if err != nil {
		t.Fatalf("kind needs a container runtime (docker, podman or nerdctl): %v", err)
	}
	e := &env{cfg: cfg, provider: cluster.NewProvider(opt, cluster.ProviderWithLogger(kindcmd.NewLogger()))}
	e.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")

	if cfg.Existing {
		t.Logf("using existing kind cluster %q", cfg.ClusterName)
		raw, err := e.provider.KubeConfig(cfg.ClusterName, false)
		if err != nil {
			t.Fatalf("reading the kubeconfig of kind cluster %q: %v", cfg.ClusterName, err)
		}
		if err := os.WriteFile(e.kubeconfig, []byte(raw), 0o600); err != nil {
			t.Fatalf("writing kubeconfig: %v", err)
		}
	} else {
		opts := []cluster.CreateOption{
			cluster.CreateWithConfigFile(filepath.Join(cfg.Root, "test", "e2e", "kind-config.yaml")),
			cluster.CreateWithKubeconfigPath(e.kubeconfig),
			cluster.CreateWithWaitForReady(3 * time.Minute),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
		}
		if cfg.NodeImage != "" {
			opts = append(opts, cluster.CreateWithNodeImage(cfg.NodeImage))
		}
		t.Logf("creating kind cluster %q", cfg.ClusterName)
		if err := e.provider.Create(cfg.ClusterName, opts...); err != nil {
			t.Fatalf("creating kind cluster %q: %v", cfg.ClusterName, err)
		}
	}
	t.Cleanup(func() { e.tearDown(t) })

	rc, _, err := kube.RESTConfig(kube.KubeconfigOptions{Path: e.kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	if e.kube, err = kube.New(rc, kube.Options{PollInterval: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if !cfg.SkipBuild {
		e.buildImage(ctx, t)
		e.loadImage(t)
	}
	e.installIngress(ctx, t)
	return e
}

// tearDown exports logs after a failure and deletes a created cluster
// unless E2E_KEEP=1.
func (e *env) tearDown(t *testing.T) {
	if t.Failed() {
		e.exportLogs(t, "cluster-logs")
	}
	switch {
	case e.cfg.Existing:
	case e.cfg.Keep:
		t.Logf("E2E_KEEP=1: keeping kind cluster %q (kubeconfig: kind get kubeconfig --name %s)", e.cfg.ClusterName, e.cfg.ClusterName)
	default:
		if err := e.provider.Delete(e.cfg.ClusterName, e.kubeconfig); err != nil {
			t.Errorf("deleting kind cluster %q: %v", e.cfg.ClusterName, err)
		}
	}
}

// exportLogs does what `kind export logs` does, into the artifacts folder.
func (e *env) exportLogs(t *testing.T, name string) {
	dir := filepath.Join(e.cfg.Artifacts, name)
	if err := e.provider.CollectLogs(e.cfg.ClusterName, dir); err != nil {
		t.Errorf("exporting cluster logs to %s: %v", dir, err)
		return
	}
	t.Logf("cluster logs exported to %s", dir)
}

// run runs a command from the repository root, logging its output.
func (e *env) run(ctx context.Context, t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.cfg.Root
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	return string(out), nil
}

// buildImage builds the image from the repository's Dockerfile.
func (e *env) buildImage(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := e.run(ctx, t, "docker", "build", "--build-arg", "VERSION=e2e", "-t", e.cfg.Image, "."); err != nil {
		t.Fatalf("building the image: %v", err)
	}
}

// loadImage does what `kind load docker-image` does: docker save, then
// import the archive into every node's containerd.
func (e *env) loadImage(t *testing.T) {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "image.tar")
	if _, err := e.run(context.Background(), t, "docker", "save", "-o", archive, e.cfg.Image); err != nil {
		t.Fatalf("saving the image: %v", err)
	}
	nodes, err := e.provider.ListInternalNodes(e.cfg.ClusterName)
	if err != nil {
		t.Fatalf("listing kind nodes: %v", err)
	}
	for _, n := range nodes {
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		err = nodeutils.LoadImageArchive(n, f)
		_ = f.Close() // read-only; the load error is the one that matters
		if err != nil {
			t.Fatalf("loading %s into node %s: %v", e.cfg.Image, n.String(), err)
		}
	}
	t.Logf("loaded %s into %d nodes", e.cfg.Image, len(nodes))
}

// helm runs bin/helm against the cluster.
func (e *env) helm(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	return e.run(ctx, t, e.cfg.Helm, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
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

// installIngress installs the chosen controller on the ingress-ready node
// with hostPorts 80/443 (mapped to the host by kind-config.yaml) and waits
// for it.
func (e *env) installIngress(ctx context.Context, t *testing.T) {
	t.Helper()
	onIngressNode := map[string]any{
		"nodeSelector": map[string]any{"ingress-ready": "true"},
		"tolerations": []any{
			map[string]any{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
		},
	}
	var release, ns, repo, chart, deployment string
	var values map[string]any
	switch e.cfg.Ingress {
	case IngressTraefik:
		release, ns, repo, chart, deployment = "traefik", "traefik", "https://traefik.github.io/charts", "traefik", "traefik"
		values = map[string]any{
			"ports": map[string]any{
				"web":       map[string]any{"hostPort": 80},
				"websecure": map[string]any{"hostPort": 443},
			},
			"service":      map[string]any{"type": "NodePort"},
			"ingressClass": map[string]any{"enabled": true, "isDefaultClass": true},
		}
		for k, v := range onIngressNode {
			values[k] = v
		}
	case IngressNginx:
		release, ns, repo, chart, deployment = "ingress-nginx", "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "ingress-nginx-controller"
		controller := map[string]any{
			"hostPort":                 map[string]any{"enabled": true},
			"service":                  map[string]any{"type": "NodePort"},
			"watchIngressWithoutClass": false,
			"ingressClassResource":     map[string]any{"default": true},
		}
		for k, v := range onIngressNode {
			controller[k] = v
		}
		values = map[string]any{"controller": controller}
	}
	if _, err := e.helm(ctx, t, "upgrade", "--install", release, chart, "--repo", repo, "--version", e.cfg.IngressChartVersion,
		"--namespace", ns, "--create-namespace", "-f", writeValues(t, values), "--wait", "--timeout", "5m"); err != nil {
		t.Fatalf("installing %s: %v", e.cfg.Ingress, err)
	}
	if err := e.kube.WaitForRollout(ctx, ns, deployment, e.cfg.RolloutTimeout, func(s string) { t.Log(s) }); err != nil {
		t.Fatalf("waiting for %s: %v", e.cfg.Ingress, err)
	}
}

// waitServed polls url/healthz through the ingress until replicas distinct
// X-Served-By values answered, so that the probe starts with every pod in
// the ingress's endpoints.
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
	t.Fatalf("the ingress at %s did not reach %d replicas within %s (saw %v; last answer: %s)", url, replicas, timeout, seen, last)
}
