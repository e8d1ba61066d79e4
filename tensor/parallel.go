package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel runs fn(lo, hi) over [0, n) cut into chunks and returns when all
// are done. Chunks hold at least grain items and there are about four per
// goroutine, on up to GOMAXPROCS goroutines (the caller being one) that take
// them in turn from a shared counter: a core slowed by other work simply
// takes fewer, rather than holding up the others at the end. With one chunk,
// or one thread, fn(0, n) runs on the calling goroutine.
//
// How [0, n) is cut depends only on n, grain and GOMAXPROCS; which goroutine
// runs a chunk varies. A kernel whose chunks write disjoint outputs, each
// computed the same way whatever chunk it falls in, is therefore
// deterministic.
func Parallel(n, grain int, fn func(lo, hi int)) {
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
