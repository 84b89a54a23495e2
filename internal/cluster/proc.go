package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrNotFound reports that a required executable is neither in PATH nor in
// one of the system directories LookPath searches.
var ErrNotFound = errors.New("executable not found")

// extraDirs are searched after PATH: Debian installs nginx to /usr/sbin,
// which is not in an ordinary user's PATH.
var extraDirs = []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}

// LookPath finds an executable in PATH and then in /usr/sbin, /usr/local/sbin
// and /sbin. It returns an error wrapping ErrNotFound when it is in none.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range extraDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("looking up %q in PATH and %v: %w", name, extraDirs, ErrNotFound)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it, so callers that start a
// server on it retry with a new port when the server fails to bind.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("releasing port %d: %w", port, err)
	}
	return port, nil
}

// Process is a started child process whose exit is observed by one goroutine,
// so that callers can both wait for it and ask whether it has exited.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
	once sync.Once
}

// StartProcess starts cmd in its own process group (so a signal to the group
// reaches all of its children, such as nginx workers) and with a parent-death
// signal, so that a crashed test binary does not leave servers behind.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process (not its group).
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sending %v to pid %d: %w", sig, p.cmd.Process.Pid, err)
	}
	return nil
}

// Wait waits for the process to exit or for ctx to end.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for pid %d to exit: %w", p.cmd.Process.Pid, ctx.Err())
	}
}

// Stop sends sig, waits up to grace for the process to exit, then kills its
// whole process group. It is safe to call more than once.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) error {
	var err error
	p.once.Do(func() {
		if e := p.Signal(sig); e != nil {
			err = e
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if p.Wait(ctx) == nil {
			return
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		err = errors.Join(err, fmt.Errorf("pid %d ignored %v for %v and was killed", p.cmd.Process.Pid, sig, grace))
	})
	return err
}

// Kill sends SIGKILL to the process group at once and waits for the exit.
func (p *Process) Kill() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// TailFile returns the last n bytes of a log file, for error messages.
func TailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return string(buf)
}

// hostPort joins 127.0.0.1 and port.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
