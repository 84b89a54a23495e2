package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Processes whose CPU time an end-to-end run accounts for, by command
// name; the probe runs in this process and is counted as "probe".
var cpuProcesses = []string{"easel", "redis-server", "nginx"}

// processCPU returns the CPU seconds (user + system) used so far by every
// process named in cpuProcesses, summed by name, and by this process as
// "probe". It reads /proc, so it is Linux only; elsewhere it is empty.
func processCPU() map[string]float64 {
	out := map[string]float64{}
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		name, secs, ok := parseStat(string(b))
		if !ok {
			continue
		}
		if filepath.Base(d) == self {
			out["probe"] += secs
			continue
		}
		for _, n := range cpuProcesses {
			if name == n {
				out[n] += secs
			}
		}
	}
	return out
}

// parseStat reads the command name and utime + stime (in seconds, at the
// usual 100 clock ticks a second) of a /proc/PID/stat line.
func parseStat(s string) (name string, secs float64, ok bool) {
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i || j+2 > len(s) {
		return "", 0, false
	}
	f := strings.Fields(s[j+2:])
	if len(f) < 13 {
		return "", 0, false
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return s[i+1 : j], (u + st) / 100, true
}
