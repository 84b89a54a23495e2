package bench

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	// A command name may hold spaces and parentheses; fields 14 and 15
	// (utime, stime) are 250 and 50 ticks.
	line := "4242 (nginx: (worker) x) S 1 4242 4242 0 -1 4194624 120 0 0 0 250 50 0 0 20 0 1 0 100 1000 10 18446744073709551615"
	name, secs, ok := parseStat(line)
	if !ok || name != "nginx: (worker) x" || secs != 3 {
		t.Fatalf("parseStat = %q, %v, %v; want nginx: (worker) x, 3, true", name, secs, ok)
	}
	if _, _, ok := parseStat("garbage"); ok {
		t.Fatal("parseStat accepted a line without a command name")
	}
}

func TestProcessCPUCountsThisProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before := processCPU()["probe"]
	sum := sha256.Sum256(nil)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		for range 10000 {
			sum = sha256.Sum256(sum[:]) // busy: CPU time must show
		}
		if processCPU()["probe"] > before {
			return
		}
	}
	t.Fatalf("CPU time of this process stayed at %v s while it computed for 5 s", before)
}
