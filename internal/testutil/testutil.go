// Package testutil holds helpers shared by easel's tests: it starts real
// servers (redis-server, nginx) on free loopback ports inside t.TempDir and
// stops them with t.Cleanup, and it skips or fails a test cleanly when a
// server binary is not installed.
package testutil

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

// RequireDepsEnv is the environment variable that turns a missing test
// dependency from a skip into a failure. CI sets it to 1 so that a broken
// image cannot make the suite pass by skipping everything.
const RequireDepsEnv = "EASEL_REQUIRE_DEPS"

// Require looks binary up in PATH and then in /usr/sbin, /usr/local/sbin and
// /sbin, and returns its path. When it is missing the test is skipped with a
// message naming the binary, or fails if EASEL_REQUIRE_DEPS=1.
func Require(t testing.TB, binary string) string {
	t.Helper()
	p, err := cluster.LookPath(binary)
	if err == nil {
		return p
	}
	if os.Getenv(RequireDepsEnv) == "1" {
		t.Fatalf("test needs %s and %s=1: %v (install it, e.g. apt-get install %s)", binary, RequireDepsEnv, err, aptPackage(binary))
	}
	t.Skipf("skipping: test needs %s, which is not installed (%v); install it (e.g. apt-get install %s) or set %s=1 to make this a failure",
		binary, err, aptPackage(binary), RequireDepsEnv)
	return ""
}

// aptPackage names the Debian package that provides binary, for messages.
func aptPackage(binary string) string {
	switch binary {
	case "redis-server":
		return "redis-server"
	case "nginx":
		return "nginx-light"
	default:
		return binary
	}
}

// StartRedis starts a redis-server with no persistence (`--save ""`,
// `--appendonly no`) on a free 127.0.0.1 port, with its files in t.TempDir,
// and returns its host:port and a function that stops it. Stop is idempotent
// and also registered with t.Cleanup, so callers may ignore it unless they
// want to take Redis away mid-test. Skips (or fails, see Require) when
// redis-server is not installed.
func StartRedis(t testing.TB) (addr string, stop func()) {
	t.Helper()
	Require(t, "redis-server")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := cluster.StartRedis(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	stop = func() {
		if err := r.Stop(); err != nil {
			t.Logf("stopping redis-server on %s: %v", r.Addr, err)
		}
	}
	t.Cleanup(stop)
	return r.Addr, stop
}
