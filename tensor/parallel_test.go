package tensor

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// parallelCuts runs Parallel and returns its chunks in order, failing the
// test unless every index was run exactly once.
func parallelCuts(t *testing.T, n, grain int) [][2]int {
	t.Helper()
	seen := make([]int32, n)
	var mu sync.Mutex
	var cuts [][2]int
	Parallel(n, grain, func(lo, hi int) {
		mu.Lock()
		cuts = append(cuts, [2]int{lo, hi})
		mu.Unlock()
		for i := lo; i < hi; i++ {
			atomic.AddInt32(&seen[i], 1)
		}
	})
	for i, k := range seen {
		if k != 1 {
			t.Fatalf("n %d grain %d: index %d run %d times", n, grain, i, k)
		}
	}
	slices.SortFunc(cuts, func(a, b [2]int) int { return a[0] - b[0] })
	return cuts
}

// TestParallelCuts checks that Parallel runs every index once, in chunks
// of at least the grain (but the last) that shrink as the range runs out,
// cut the same way on every call.
func TestParallelCuts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct {
		procs, n, grain int
		want            [][2]int // nil: only the general properties
	}{
		{1, 100, 1, [][2]int{{0, 100}}}, // one thread: one call
		{2, 0, 1, nil},                  // nothing to do
		{2, 5, 10, [][2]int{{0, 5}}},    // within the grain: one call
		{2, 20, 1, [][2]int{{0, 5}, {5, 9}, {9, 12}, {12, 14}, {14, 16}, {16, 17}, {17, 18}, {18, 19}, {19, 20}}},
		{2, 100, 30, [][2]int{{0, 30}, {30, 60}, {60, 90}, {90, 100}}}, // the grain bounds the chunks
		{4, 1000, 1, nil},
		{3, 1 << 20, 64, nil},
	}
	for _, c := range cases {
		runtime.GOMAXPROCS(c.procs)
		first := parallelCuts(t, c.n, c.grain)
		if c.want != nil && !slices.Equal(first, c.want) {
			t.Errorf("procs %d n %d grain %d: chunks %v, want %v", c.procs, c.n, c.grain, first, c.want)
		}
		for i, r := range first {
			if r[1]-r[0] < c.grain && r[1] != c.n {
				t.Errorf("procs %d n %d grain %d: chunk %v below the grain", c.procs, c.n, c.grain, r)
			}
			if i > 0 && r[1]-r[0] > first[i-1][1]-first[i-1][0] {
				t.Errorf("procs %d n %d grain %d: chunk %v larger than the one before", c.procs, c.n, c.grain, r)
			}
		}
		for range 3 {
			if again := parallelCuts(t, c.n, c.grain); !slices.Equal(again, first) {
				t.Fatalf("procs %d n %d grain %d: cut %v, then %v", c.procs, c.n, c.grain, first, again)
			}
		}
	}
}

// TestParallelNestedAndConcurrent checks calls made from inside a chunk and
// from several goroutines at once, which do not get the team.
func TestParallelNestedAndConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const outer, inner = 13, 1000
	var sum atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Parallel(outer, 1, func(lo, hi int) {
				for range hi - lo {
					Parallel(inner, 7, func(lo, hi int) { sum.Add(int64(hi - lo)) })
				}
			})
		}()
	}
	wg.Wait()
	if got, want := sum.Load(), int64(4*outer*inner); got != want {
		t.Errorf("%d items run, want %d", got, want)
	}
}
