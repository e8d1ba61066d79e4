package tensor

import (
	"runtime"
	"sync"
	"testing"
)

// TestParallelCoversOnce checks that Parallel hands every index to exactly
// one chunk, that chunks respect the grain (all but the last) and that the
// cut depends only on n, grain and GOMAXPROCS.
func TestParallelCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct{ procs, n, grain, chunks int }{
		{1, 100, 1, 1},      // one thread: one call
		{2, 0, 1, 0},        // nothing to do
		{2, 5, 10, 1},       // below the grain: one call
		{2, 100, 1, 8},      // about four chunks per worker
		{2, 100, 30, 4},     // the grain bounds the chunk: 30, 30, 30, 10
		{4, 1000, 1, 16},    // 63 per chunk
		{2, 7, 1, 7},        // fewer items than chunks wanted
		{3, 1 << 20, 1, 12}, // large range
	}
	for _, c := range cases {
		runtime.GOMAXPROCS(c.procs)
		for round := 0; round < 2; round++ {
			seen := make([]int, c.n)
			var mu sync.Mutex
			var cuts [][2]int
			Parallel(c.n, c.grain, func(lo, hi int) {
				mu.Lock()
				cuts = append(cuts, [2]int{lo, hi})
				mu.Unlock()
				for i := lo; i < hi; i++ {
					seen[i]++
				}
			})
			if len(cuts) != c.chunks {
				t.Errorf("procs %d n %d grain %d: %d chunks, want %d", c.procs, c.n, c.grain, len(cuts), c.chunks)
			}
			for i, k := range seen {
				if k != 1 {
					t.Fatalf("procs %d n %d grain %d: index %d run %d times", c.procs, c.n, c.grain, i, k)
				}
			}
			for _, r := range cuts {
				if r[1]-r[0] < c.grain && r[1] != c.n {
					t.Errorf("procs %d n %d grain %d: chunk %v below the grain", c.procs, c.n, c.grain, r)
				}
			}
		}
	}
}
