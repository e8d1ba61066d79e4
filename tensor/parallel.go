package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// ParallelDynamic runs fn(lo, hi) over [0, n) cut into chunks of at least
// grain items, about four per goroutine, on up to GOMAXPROCS goroutines
// that take the chunks in turn from a shared counter: a core slowed by
// other work simply takes fewer. It returns when all chunks are done.
//
// Which goroutine runs a chunk, and how [0, n) is cut, vary with
// scheduling and GOMAXPROCS, so fn must compute every item the same way
// whatever range it is in (writing disjoint outputs); the results are then
// deterministic.
func ParallelDynamic(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := max(grain, 1, (n+4*workers-1)/(4*workers))
	chunks := (n + chunk - 1) / chunk
	if workers = min(workers, chunks); workers <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	run := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			fn(c*chunk, min(n, (c+1)*chunk))
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for range workers - 1 {
		go func() {
			defer wg.Done()
			run()
		}()
	}
	run()
	wg.Wait()
}
