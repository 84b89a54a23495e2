package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Replica is one `easel serve` process of the cluster.
type Replica struct {
	// Name is its EASEL_POD_NAME, which it reports in X-Served-By.
	Name string
	// Addr is the 127.0.0.1:port it listens on.
	Addr string
	// LogFile collects its stdout and stderr across restarts.
	LogFile string
	proc    *Process
	killed  bool
}

// ReplicaInfo describes a replica for callers of Cluster.Replicas.
type ReplicaInfo struct {
	Name  string
	Addr  string
	Alive bool
}

// startReplica starts `easel serve` as name on addr with env, and waits
// until its /readyz answers 200.
func startReplica(ctx context.Context, bin, dir, name, addr string, env []string) (*Replica, error) {
	r := &Replica{Name: name, Addr: addr, LogFile: filepath.Join(dir, name+".log")}
	out, err := os.OpenFile(r.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening replica log: %w", err)
	}
	defer func() { _ = out.Close() }() // the child holds its own descriptor
	fmt.Fprintf(out, "--- harness: starting %s on %s at %s\n", name, addr, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	// A fresh slice: env is shared by replicas starting concurrently.
	cmd.Env = slices.Concat(env, []string{"EASEL_ADDR=" + addr, "EASEL_POD_NAME=" + name})
	cmd.Stdout, cmd.Stderr = out, out
	p, err := StartProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting replica %s: %w", name, err)
	}
	r.proc = p
	if err := r.waitReady(ctx, 20*time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w; log: %s", err, strings.TrimSpace(TailFile(r.LogFile, 2000)))
	}
	return r, nil
}

// waitReady polls GET /readyz until it answers 200.
func (r *Replica) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	var last string
	for {
		if r.proc.Exited() {
			return fmt.Errorf("replica %s exited during start-up: %v", r.Name, r.proc.err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("building readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for replica %s on %s to be ready (last: %s): %w", r.Name, r.Addr, last, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// alive reports whether the process is running.
func (r *Replica) alive() bool { return !r.proc.Exited() }

// terminate sends SIGTERM, which makes easel fail readiness, wait its drain
// delay and shut down gracefully, and waits up to grace before killing it.
func (r *Replica) terminate(grace time.Duration) error {
	if err := r.proc.Stop(syscall.SIGTERM, grace); err != nil {
		return fmt.Errorf("stopping replica %s: %w", r.Name, err)
	}
	return nil
}

// kill ends the process at once with SIGKILL, as a node failure or an OOM
// kill would.
func (r *Replica) kill() {
	r.killed = true
	r.proc.Kill()
}

// replicaEnv returns the environment of every replica: the harness's own
// environment without any EASEL_* variable (so a developer's shell cannot
// change the experiment), plus the cluster's settings.
func replicaEnv(base []string, settings map[string]string, extra []string) []string {
	var env []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "EASEL_") {
			env = append(env, kv)
		}
	}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}
