package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// poolRef pools x by the definition, visiting every window position and
// skipping those outside the image: the max (first one wins) with its flat
// index, or the sum with the two candidate divisors.
func poolRef(p PoolParams, x []float32, countIncludePad bool) (maxv []float32, arg []int32, avg []float64) {
	oh, ow := p.OutH(), p.OutW()
	for pl := 0; pl < p.N*p.C; pl++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				best, bi := float32(math.Inf(-1)), int32(-1)
				var sum float64
				inPad, inImg := 0, 0
				for u := 0; u < p.KH; u++ {
					for v := 0; v < p.KW; v++ {
						h, w := i*p.StrideH-p.PadH+u, j*p.StrideW-p.PadW+v
						if h < p.H+p.PadH && w < p.W+p.PadW {
							inPad++
						}
						if h < 0 || w < 0 || h >= p.H || w >= p.W {
							continue
						}
						inImg++
						val := x[pl*p.H*p.W+h*p.W+w]
						sum += float64(val)
						if bi < 0 || val > best {
							best, bi = val, int32(h*p.W+w)
						}
					}
				}
				div := inImg
				if countIncludePad {
					div = inPad
				}
				maxv, arg, avg = append(maxv, best), append(arg, bi), append(avg, sum/float64(div))
			}
		}
	}
	return maxv, arg, avg
}

func poolCases() []PoolParams {
	return []PoolParams{
		{N: 1, C: 1, H: 1, W: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 2, C: 3, H: 6, W: 7, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{N: 1, C: 2, H: 7, W: 7, KH: 2, KW: 2, StrideH: 2, StrideW: 2, CeilMode: true},
		{N: 1, C: 2, H: 9, W: 10, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 1, C: 2, H: 8, W: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, CeilMode: true},
		{N: 1, C: 1, H: 5, W: 8, KH: 2, KW: 3, StrideH: 1, StrideW: 3, PadH: 1, PadW: 0, CeilMode: true},
		{N: 8, C: 64, H: 28, W: 28, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	}
}

func TestPool2dKernels(t *testing.T) {
	for _, p := range poolCases() {
		t.Run(fmt.Sprintf("%dx%dx%dx%d/k=%dx%d/s=%dx%d/p=%dx%d/ceil=%v", p.N, p.C, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CeilMode), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(p.N*p.C*p.H*p.W), 4))
			x := randSlice(rng, p.N*p.C*p.H*p.W)
			xCopy := append([]float32(nil), x...)
			ny := p.N * p.C * p.OutH() * p.OutW()
			wantMax, wantArg, wantAvg := poolRef(p, x, true)
			_, _, wantAvgEx := poolRef(p, x, false)

			y, yGuard := guarded(ny)
			arg := make([]int32, ny)
			MaxPool2d(p, x, y, arg)
			for i := range wantMax {
				if y[i] != wantMax[i] || arg[i] != wantArg[i] {
					t.Fatalf("max[%d] = %v at %d, want %v at %d", i, y[i], arg[i], wantMax[i], wantArg[i])
				}
			}
			yGuard(t, "max")
			AvgPool2d(p, true, x, y)
			compareNorm(t, "avg", y, wantAvg)
			AvgPool2d(p, false, x, y)
			compareNorm(t, "avg exclude pad", y, wantAvgEx)
			yGuard(t, "avg")
			if !equal32(x, xCopy) {
				t.Errorf("input changed")
			}

			// Backward: the adjoint identities <f(x), dy> = <x, f'(dy)> for
			// the linear avg pool, and scatter to the argmax for max.
			dy := randSlice(rng, ny)
			for _, incl := range []bool{true, false} {
				dx, dxGuard := guarded(len(x))
				AvgPool2dBackward(p, incl, dy, dx)
				AvgPool2d(p, incl, x, y)
				checkAdjoint(t, fmt.Sprintf("avg backward (count_include_pad=%v)", incl), y, dy, x, dx)
				dxGuard(t, "avg dx")
			}
			dx := make([]float32, len(x))
			MaxPool2dBackward(p, dy, arg, dx)
			want := make([]float64, len(x))
			for pl := 0; pl < p.N*p.C; pl++ {
				for k := 0; k < p.OutH()*p.OutW(); k++ {
					o := pl*p.OutH()*p.OutW() + k
					want[pl*p.H*p.W+int(wantArg[o])] += float64(dy[o])
				}
			}
			compareNorm(t, "max dx", dx, want)
		})
	}
}

// checkAdjoint checks <y, dy> = <x, dx> for a linear map y = f(x) whose
// backward gave dx from dy.
func checkAdjoint(t *testing.T, name string, y, dy, x, dx []float32) {
	t.Helper()
	var a, b, scale float64
	for i := range y {
		a += float64(y[i]) * float64(dy[i])
		scale += math.Abs(float64(y[i]) * float64(dy[i]))
	}
	for i := range x {
		b += float64(x[i]) * float64(dx[i])
	}
	if math.Abs(a-b) > 1e-5*math.Max(1, scale) {
		t.Errorf("%s: <f(x), dy> = %.7g but <x, backward(dy)> = %.7g", name, a, b)
	}
}

func TestAdaptiveAvgPool2dKernel(t *testing.T) {
	for _, s := range [][6]int{{1, 1, 1, 1, 1, 1}, {2, 3, 7, 9, 3, 4}, {1, 2, 5, 4, 6, 6}, {2, 2, 8, 8, 1, 1}, {1, 1, 10, 3, 4, 3}} {
		n, c, h, w, oh, ow := s[0], s[1], s[2], s[3], s[4], s[5]
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d", h, w, oh, ow), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(h*w+oh*ow), 5))
			x, dy := randSlice(rng, n*c*h*w), randSlice(rng, n*c*oh*ow)
			want := make([]float64, n*c*oh*ow)
			for pl := 0; pl < n*c; pl++ {
				for i := 0; i < oh; i++ {
					// PyTorch: start = floor(i·h/oh), end = ceil((i+1)·h/oh).
					h0, h1 := int(math.Floor(float64(i*h)/float64(oh))), int(math.Ceil(float64((i+1)*h)/float64(oh)))
					for j := 0; j < ow; j++ {
						w0, w1 := int(math.Floor(float64(j*w)/float64(ow))), int(math.Ceil(float64((j+1)*w)/float64(ow)))
						var sum float64
						for r := h0; r < h1; r++ {
							for q := w0; q < w1; q++ {
								sum += float64(x[pl*h*w+r*w+q])
							}
						}
						want[(pl*oh+i)*ow+j] = sum / float64((h1-h0)*(w1-w0))
					}
				}
			}
			y, yGuard := guarded(len(want))
			AdaptiveAvgPool2d(n, c, h, w, oh, ow, x, y)
			compareNorm(t, "y", y, want)
			yGuard(t, "y")
			dx, dxGuard := guarded(len(x))
			AdaptiveAvgPool2dBackward(n, c, h, w, oh, ow, dy, dx)
			checkAdjoint(t, "backward", y, dy, x, dx)
			dxGuard(t, "dx")
		})
	}
}

func TestPoolOutSize(t *testing.T) {
	// Sizes PyTorch 1.13 gives (F.max_pool2d on an input of size in).
	cases := []struct {
		in, k, s, p int
		ceil        bool
		want        int
	}{
		{7, 2, 2, 0, false, 3},
		{7, 2, 2, 0, true, 4},
		{8, 3, 2, 1, true, 5},
		{9, 3, 2, 1, true, 5},
		{6, 3, 3, 1, true, 3},
		{5, 3, 1, 0, false, 3},
		{5, 2, 2, 1, true, 3}, // ceil gives 4, but the 4th window would start in the padding
		{4, 2, 3, 1, true, 2}, // ceil gives 3, dropped likewise
	}
	for _, c := range cases {
		if got := poolOutSize(c.in, c.k, c.s, c.p, c.ceil); got != c.want {
			t.Errorf("poolOutSize(in=%d, k=%d, s=%d, p=%d, ceil=%v) = %d, want %d", c.in, c.k, c.s, c.p, c.ceil, got, c.want)
		}
	}
}

func TestPool2dDeterministicAndPanics(t *testing.T) {
	p := PoolParams{N: 4, C: 32, H: 30, W: 30, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	rng := rand.New(rand.NewPCG(6, 6))
	x, dy := randSlice(rng, p.N*p.C*p.H*p.W), randSlice(rng, p.N*p.C*p.OutH()*p.OutW())
	var first [][]float32
	for _, procs := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(procs)
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		AvgPool2d(p, true, x, y)
		AvgPool2dBackward(p, true, dy, dx)
		runtime.GOMAXPROCS(old)
		if first == nil {
			first = [][]float32{y, dx}
		} else if !equal32(y, first[0]) || !equal32(dx, first[1]) {
			t.Errorf("GOMAXPROCS=%d differs from GOMAXPROCS=1", procs)
		}
	}
	bad := p
	bad.PadH = 2 // more than half the kernel
	defer func() {
		if r, _ := recover().(string); !strings.HasPrefix(r, errBadShape) || !strings.Contains(r, "padding at most half") {
			t.Errorf("panic = %q, want %q ... padding at most half", r, errBadShape)
		}
	}()
	AvgPool2d(bad, true, x, dy)
}
