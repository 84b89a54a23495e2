package chart

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The modules that publish the CRDs the chart's optional objects need; their
// YAML is read from the Go module cache, never fetched from elsewhere.
const (
	gatewayAPIModule         = "sigs.k8s.io/gateway-api"
	gatewayAPIVersion        = "v1.6.3"
	prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator"
	prometheusOperatorVer    = "v0.85.0"
)

// warningRecorder collects the warnings the API server sends (Pod Security
// admission reports violations of workload pod templates as warnings).
type warningRecorder struct {
	mu       sync.Mutex
	messages []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warningRecorder) HandleWarningHeader(code int, agent, message string) {
	if code != 299 || message == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

// take returns the warnings recorded so far and forgets them.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.messages
	w.messages = nil
	return out
}

// apiServer is one envtest control plane shared by all subtests of TestAPIServer.
type apiServer struct {
	cfg    *rest.Config
	mapper meta.RESTMapper
}

// startAPIServer starts kube-apiserver and etcd with the HTTPRoute and
// ServiceMonitor CRDs installed, and stops them when t ends.
func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	assets := assetsDir(t)
	gw := moduleDir(t, gatewayAPIModule, gatewayAPIVersion)
	po := moduleDir(t, prometheusOperatorModule, prometheusOperatorVer)
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{
				// The experimental channel carries HTTPRoute sessionPersistence.
				filepath.Join(gw, "config", "crd", "experimental", "gateway.networking.k8s.io_httproutes.yaml"),
				filepath.Join(po, "example", "prometheus-operator-crd", "monitoring.coreos.com_servicemonitors.yaml"),
			},
			ErrorIfPathMissing: true,
		},
		ErrorIfCRDPathMissing: true,
	}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest (kube-apiserver, etcd from %s): %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	t.Logf("envtest control plane up in %s", time.Since(start).Round(time.Millisecond))
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("building HTTP client: %v", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		t.Fatalf("building REST mapper: %v", err)
	}
	return &apiServer{cfg: cfg, mapper: mapper}
}

// client returns a client whose API server warnings go to the returned recorder.
func (a *apiServer) client(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(a.cfg)
	cfg.WarningHandler = rec
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme, Mapper: a.mapper})
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	return c, rec
}

// restrictedNamespace creates a namespace that enforces, warns about and audits
// the restricted Pod Security Standard.
func restrictedNamespace(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    "latest",
		"pod-security.kubernetes.io/audit":           "restricted",
	}}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// createAll creates every object and fails on any rejection or any warning.
func createAll(ctx context.Context, t *testing.T, c client.Client, rec *warningRecorder, namespace string, objs []*unstructured.Unstructured) {
	t.Helper()
	if len(objs) == 0 {
		t.Fatal("nothing to create")
	}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		if err := c.Create(ctx, o); err != nil {
			t.Errorf("API server rejected %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		for _, w := range rec.take() {
			// Any warning is a defect; a Pod Security one is the reason this test exists.
			t.Errorf("API server warned about %s %s: %s", o.GetKind(), o.GetName(), w)
		}
	}
}

// TestAPIServer creates every object the chart renders, for every valid
// combination and feature case, in a real kube-apiserver (one control plane for
// the whole test, one restricted namespace per case). The kustomize overlays are
// created the same way.
func TestAPIServer(t *testing.T) {
	helmPath(t)
	srv := startAPIServer(t)
	ctx := context.Background()

	t.Run("warnings-are-captured", func(t *testing.T) {
		// A privileged pod template must produce a Pod Security warning; if not,
		// the checks below would pass vacuously.
		c, rec := srv.client(t)
		restrictedNamespace(ctx, t, c, "canary")
		objs, err := decodeObjects(privilegedDeployment)
		if err != nil {
			t.Fatal(err)
		}
		objs[0].SetNamespace("canary")
		if err := c.Create(ctx, objs[0]); err != nil {
			t.Fatalf("creating the canary Deployment: %v", err)
		}
		warnings := rec.take()
		if len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "restricted") {
			t.Fatalf("no Pod Security warning for a privileged Deployment (got %q)", warnings)
		}
	})

	t.Run("insecure-chart-values-are-caught", func(t *testing.T) {
		// The chart's own pods with the security settings emptied must be warned
		// about (Deployment, StatefulSet) and rejected (the test Pod).
		c, rec := srv.client(t)
		restrictedNamespace(ctx, t, c, "insecure")
		values := combo{store: "redis", mode: "none", provider: "service"}.values()
		// null deletes a default in Helm's value merge ({} would keep them).
		values["podSecurityContext"] = map[string]any{"runAsNonRoot": nil, "seccompProfile": nil}
		values["securityContext"] = map[string]any{"allowPrivilegeEscalation": nil, "capabilities": nil, "runAsNonRoot": nil}
		var warned, rejected []string
		for _, o := range render(t, "insecure", values) {
			if err := c.Create(ctx, o); err != nil {
				rejected = append(rejected, o.GetKind())
			}
			if len(rec.take()) > 0 {
				warned = append(warned, o.GetKind())
			}
		}
		if !slices.Contains(warned, "Deployment") || !slices.Contains(rejected, "Pod") {
			t.Fatalf("insecure pods not caught: warned about %v, rejected %v", warned, rejected)
		}
	})

	t.Run("helm-lifecycle", func(t *testing.T) { testHelmLifecycle(ctx, t, srv) })

	for _, c := range allCombos() {
		if c.wantErr() != "" {
			continue
		}
		t.Run("chart/"+c.name(), func(t *testing.T) {
			t.Parallel()
			applyRender(ctx, t, srv, c.name(), c.values())
		})
	}
	for _, fc := range featureCases() {
		t.Run("chart/"+fc.name, func(t *testing.T) {
			t.Parallel()
			applyRender(ctx, t, srv, "f-"+fc.name, fc.values)
		})
	}
	for _, overlay := range overlays {
		t.Run("kustomize/"+overlay, func(t *testing.T) {
			t.Parallel()
			objs := kustomizeBuild(t, overlay)
			c, rec := srv.client(t)
			ns := "k-" + overlay
			restrictedNamespace(ctx, t, c, ns)
			createAll(ctx, t, c, rec, ns, objs)
		})
	}
}

// applyRender renders values into namespace and creates the result.
func applyRender(ctx context.Context, t *testing.T, srv *apiServer, namespace string, values map[string]any) {
	t.Helper()
	objs := render(t, namespace, values)
	c, rec := srv.client(t)
	restrictedNamespace(ctx, t, c, namespace)
	createAll(ctx, t, c, rec, namespace, objs)
	if t.Failed() {
		t.Logf("kinds rendered: %s", fmt.Sprint(kinds(objs)))
	}
}

// privilegedDeployment violates the restricted Pod Security Standard.
const privilegedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: canary
spec:
  selector:
    matchLabels: {app: canary}
  template:
    metadata:
      labels: {app: canary}
    spec:
      containers:
        - name: c
          image: busybox
          securityContext:
            privileged: true
`

// writeKubeconfig writes a kubeconfig for cfg (envtest's admin user) and returns its path.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	return path
}

// testHelmLifecycle installs, upgrades and uninstalls the chart with helm
// against the test API server: the generated session key must survive the
// upgrade and the uninstall, and NOTES.txt must warn about memory sessions on
// several replicas.
func testHelmLifecycle(ctx context.Context, t *testing.T, srv *apiServer) {
	kubeconfig := writeKubeconfig(t, srv.cfg)
	c, _ := srv.client(t)
	const ns = "lifecycle"
	helmKube := func(args ...string) string {
		t.Helper()
		out, err := helm(t, append(args, "--kubeconfig", kubeconfig, "--namespace", ns)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	sessionKey := func() string {
		t.Helper()
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "easel-session"}, &s); err != nil {
			t.Fatalf("reading the session key Secret: %v", err)
		}
		return string(s.Data["session-keys"])
	}

	// Online, lookup works: the redis store needs no configured key.
	helmKube("install", "easel", chartDir(t), "--create-namespace", "--set", "session.store=redis")
	first := sessionKey()
	if len(first) < 32 {
		t.Fatalf("generated session key has %d characters, want at least 32", len(first))
	}
	helmKube("upgrade", "easel", chartDir(t), "--reuse-values", "--set", "replicaCount=4")
	if got := sessionKey(); got != first {
		t.Error("helm upgrade replaced the generated session key; every user would be logged out")
	}
	helmKube("uninstall", "easel")
	if got := sessionKey(); got != first {
		t.Error("helm uninstall deleted the session key Secret (helm.sh/resource-policy: keep)")
	}

	notes := helmKube("install", "notes", chartDir(t), "--dry-run=server",
		"--set", "session.store=memory", "--set", "replicaCount=3")
	for _, want := range []string{"WARNING: session.store=memory with 3 replicas", "helm test notes"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
}
