package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// requireDepsEnv turns missing envtest binaries into a failure (CI).
const requireDepsEnv = "EASEL_REQUIRE_DEPS"

// apiServer is the envtest control plane shared by the package's tests;
// TestMain starts it once. skip is set instead when the binaries are
// missing.
var apiServer struct {
	env    *envtest.Environment
	cfg    *rest.Config
	client client.Client
	skip   string
	seq    atomic.Int64
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain starts envtest when its binaries exist, runs the tests and stops
// it.
func runMain(m *testing.M) int {
	assets, err := assetsDir()
	if err != nil {
		if os.Getenv(requireDepsEnv) == "1" {
			fmt.Fprintf(os.Stderr, "kube tests need kube-apiserver and etcd and %s=1: %v\n", requireDepsEnv, err)
			return 1
		}
		apiServer.skip = fmt.Sprintf("skipping: %v; build them with hack/install-tools.sh, or set %s=1 to make this a failure", err, requireDepsEnv)
		return m.Run()
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (kube-apiserver and etcd from %s): %v\n", assets, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping envtest: %v\n", err)
		}
	}()
	if testingVerbose() {
		fmt.Fprintf(os.Stderr, "envtest control plane up in %s\n", time.Since(start).Round(time.Millisecond))
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, "building scheme:", err)
		return 1
	}
	// The tests run in parallel on one client: lift client-go's default
	// rate limit (5 requests/s) so that they do not queue.
	cfg.QPS, cfg.Burst = 200, 400
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating client:", err)
		return 1
	}
	apiServer.env, apiServer.cfg, apiServer.client = env, cfg, c
	return m.Run()
}

// testingVerbose reports whether -v was given, without flag.Parse ordering
// concerns.
func testingVerbose() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.v" || a == "-test.v=true" {
			return true
		}
	}
	return false
}

// assetsDir returns $KUBEBUILDER_ASSETS, or the module root's bin/k8s, after
// checking that kube-apiserver and etcd are there.
func assetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "k8s")
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s not found in %s (KUBEBUILDER_ASSETS)", name, dir)
		}
	}
	return dir, nil
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// env returns the shared API server's admin client, skipping the test when
// envtest could not start for lack of binaries.
func env(t *testing.T) client.Client {
	t.Helper()
	if apiServer.skip != "" {
		t.Skip(apiServer.skip)
	}
	return apiServer.client
}

// testClient returns a kube Client with a short poll interval.
func testClient(t *testing.T) *Client {
	t.Helper()
	return NewForClient(env(t), Options{PollInterval: 50 * time.Millisecond})
}

// namespace creates a fresh namespace for one test. envtest runs no
// namespace controller, so it is not deleted.
func namespace(t *testing.T) string {
	t.Helper()
	c := env(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kube-test-%d", apiServer.seq.Add(1))}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// createDeployment creates a Deployment selecting app=name.
func createDeployment(t *testing.T, ns, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	sel := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "easel", Image: "easel:test"}}},
			},
		},
	}
	if err := env(t).Create(context.Background(), d); err != nil {
		t.Fatalf("creating deployment: %v", err)
	}
	return d
}

// setStatus writes the Deployment's status through the status subresource,
// as the deployment controller would.
func setStatus(t *testing.T, ns, name string, observed int64, updated, ready, available, current int32) {
	t.Helper()
	c := env(t)
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatalf("reading deployment: %v", err)
	}
	if observed < 0 {
		observed = d.Generation
	}
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: observed,
		Replicas:           current,
		UpdatedReplicas:    updated,
		ReadyReplicas:      ready,
		AvailableReplicas:  available,
	}
	if err := c.Status().Update(context.Background(), d); err != nil {
		t.Fatalf("writing deployment status: %v", err)
	}
}

// createPod creates a pod with labels and, when ready, a Ready condition.
func createPod(t *testing.T, ns, name string, labels map[string]string, ready bool) {
	t.Helper()
	c := env(t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "easel", Image: "easel:test"}}},
	}
	if err := c.Create(context.Background(), p); err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}
	if err := c.Status().Update(context.Background(), p); err != nil {
		t.Fatalf("writing pod status: %v", err)
	}
}

// podNames lists the names of the pods in ns.
func podNames(t *testing.T, ns string) []string {
	t.Helper()
	var list corev1.PodList
	if err := env(t).List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}
