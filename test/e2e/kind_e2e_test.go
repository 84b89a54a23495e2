//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

// kindCluster is ProviderKind: a kind cluster, created (or adopted with
// E2E_CLUSTER), the image built with docker and loaded into its nodes, and
// the ingress controller installed from its Helm chart.
type kindCluster struct {
	cfg      Config
	provider *cluster.Provider
	path     string
}

// newKind creates (or adopts) the kind cluster.
func newKind(t *testing.T, cfg Config) *kindCluster {
	t.Helper()
	opt, err := cluster.DetectNodeProvider()
	if err != nil {
		t.Fatalf("kind needs a container runtime (docker, podman or nerdctl): %v", err)
	}
	k := &kindCluster{cfg: cfg, provider: cluster.NewProvider(opt, cluster.ProviderWithLogger(kindcmd.NewLogger()))}
	k.path = filepath.Join(t.TempDir(), "kubeconfig")
	if cfg.Existing {
		t.Logf("using existing kind cluster %q", cfg.ClusterName)
		raw, err := k.provider.KubeConfig(cfg.ClusterName, false)
		if err != nil {
			t.Fatalf("reading the kubeconfig of kind cluster %q: %v", cfg.ClusterName, err)
		}
		if err := os.WriteFile(k.path, []byte(raw), 0o600); err != nil {
			t.Fatalf("writing kubeconfig: %v", err)
		}
		return k
	}
	opts := []cluster.CreateOption{
		cluster.CreateWithConfigFile(filepath.Join(cfg.Root, "test", "e2e", "kind-config.yaml")),
		cluster.CreateWithKubeconfigPath(k.path),
		cluster.CreateWithWaitForReady(3 * time.Minute),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	}
	if cfg.NodeImage != "" {
		opts = append(opts, cluster.CreateWithNodeImage(cfg.NodeImage))
	}
	t.Logf("creating kind cluster %q", cfg.ClusterName)
	if err := k.provider.Create(cfg.ClusterName, opts...); err != nil {
		t.Fatalf("creating kind cluster %q: %v", cfg.ClusterName, err)
	}
	return k
}

func (k *kindCluster) kubeconfig() string      { return k.path }
func (k *kindCluster) reachesClusterIPs() bool { return false }

// tearDown deletes a created cluster unless E2E_KEEP=1.
func (k *kindCluster) tearDown(t *testing.T) {
	switch {
	case k.cfg.Existing:
	case k.cfg.Keep:
		t.Logf("E2E_KEEP=1: keeping kind cluster %q (kubeconfig: kind get kubeconfig --name %s)", k.cfg.ClusterName, k.cfg.ClusterName)
	default:
		if err := k.provider.Delete(k.cfg.ClusterName, k.path); err != nil {
			t.Errorf("deleting kind cluster %q: %v", k.cfg.ClusterName, err)
		}
	}
}

// exportLogs does what `kind export logs` does, into dir.
func (k *kindCluster) exportLogs(t *testing.T, dir string) {
	if err := k.provider.CollectLogs(k.cfg.ClusterName, dir); err != nil {
		t.Errorf("exporting cluster logs to %s: %v", dir, err)
		return
	}
	t.Logf("cluster logs exported to %s", dir)
}

// loadImage builds the image from the repository's Dockerfile and does what
// `kind load docker-image` does: docker save, then import the archive into
// every node's containerd.
func (k *kindCluster) loadImage(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := run(ctx, t, k.cfg.Root, "docker", "build", "--build-arg", "VERSION=e2e", "-t", k.cfg.Image, "."); err != nil {
		t.Fatalf("building the image: %v", err)
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	if _, err := run(ctx, t, k.cfg.Root, "docker", "save", "-o", archive, k.cfg.Image); err != nil {
		t.Fatalf("saving the image: %v", err)
	}
	nodes, err := k.provider.ListInternalNodes(k.cfg.ClusterName)
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
			t.Fatalf("loading %s into node %s: %v", k.cfg.Image, n.String(), err)
		}
	}
	t.Logf("loaded %s into %d nodes", k.cfg.Image, len(nodes))
}

// installIngress installs the chosen controller on the ingress-ready node
// with hostPorts 80/443 (mapped to the host by kind-config.yaml) and waits
// for it.
func (k *kindCluster) installIngress(ctx context.Context, t *testing.T, e *env) {
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
