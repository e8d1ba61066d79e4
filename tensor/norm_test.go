package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// normRef normalises x laid out as outer×groups... in float64 by the
// definition: unit u of the statistics holds the elements idx(u) returns,
// and scale/shift index chan(i) returns the affine parameter of element i.
// Given dy it also returns dx (training-mode formula when train, constants
// otherwise) and the affine gradients.
type normRef struct {
	units   [][]int // element indices of each statistics unit
	channel func(i int) int
	nparam  int
}

func (r normRef) run(x, w, b, dy []float32, eps float64, stats [][2]float64) (y, dx, dw, db []float64) {
	y, dx = make([]float64, len(x)), make([]float64, len(x))
	dw, db = make([]float64, r.nparam), make([]float64, r.nparam)
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return float64(w[r.channel(i)])
	}
	for u, idx := range r.units {
		var mean, v float64
		if stats != nil {
			mean, v = stats[u][0], stats[u][1]
		} else {
			for _, i := range idx {
				mean += float64(x[i])
			}
			mean /= float64(len(idx))
			for _, i := range idx {
				v += (float64(x[i]) - mean) * (float64(x[i]) - mean)
			}
			v /= float64(len(idx))
		}
		is := 1 / math.Sqrt(v+eps)
		var su, sux float64
		for _, i := range idx {
			xh := (float64(x[i]) - mean) * is
			y[i] = xh * wt(i)
			if b != nil {
				y[i] += float64(b[r.channel(i)])
			}
			u := float64(dy[i]) * wt(i)
			su += u
			sux += u * xh
			dw[r.channel(i)] += float64(dy[i]) * xh
			db[r.channel(i)] += float64(dy[i])
		}
		m := float64(len(idx))
		for _, i := range idx {
			xh := (float64(x[i]) - mean) * is
			u := float64(dy[i]) * wt(i)
			if stats != nil {
				dx[i] = is * u
			} else {
				dx[i] = is * (u - su/m - xh*sux/m)
			}
		}
	}
	return y, dx, dw, db
}

func compareNorm(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	bad := 0
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > 2e-5*scale || math.IsNaN(float64(got[i])) {
			t.Errorf("%s[%d] = %v, want %v", name, i, got[i], want[i])
			if bad++; bad == 10 {
				t.Errorf("%s: stopping after 10 mismatches; more may follow", name)
				return
			}
		}
	}
}

// guarded returns a zeroed slice of length n followed by guard values, and
// a check that the guards survived.
func guarded(n int) ([]float32, func(t *testing.T, name string)) {
	const guard = 1234.5
	buf := make([]float32, n+7)
	for i := n; i < len(buf); i++ {
		buf[i] = guard
	}
	return buf[:n], func(t *testing.T, name string) {
		for i := n; i < len(buf); i++ {
			if buf[i] != guard {
				t.Errorf("%s: guard value at %d overwritten with %v", name, i-n, buf[i])
				return
			}
		}
	}
}

func TestBatchNormKernels(t *testing.T) {
	for _, s := range [][3]int{{1, 1, 2}, {2, 3, 5}, {4, 5, 1}, {3, 2, 17}, {4, 16, 1024}} {
		for _, train := range []bool{true, false} {
			n, c, hw := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("N=%d/C=%d/HW=%d/train=%v", n, c, hw, train), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n*c*hw), 1))
				x, dy := randSlice(rng, n*c*hw), randSlice(rng, n*c*hw)
				for i := range x {
					x[i] = 3*x[i] + 1
				}
				w, b := randSlice(rng, c), randSlice(rng, c)
				ref := normRef{nparam: c, channel: func(i int) int { return i / hw % c }}
				for ch := 0; ch < c; ch++ {
					var idx []int
					for i := 0; i < n; i++ {
						for k := 0; k < hw; k++ {
							idx = append(idx, (i*c+ch)*hw+k)
						}
					}
					ref.units = append(ref.units, idx)
				}
				mean, variance := make([]float32, c), make([]float32, c)
				var stats [][2]float64
				if train {
					BatchNormStats(n, c, hw, x, mean, variance)
				} else {
					for ch := range mean {
						mean[ch], variance[ch] = 0.3*float32(ch)-0.5, 0.5+0.25*float32(ch)
						stats = append(stats, [2]float64{float64(mean[ch]), float64(variance[ch])})
					}
				}
				invstd := make([]float32, c)
				y, yGuard := guarded(n * c * hw)
				BatchNormForward(n, c, hw, x, mean, variance, w, b, 1e-5, invstd, y)
				dx, dxGuard := guarded(n * c * hw)
				dw, db := make([]float32, c), make([]float32, c)
				BatchNormBackward(n, c, hw, x, dy, mean, invstd, w, train, dx, dw, db)
				wy, wdx, wdw, wdb := ref.run(x, w, b, dy, 1e-5, stats)
				compareNorm(t, "y", y, wy)
				compareNorm(t, "dx", dx, wdx)
				compareNorm(t, "dweight", dw, wdw)
				compareNorm(t, "dbias", db, wdb)
				yGuard(t, "y")
				dxGuard(t, "dx")
			})
		}
	}
}

func TestGroupNormKernels(t *testing.T) {
	for _, s := range [][4]int{{1, 1, 1, 3}, {2, 6, 3, 4}, {2, 4, 4, 1}, {3, 8, 2, 9}, {4, 32, 8, 256}} {
		n, c, g, hw := s[0], s[1], s[2], s[3]
		for _, affine := range []bool{true, false} {
			t.Run(fmt.Sprintf("N=%d/C=%d/G=%d/HW=%d/affine=%v", n, c, g, hw, affine), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n*c*hw+g), 2))
				x, dy := randSlice(rng, n*c*hw), randSlice(rng, n*c*hw)
				var w, b, dw, db []float32
				if affine {
					w, b, dw, db = randSlice(rng, c), randSlice(rng, c), make([]float32, c), make([]float32, c)
				}
				ref := normRef{nparam: c, channel: func(i int) int { return i / hw % c }}
				size := c / g * hw
				for u := 0; u < n*g; u++ {
					var idx []int
					for k := 0; k < size; k++ {
						idx = append(idx, u*size+k)
					}
					ref.units = append(ref.units, idx)
				}
				mean, invstd := make([]float32, n*g), make([]float32, n*g)
				y, yGuard := guarded(n * c * hw)
				GroupNormForward(n, c, hw, g, x, w, b, 1e-5, mean, invstd, y)
				dx, dxGuard := guarded(n * c * hw)
				GroupNormBackward(n, c, hw, g, x, dy, mean, invstd, w, dx, dw, db)
				wy, wdx, wdw, wdb := ref.run(x, w, b, dy, 1e-5, nil)
				compareNorm(t, "y", y, wy)
				compareNorm(t, "dx", dx, wdx)
				if affine {
					compareNorm(t, "dweight", dw, wdw)
					compareNorm(t, "dbias", db, wdb)
				}
				yGuard(t, "y")
				dxGuard(t, "dx")
			})
		}
	}
}

func TestLayerNormKernels(t *testing.T) {
	for _, s := range [][2]int{{1, 1}, {3, 5}, {7, 64}, {1, 65}, {512, 256}} {
		rows, d := s[0], s[1]
		t.Run(fmt.Sprintf("rows=%d/D=%d", rows, d), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(rows*d), 3))
			x, dy := randSlice(rng, rows*d), randSlice(rng, rows*d)
			w, b := randSlice(rng, d), randSlice(rng, d)
			ref := normRef{nparam: d, channel: func(i int) int { return i % d }}
			for r := 0; r < rows; r++ {
				var idx []int
				for k := 0; k < d; k++ {
					idx = append(idx, r*d+k)
				}
				ref.units = append(ref.units, idx)
			}
			mean, invstd := make([]float32, rows), make([]float32, rows)
			y, yGuard := guarded(rows * d)
			LayerNormForward(rows, d, x, w, b, 1e-5, mean, invstd, y)
			dx, dxGuard := guarded(rows * d)
			dw, db := make([]float32, d), make([]float32, d)
			LayerNormBackward(rows, d, x, dy, mean, invstd, w, dx, dw, db)
			wy, wdx, wdw, wdb := ref.run(x, w, b, dy, 1e-5, nil)
			compareNorm(t, "y", y, wy)
			compareNorm(t, "dx", dx, wdx)
			compareNorm(t, "dweight", dw, wdw)
			compareNorm(t, "dbias", db, wdb)
			yGuard(t, "y")
			dxGuard(t, "dx")
		})
	}
}

// TestNormDeterministic checks that the norm kernels give bit-identical
// results for any number of workers.
func TestNormDeterministic(t *testing.T) {
	const n, c, g, hw = 4, 32, 8, 512
	rng := rand.New(rand.NewPCG(9, 9))
	x, dy, w, b := randSlice(rng, n*c*hw), randSlice(rng, n*c*hw), randSlice(rng, c), randSlice(rng, c)
	lw, lb := randSlice(rng, hw), randSlice(rng, hw)
	run := func() [][]float32 {
		var out [][]float32
		mean, variance, invstd := make([]float32, c), make([]float32, c), make([]float32, c)
		y, dx, dw, db := make([]float32, len(x)), make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormStats(n, c, hw, x, mean, variance)
		BatchNormForward(n, c, hw, x, mean, variance, w, b, 1e-5, invstd, y)
		BatchNormBackward(n, c, hw, x, dy, mean, invstd, w, true, dx, dw, db)
		out = append(out, mean, variance, y, dx, dw, db)

		gm, gi := make([]float32, n*g), make([]float32, n*g)
		y, dx, dw, db = make([]float32, len(x)), make([]float32, len(x)), make([]float32, c), make([]float32, c)
		GroupNormForward(n, c, hw, g, x, w, b, 1e-5, gm, gi, y)
		GroupNormBackward(n, c, hw, g, x, dy, gm, gi, w, dx, dw, db)
		out = append(out, y, dx, dw, db)

		lm, li := make([]float32, n*c), make([]float32, n*c)
		y, dx, dw, db = make([]float32, len(x)), make([]float32, len(x)), make([]float32, hw), make([]float32, hw)
		LayerNormForward(n*c, hw, x, lw, lb, 1e-5, lm, li, y)
		LayerNormBackward(n*c, hw, x, dy, lm, li, lw, dx, dw, db)
		return append(out, y, dx, dw, db)
	}
	var first [][]float32
	for _, procs := range []int{1, 2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		got := run()
		runtime.GOMAXPROCS(old)
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			if !equal32(got[i], first[i]) {
				t.Errorf("result %d differs between GOMAXPROCS=1 and %d", i, procs)
			}
		}
	}
}

func TestNormPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"groups do not divide", func() {
			GroupNormForward(1, 6, 1, 4, make([]float32, 6), nil, nil, 1e-5, make([]float32, 4), make([]float32, 4), make([]float32, 6))
		}, errBadShape},
		{"short weight", func() {
			LayerNormForward(2, 3, make([]float32, 6), make([]float32, 2), nil, 1e-5, make([]float32, 2), make([]float32, 2), make([]float32, 6))
		}, errShortBuf},
		{"empty batch statistics", func() { BatchNormStats(0, 2, 3, nil, make([]float32, 2), make([]float32, 2)) }, errBadShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, tc.want) {
					t.Errorf("panic = %v, want prefix %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}
