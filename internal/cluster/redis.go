package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Redis is a redis-server child process listening on 127.0.0.1 with no
// persistence: its data lives only as long as the process.
type Redis struct {
	// Addr is the host:port the server listens on.
	Addr string
	// LogFile is the server's log.
	LogFile string
	proc    *Process
}

// URL returns the redis:// URL of database 0, the form EASEL_REDIS_URL takes.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// StartRedis starts redis-server on a free loopback port with dir as its
// working directory, with `--save ""` and `--appendonly no`, and waits until
// it answers PING. It retries with another port when the chosen one was taken
// in the meantime. The caller must call Stop.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	bin, err := LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		r, err := startRedisOnce(ctx, bin, dir)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("starting redis-server: %w", lastErr)
}

func startRedisOnce(ctx context.Context, bin, dir string) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
	out, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("creating redis log: %w", err)
	}
	defer func() { _ = out.Close() }() // the child holds its own descriptor
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--loglevel", "warning",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	p, err := StartProcess(cmd)
	if err != nil {
		return nil, err
	}
	r := &Redis{Addr: hostPort(port), LogFile: logFile, proc: p}
	if err := r.waitReady(ctx, 10*time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w; log: %s", err, strings.TrimSpace(TailFile(logFile, 2000)))
	}
	return r, nil
}

// waitReady polls PING until the server answers PONG, exits, or the timeout
// passes.
func (r *Redis) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if r.proc.Exited() {
			return fmt.Errorf("redis-server on %s exited during start-up: %v", r.Addr, r.proc.err)
		}
		if err := Ping(ctx, r.Addr); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for redis-server on %s: %w", r.Addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Ping sends the inline command PING to a Redis server at addr and checks
// for +PONG. It needs no client library.
func Ping(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dialing redis: %w", err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("writing PING: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading PING reply: %w", err)
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 5 s). It is safe to
// call more than once.
func (r *Redis) Stop() error {
	return r.proc.Stop(syscall.SIGTERM, 5*time.Second)
}

// Kill ends the server at once with SIGKILL, to simulate Redis going away.
func (r *Redis) Kill() { r.proc.Kill() }
