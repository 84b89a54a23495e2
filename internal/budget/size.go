package budget

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// Sizing defaults: GOMEMLIMIT is [GoMemLimitRatio] of the container's limit
// (the rest is headroom: the runtime lets its heap grow up to GOMEMLIMIT
// before the collector works hard, and the load test measured the cgroup's
// resident memory about 80 MiB above it, so 0.9 left only 20 MiB to the
// kernel's OOM killer on a 1 GiB pod), and the budget is
// [Fraction] of the limit minus a fixed [Reserve] and the blob cache: the
// cache, the session and workspace caches, requests in flight and the
// runtime's own overhead live outside the budget.
const (
	GoMemLimitRatio = 0.8
	Fraction        = 0.7
	Reserve         = 64 << 20
	// MinCapacity is the smallest derived budget: below it a replica could
	// not decode even a modest photo, so a tiny limit gets this and relies
	// on GOMEMLIMIT.
	MinCapacity = 64 << 20
	// LaptopShare of the machine's memory is the limit assumed when no
	// cgroup limits the process (make run on a laptop).
	LaptopShare = 0.25
)

// Limit is the memory this process may use, and where that came from.
type Limit struct {
	Bytes  int64
	Source string // "cgroup", or "system" (a share of the machine's memory: no cgroup limit)
}

// DetectLimit reads the memory limit of this process's cgroup (v1 or v2,
// via automemlimit). Without one it assumes [LaptopShare] of the machine's
// total memory, so a laptop run still bounds its image work.
func DetectLimit() (Limit, error) {
	if n, err := memlimit.FromCgroup(); err == nil && n > 0 {
		return Limit{Bytes: int64(n), Source: "cgroup"}, nil
	} else if err != nil && !errors.Is(err, memlimit.ErrNoLimit) && !errors.Is(err, memlimit.ErrNoCgroup) &&
		!errors.Is(err, memlimit.ErrCgroupsNotSupported) {
		return Limit{}, fmt.Errorf("reading the cgroup memory limit: %w", err)
	}
	total, err := memlimit.FromSystem()
	if err != nil {
		return Limit{}, fmt.Errorf("reading the system's memory: %w", err)
	}
	return Limit{Bytes: int64(float64(total) * LaptopShare), Source: "system"}, nil
}

// SetGoMemLimit sets the Go runtime's soft memory limit to
// [GoMemLimitRatio] of lim, so that the garbage collector works harder
// before the kernel's OOM killer steps in. A GOMEMLIMIT (or AUTOMEMLIMIT)
// set in the environment wins. It returns the limit in force.
func SetGoMemLimit(lim Limit, log *slog.Logger) (int64, error) {
	n, err := memlimit.Set(
		memlimit.WithProvider(memlimit.Limit(uint64(lim.Bytes))),
		memlimit.WithRatio(GoMemLimitRatio),
		memlimit.WithLogger(log),
	)
	if err != nil {
		return debug.SetMemoryLimit(-1), err
	}
	return n, nil
}

// Derive is the budget for a process limited to lim bytes that keeps a
// blob cache of cacheBytes: Fraction × lim − Reserve − cacheBytes, at
// least MinCapacity.
func Derive(lim, cacheBytes int64) int64 {
	return max(MinCapacity, int64(float64(lim)*Fraction)-Reserve-cacheBytes)
}

// Configure sizes this process at start: it detects the memory limit, sets
// GOMEMLIMIT from it, and returns the budget's capacity (override when it
// is not 0, else [Derive] of the limit and the blob cache's size). It logs
// the limit, GOMEMLIMIT and the budget.
func Configure(override, blobCache int64, log *slog.Logger) (int64, error) {
	lim, err := DetectLimit()
	if err != nil {
		return 0, err
	}
	goLimit, err := SetGoMemLimit(lim, log)
	if err != nil {
		return 0, err
	}
	capacity, source := override, "setting"
	if capacity == 0 {
		capacity, source = Derive(lim.Bytes, blobCache), "derived"
	}
	log.Info("memory", "limit_bytes", lim.Bytes, "limit_source", lim.Source, "gomemlimit_bytes", goLimit,
		"budget_bytes", capacity, "budget_source", source)
	return capacity, nil
}
