// Package chart checks the Helm chart in charts/easel and the kustomize manifests
// in manifests/ with the real tools: helm lint and helm template for every
// combination of the comparison toggles, and every rendered object created in a
// real kube-apiserver (controller-runtime envtest) in a namespace that enforces
// the restricted Pod Security Standard.
//
// The tools come from hack/install-tools.sh (bin/helm, bin/k8s). When one is
// missing the tests that need it skip, unless EASEL_REQUIRE_DEPS=1 (CI), where
// they fail.
package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// kubeVersion is the Kubernetes version helm renders for; it matches the
// kube-apiserver that hack/install-tools.sh builds.
const kubeVersion = "v1.37.2"

// repoRoot returns the repository root, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// missingDep skips the test, or fails it when EASEL_REQUIRE_DEPS=1.
func missingDep(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (run hack/install-tools.sh)"
	if os.Getenv("EASEL_REQUIRE_DEPS") == "1" {
		t.Fatalf("required dependency missing: %s", msg)
	}
	t.Skipf("skipping: %s; set EASEL_REQUIRE_DEPS=1 to make this a failure", msg)
}

// helmPath finds helm: $EASEL_HELM, then bin/helm, then PATH.
func helmPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EASEL_HELM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			missingDep(t, "EASEL_HELM=%s: %v", p, err)
		}
		return p
	}
	if p := filepath.Join(repoRoot(t), "bin", "helm"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	missingDep(t, "helm not found in $EASEL_HELM, bin/helm or PATH")
	return ""
}

// assetsDir finds the envtest binaries: $KUBEBUILDER_ASSETS, then bin/k8s.
func assetsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "bin", "k8s")
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if !isExecutable(filepath.Join(dir, name)) {
			missingDep(t, "%s not found in %s (KUBEBUILDER_ASSETS)", name, dir)
		}
	}
	return dir
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// helm runs helm with args and returns stdout; the error carries stderr.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmPath(t), args...)
	cmd.Dir = repoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// moduleDir returns the module cache directory of module@version, downloading it
// through the Go module proxy if needed. It runs outside the repository's module
// so that nothing is added to go.mod.
func moduleDir(t testing.TB, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		missingDep(t, "go mod download %s@%s: %v: %s", module, version, err, exitErr.Stderr)
	}
	if err != nil {
		missingDep(t, "go mod download %s@%s: %v", module, version, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s@%s: unexpected output %q: %v", module, version, out, err)
	}
	return info.Dir
}
