//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// localCluster is ProviderLocal: the single-node cluster of hack/cluster,
// started by the suite unless it already runs (and then left running).
type localCluster struct {
	cfg     Config
	started bool
}

// newLocal brings the local cluster up (building what it runs on the first
// time) and returns cfg with the locally built Redis image.
func newLocal(ctx context.Context, t *testing.T, cfg Config) (*localCluster, Config) {
	t.Helper()
	l := &localCluster{cfg: cfg}
	if out, _ := l.script(ctx, t, "cluster.sh", "state"); strings.TrimSpace(out) != "up" {
		if _, err := run(ctx, t, cfg.Root, "bash", "hack/install-tools.sh", "cluster"); err != nil {
			t.Fatalf("building the local cluster's binaries: %v", err)
		}
		// Set before up: a failed up tears itself down, a half-failed one is
		// cleaned by tearDown.
		l.started = true
		if _, err := l.script(ctx, t, "cluster.sh", "up"); err != nil {
			t.Fatalf("make cluster-up: %v (logs in bin/cluster/logs)", err)
		}
	}
	if cfg.RedisImage == "" {
		out, err := l.script(ctx, t, "images.sh", "redis-image")
		if err != nil {
			t.Fatal(err)
		}
		cfg.RedisImage = strings.TrimSpace(out)
	}
	l.cfg = cfg
	return l, cfg
}

// script runs hack/cluster/<name> with args.
func (l *localCluster) script(ctx context.Context, t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return run(ctx, t, l.cfg.Root, "bash", append([]string{filepath.Join("hack", "cluster", name)}, args...)...)
}

func (l *localCluster) kubeconfig() string {
	return filepath.Join(l.cfg.Root, "bin", "cluster", "kubeconfig")
}

func (l *localCluster) reachesClusterIPs() bool { return true }

// loadImage builds the repository's Dockerfile with docker build (base
// images made here) and imports it into the node's containerd.
func (l *localCluster) loadImage(ctx context.Context, t *testing.T) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(l.cfg.Root, "hack", "cluster", "images.sh"), "easel")
	cmd.Env = append(os.Environ(), "IMAGE="+l.cfg.Image, "VERSION=e2e")
	out, err := cmd.CombinedOutput()
	t.Logf("$ IMAGE=%s hack/cluster/images.sh easel\n%s", l.cfg.Image, out)
	if err != nil {
		t.Fatalf("building and loading %s: %v", l.cfg.Image, err)
	}
}

// installIngress: cluster-up installed Traefik; wait until it answers.
func (l *localCluster) installIngress(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	if err := e.kube.WaitForRollout(ctx, "traefik", "traefik", e.cfg.RolloutTimeout, func(s string) { t.Log(s) }); err != nil {
		t.Fatalf("waiting for Traefik (installed by make cluster-up): %v", err)
	}
}

// exportLogs copies the components' logs and every pod's log into dir.
func (l *localCluster) exportLogs(t *testing.T, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("exporting logs: %v", err)
		return
	}
	src := filepath.Join(l.cfg.Root, "bin", "cluster")
	for _, sub := range []string{"logs", "pod-logs"} {
		if err := exec.Command("cp", "-rL", filepath.Join(src, sub), filepath.Join(dir, sub)).Run(); err != nil {
			t.Logf("copying %s: %v", sub, err)
		}
	}
	kubectl := filepath.Join(l.cfg.Root, "bin", "k8s", "kubectl")
	out, err := exec.Command(kubectl, "--kubeconfig", l.kubeconfig(), "get", "all,events", "-A", "-o", "wide").CombinedOutput()
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "objects.txt"), out, 0o644)
	}
	if err != nil {
		t.Logf("listing objects: %v", err)
	}
	t.Logf("cluster logs exported to %s", dir)
}

// tearDown runs cluster-down if the suite started the cluster, unless
// E2E_KEEP=1.
func (l *localCluster) tearDown(t *testing.T) {
	switch {
	case !l.started:
		t.Log("the local cluster was up before the suite: leaving it up")
	case l.cfg.Keep:
		t.Logf("E2E_KEEP=1: keeping the local cluster (KUBECONFIG=%s; make cluster-down stops it)", l.kubeconfig())
	default:
		if _, err := l.script(context.Background(), t, "cluster.sh", "down"); err != nil {
			t.Errorf("make cluster-down: %v", err)
		}
	}
}

// kubeconfigCluster is ProviderKubeconfig: a cluster of the user's, used as
// it is.
type kubeconfigCluster struct{ path string }

func (k kubeconfigCluster) kubeconfig() string                  { return k.path }
func (kubeconfigCluster) reachesClusterIPs() bool               { return false }
func (kubeconfigCluster) loadImage(context.Context, *testing.T) {}
func (kubeconfigCluster) installIngress(_ context.Context, t *testing.T, e *env) {
	t.Logf("E2E_KUBECONFIG: using the ingress controller at %s (IngressClass %s)", e.cfg.URL, e.cfg.Ingress)
}
func (kubeconfigCluster) exportLogs(t *testing.T, dir string) {
	t.Logf("E2E_KUBECONFIG: no logs exported; read them from your cluster (%s)", dir)
}
func (kubeconfigCluster) tearDown(*testing.T) {}
