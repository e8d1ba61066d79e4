package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestVectorKernels runs every variant's axpy and dot8 over lengths that
// reach each unrolled block (32, 8) and tail, at every alignment of the
// first element, with guard values after y.
func TestVectorKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, v := range gemmRegistry {
		if !v.available() {
			t.Logf("variant %s: not supported by this CPU, skipped", v.name)
			continue
		}
		for n := 0; n <= 75; n++ {
			for off := range 8 {
				name := fmt.Sprintf("%s/n=%d/offset=%d", v.name, n, off)
				x := randSlice(rng, off+n)[off:]
				ybuf := randSlice(rng, off+n+4)
				for i := off + n; i < len(ybuf); i++ {
					ybuf[i] = gemmGuard
				}
				y := ybuf[off : off+n]
				y0 := append([]float32(nil), y...)
				v.axpy(-0.75, x, y)
				for i := range y {
					want := float64(y0[i]) - 0.75*float64(x[i])
					if math.Abs(float64(y[i])-want) > 1e-6 {
						t.Errorf("%s: axpy y[%d] = %g, want %g", name, i, y[i], want)
						break
					}
				}
				for i := off + n; i < len(ybuf); i++ {
					if ybuf[i] != gemmGuard {
						t.Errorf("%s: axpy wrote past y", name)
						break
					}
				}
				if n%8 != 0 {
					continue
				}
				var want float64
				for i := range x {
					want += float64(x[i]) * float64(y[i])
				}
				if got := v.dot8(x, y); math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
					t.Errorf("%s: dot8 = %g, want %g", name, got, want)
				}
			}
		}
	}
}
