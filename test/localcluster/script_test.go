// Package localcluster tests what hack/cluster/cluster.sh does with bad
// input, without starting a cluster: it must say what is wrong and what to
// do, and leave the host as it was. The cluster itself runs in `make e2e`.
package localcluster

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var script = filepath.Join("..", "..", "hack", "cluster", "cluster.sh")

// needRoot skips (or, under EASEL_REQUIRE_DEPS=1, fails) without root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("EASEL_REQUIRE_DEPS") == "1" {
		t.Fatal("this test needs root (it runs the local cluster's checks as root does)")
	}
	t.Skip("needs root")
}

// noClusterHere skips when a local cluster runs on this machine: the tests
// below must not disturb it.
func noClusterHere(t *testing.T) {
	t.Helper()
	if _, err := net.InterfaceByName("easel0"); err == nil {
		t.Skip("a local cluster (bridge easel0) runs on this machine; not touching it")
	}
}

// runScript runs cluster.sh with args and extra environment; it returns the
// combined output and whether it succeeded.
func runScript(t *testing.T, env []string, cred *syscall.Credential, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// assertUntouched checks that no bridge of the cluster's exists.
func assertUntouched(t *testing.T) {
	t.Helper()
	for _, name := range []string{"easel0", "easel-svc0"} {
		if _, err := net.InterfaceByName(name); err == nil {
			t.Errorf("bridge %s exists after a refused start: the host was half-configured", name)
		}
	}
}

func TestRefusesWithoutRoot(t *testing.T) {
	needRoot(t) // to become "nobody", the test starts as root
	noClusterHere(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out, ok := runScript(t, []string{"EASEL_CLUSTER_DIR=" + dir}, &syscall.Credential{Uid: 65534, Gid: 65534}, "check")
	if ok || !strings.Contains(out, "need root") || !strings.Contains(out, "sudo make cluster-up") {
		t.Errorf("cluster.sh check as nobody: ok=%v, output %q; want a refusal that says to run as root", ok, out)
	}
	assertUntouched(t)
}

func TestRefusesARangeInUse(t *testing.T) {
	needRoot(t)
	noClusterHere(t)
	// A /24 inside a network this machine already routes (its own LAN).
	used := ""
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs() // an interface without addresses has none to offer
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				if ones, _ := n.Mask.Size(); ones <= 24 {
					ip := n.IP.To4().Mask(net.CIDRMask(24, 32))
					used = ip.String() + "/24"
				}
			}
		}
	}
	if used == "" {
		t.Skip("no IPv4 network of /24 or larger is routed here")
	}
	for _, setting := range []string{"EASEL_CLUSTER_POD_CIDR", "EASEL_CLUSTER_SERVICE_CIDR"} {
		out, ok := runScript(t, []string{"EASEL_CLUSTER_DIR=" + t.TempDir(), setting + "=" + used}, nil, "check")
		if ok || !strings.Contains(out, used+" is already routed") || !strings.Contains(out, setting) {
			t.Errorf("%s=%s: ok=%v, output %q; want a refusal naming the range and the setting", setting, used, ok, out)
		}
	}
	out, ok := runScript(t, []string{"EASEL_CLUSTER_DIR=" + t.TempDir(), "EASEL_CLUSTER_POD_CIDR=10.244.0.0/16"}, nil, "check")
	if ok || !strings.Contains(out, "want a /24") {
		t.Errorf("a /16 pod range: ok=%v, output %q; want a refusal saying what ranges work", ok, out)
	}
	assertUntouched(t)
}

// TestStaleClusterIsRefusedThenCleaned leaves a mount in the cluster's
// folder, as a crashed run would: up refuses and says to run cluster-down,
// which removes it.
func TestStaleClusterIsRefusedThenCleaned(t *testing.T) {
	needRoot(t)
	noClusterHere(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "kubelet", "pods", "x", "volumes")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mounting a tmpfs as a leftover pod volume: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) }) // already gone when the test passes
	env := []string{"EASEL_CLUSTER_DIR=" + dir}
	if out, _ := runScript(t, env, nil, "status"); !strings.Contains(out, "state: stale") {
		t.Errorf("status with a leftover mount: %q, want state: stale", out)
	}
	out, ok := runScript(t, env, nil, "up")
	if ok || !strings.Contains(out, "stale cluster") || !strings.Contains(out, "make cluster-down") {
		t.Errorf("up over a stale cluster: ok=%v, output %q; want a refusal that says to run make cluster-down", ok, out)
	}
	assertUntouched(t)
	if out, ok := runScript(t, env, nil, "down"); !ok {
		t.Fatalf("down: %s", out)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), mnt) {
		t.Errorf("%s is still mounted after cluster-down", mnt)
	}
	if out, _ := runScript(t, env, nil, "status"); !strings.Contains(out, "state: down") {
		t.Errorf("status after down: %q, want state: down", out)
	}
}
