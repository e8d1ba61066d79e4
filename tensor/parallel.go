package tensor

import (
	"runtime"
	"sync"
)

// Parallel splits [0, n) into contiguous chunks of at least grain items and
// runs fn(lo, hi) on them, one goroutine per chunk, up to GOMAXPROCS chunks.
// It returns when all chunks are done. With n <= grain, or one thread, fn runs
// on the calling goroutine.
//
// The split depends only on n, grain and GOMAXPROCS, so a kernel whose chunks
// write disjoint outputs, each reduced in order, is deterministic.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := runtime.GOMAXPROCS(0)
	if max := (n + grain - 1) / grain; workers > max {
		workers = max
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		if hi == n {
			fn(lo, hi) // the caller does the last chunk
			break
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}
