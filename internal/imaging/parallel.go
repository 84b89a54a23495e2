package imaging

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// minBandRows keeps bands big enough that goroutine start-up and the context
// check stay negligible next to the pixel work.
const minBandRows = 16

// parallel calls fn for consecutive bands [lo, hi) covering [0, n), spread
// over runtime.GOMAXPROCS goroutines. Bands are handed out from a shared
// counter (a few per worker, so uneven bands balance out), and ctx is checked
// before each band: a cancelled render stops within one band and returns
// ctx's error.
func parallel(ctx context.Context, n int, fn func(lo, hi int)) error {
	return parallelMin(ctx, n, minBandRows, fn)
}

// parallelMin is parallel with bands of at least minBand units, for work
// whose units are bigger than a row.
func parallelMin(ctx context.Context, n, minBand int, fn func(lo, hi int)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	band := (n + workers*4 - 1) / (workers * 4)
	band = max(band, minBand)
	bands := (n + band - 1) / band
	workers = min(workers, bands)
	if workers <= 1 {
		for lo := 0; lo < n; lo += band {
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(lo, min(lo+band, n))
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= bands {
					return
				}
				lo := i * band
				fn(lo, min(lo+band, n))
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}
