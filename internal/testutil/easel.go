package testutil

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

// MainWithEasel is the TestMain of a package whose tests run `easel serve`
// processes: it builds the binary once into a temporary folder, stores its
// path in *bin, runs the tests and returns their exit code. With -short it
// builds nothing (such tests skip themselves).
func MainWithEasel(m *testing.M, bin *string) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "easel-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating build dir:", err)
		return 1
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "removing build dir:", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if *bin, err = cluster.BuildEasel(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "building easel:", err)
		return 1
	}
	return m.Run()
}

// DumpClusterLogs logs what went wrong inside a local cluster under dir:
// nginx's error log and the warnings and errors of every replica, the last
// maxLines lines of each file.
func DumpClusterLogs(t testing.TB, dir string, maxLines int) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") || strings.HasSuffix(path, "access.log") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var keep []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(path, "error.log") || strings.Contains(line, `"level":"WARN"`) ||
				strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
				keep = append(keep, line)
			}
		}
		if len(keep) > maxLines {
			keep = keep[len(keep)-maxLines:]
		}
		if len(keep) > 0 {
			t.Logf("%s:\n%s", strings.TrimPrefix(path, dir), strings.Join(keep, "\n"))
		}
		return nil
	})
}
