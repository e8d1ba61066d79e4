package rpn

import (
	"fmt"
	"sort"
	"testing"

	"github.com/densepred/dp/tensor"
)

// TestTopK compares topK with a stable descending sort truncated to k, on
// values with many ties, for k at and around the edges.
func TestTopK(t *testing.T) {
	rng := tensor.NewRNG(4)
	for _, n := range []int{1, 2, 7, 100, 1000} {
		for _, k := range []int{0, 1, 2, n / 2, n - 1, n, n + 1} {
			t.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(t *testing.T) {
				s := make([]scored, n)
				for i := range s {
					s[i] = scored{float32(rng.Intn(10)), int32(i)}
				}
				want := append([]scored(nil), s...)
				sort.SliceStable(want, func(i, j int) bool { return want[i].v > want[j].v })
				m := n
				if k > 0 && k < n {
					m = k
				}
				topK(s, k)
				for i := 0; i < m; i++ {
					if s[i] != want[i] {
						t.Fatalf("position %d: %v, want %v", i, s[i], want[i])
					}
				}
			})
		}
	}
}
