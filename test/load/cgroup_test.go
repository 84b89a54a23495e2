package load

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memCgroup is a memory cgroup of the test's own, v1 or v2.
type memCgroup struct {
	dir string
	v2  bool
}

// newMemCgroup creates a memory cgroup limited to limit bytes (no swap),
// removed on cleanup. It skips, or fails under EASEL_REQUIRE_DEPS=1, when
// the machine gives no writable memory controller (not root, no cgroupfs).
func newMemCgroup(t *testing.T, limit int64) *memCgroup {
	t.Helper()
	name := fmt.Sprintf("easel-load-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	cg := &memCgroup{}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cg.v2, cg.dir = true, filepath.Join("/sys/fs/cgroup", name)
	} else {
		cg.dir = filepath.Join("/sys/fs/cgroup/memory", name)
	}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		missing(t, fmt.Sprintf("a writable memory cgroup (root, cgroupfs at /sys/fs/cgroup): %v", err))
	}
	t.Cleanup(func() {
		// The cgroup can go once its processes have: retry briefly while
		// the killed replica is reaped.
		for i := 0; i < 50; i++ {
			if err := os.Remove(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("removing cgroup %s: still busy", cg.dir)
	})
	files := map[string]string{"memory.limit_in_bytes": strconv.FormatInt(limit, 10)}
	if cg.v2 {
		files = map[string]string{"memory.max": strconv.FormatInt(limit, 10), "memory.swap.max": "0"}
	}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(cg.dir, f), []byte(v), 0o644); err != nil && !strings.Contains(f, "swap") {
			t.Fatalf("limiting cgroup: %s: %v", f, err)
		}
	}
	if !cg.v2 {
		// No swap either, where the kernel accounts it: the limit is the
		// limit, as in a pod.
		_ = os.WriteFile(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0o644)
	}
	return cg
}

// procsFile is where a pid is written to move it into the cgroup.
func (cg *memCgroup) procsFile() string { return filepath.Join(cg.dir, "cgroup.procs") }

// peak is the highest memory use the cgroup has seen.
func (cg *memCgroup) peak() int64 {
	f := "memory.max_usage_in_bytes"
	if cg.v2 {
		f = "memory.peak"
	}
	b, err := os.ReadFile(filepath.Join(cg.dir, f))
	if err != nil {
		return -1
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// oomKills is how many processes the kernel's OOM killer ended in the
// cgroup (memory.oom_control's oom_kill on v1, memory.events' oom_kill on
// v2); -1 when the kernel does not say.
func (cg *memCgroup) oomKills() int64 {
	f := "memory.oom_control"
	if cg.v2 {
		f = "memory.events"
	}
	file, err := os.Open(filepath.Join(cg.dir, f))
	if err != nil {
		return -1
	}
	defer func() { _ = file.Close() }()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "oom_kill" {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// missing skips the test for want, or fails it under EASEL_REQUIRE_DEPS=1.
func missing(t *testing.T, want string) {
	t.Helper()
	if os.Getenv("EASEL_REQUIRE_DEPS") == "1" {
		t.Fatalf("the load test needs %s and EASEL_REQUIRE_DEPS=1", want)
	}
	t.Skipf("skipping: the load test needs %s", want)
}

// rss is the cgroup's resident anonymous memory now (v1 memory.stat's rss,
// v2 memory.stat's anon): the process's own pages, without the page cache
// that max_usage_in_bytes also counts (and the kernel reclaims before it
// kills anything).
func (cg *memCgroup) rss() int64 {
	b, err := os.ReadFile(filepath.Join(cg.dir, "memory.stat"))
	if err != nil {
		return -1
	}
	key := "rss"
	if cg.v2 {
		key = "anon"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// sampleRSS records the highest rss every 100 ms until stop is called,
// which returns it.
func (cg *memCgroup) sampleRSS() (stop func() int64) {
	done := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var m int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m = max(m, cg.rss())
			select {
			case <-done:
				peak <- m
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); return <-peak }
}
