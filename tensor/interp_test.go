package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// bilinearRef resizes by the definition in float64: source coordinate
// ratio·dst (align corners) or max(ratio·(dst+½)-½, 0), and linear weights
// between its floor and the next index, clamped at the border.
func bilinearRef(p ResizeParams, x []float32) []float64 {
	coord := func(in, out int, scale float64) func(o int) (int, int, float64) {
		var r float64
		switch {
		case p.AlignCorners && out > 1:
			r = float64(in-1) / float64(out-1)
		case p.AlignCorners:
			r = 0
		case scale > 0:
			r = 1 / scale
		default:
			r = float64(in) / float64(out)
		}
		return func(o int) (int, int, float64) {
			src := r * float64(o)
			if !p.AlignCorners {
				src = math.Max(r*(float64(o)+0.5)-0.5, 0)
			}
			if in == out {
				src = float64(o)
			}
			i0 := int(src)
			return i0, min(i0+1, in-1), src - float64(i0)
		}
	}
	ch, cw := coord(p.H, p.OutH, p.ScaleH), coord(p.W, p.OutW, p.ScaleW)
	y := make([]float64, 0, p.N*p.C*p.OutH*p.OutW)
	for pl := 0; pl < p.N*p.C; pl++ {
		at := func(h, w int) float64 { return float64(x[pl*p.H*p.W+h*p.W+w]) }
		for i := 0; i < p.OutH; i++ {
			h0, h1, a := ch(i)
			for j := 0; j < p.OutW; j++ {
				w0, w1, b := cw(j)
				y = append(y, (1-a)*((1-b)*at(h0, w0)+b*at(h0, w1))+a*((1-b)*at(h1, w0)+b*at(h1, w1)))
			}
		}
	}
	return y
}

func resizeCases() []ResizeParams {
	return []ResizeParams{
		{N: 1, C: 1, H: 1, W: 1, OutH: 1, OutW: 1},
		{N: 1, C: 1, H: 1, W: 1, OutH: 3, OutW: 2},
		{N: 2, C: 3, H: 5, W: 7, OutH: 9, OutW: 12},
		{N: 2, C: 3, H: 5, W: 7, OutH: 9, OutW: 12, AlignCorners: true},
		{N: 1, C: 2, H: 9, W: 11, OutH: 4, OutW: 5},
		{N: 1, C: 2, H: 9, W: 11, OutH: 4, OutW: 5, AlignCorners: true},
		{N: 1, C: 2, H: 4, W: 6, OutH: 1, OutW: 1, AlignCorners: true},
		{N: 1, C: 2, H: 5, W: 7, OutH: 7, OutW: 10, ScaleH: 1.5, ScaleW: 1.5},
		{N: 1, C: 2, H: 6, W: 6, OutH: 6, OutW: 12},
		{N: 4, C: 16, H: 32, W: 32, OutH: 64, OutW: 64},
	}
}

func TestResizeBilinear(t *testing.T) {
	for _, p := range resizeCases() {
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d/scale=%v/align=%v", p.H, p.W, p.OutH, p.OutW, p.ScaleH, p.AlignCorners), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(p.H*p.W*p.OutH), 7))
			x, dy := randSlice(rng, p.N*p.C*p.H*p.W), randSlice(rng, p.N*p.C*p.OutH*p.OutW)
			y, yGuard := guarded(len(dy))
			ResizeBilinear(p, x, y)
			compareNorm(t, "y", y, bilinearRef(p, x))
			yGuard(t, "y")
			dx, dxGuard := guarded(len(x))
			ResizeBilinearBackward(p, dy, dx)
			checkAdjoint(t, "backward", y, dy, x, dx)
			dxGuard(t, "dx")
		})
	}
}

func TestResizeNearest(t *testing.T) {
	for _, p := range resizeCases() {
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d/scale=%v", p.H, p.W, p.OutH, p.OutW, p.ScaleH), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(p.H*p.W*p.OutW), 8))
			x, dy := randSlice(rng, p.N*p.C*p.H*p.W), randSlice(rng, p.N*p.C*p.OutH*p.OutW)
			src := func(o, in, out int, scale float64) int {
				if scale > 0 {
					return min(int(math.Floor(float64(o)/scale)), in-1)
				}
				return o * in / out // ⌊o·in/out⌋ exactly
			}
			want := make([]float64, 0, len(dy))
			for pl := 0; pl < p.N*p.C; pl++ {
				for i := 0; i < p.OutH; i++ {
					for j := 0; j < p.OutW; j++ {
						want = append(want, float64(x[pl*p.H*p.W+src(i, p.H, p.OutH, p.ScaleH)*p.W+src(j, p.W, p.OutW, p.ScaleW)]))
					}
				}
			}
			y, yGuard := guarded(len(dy))
			ResizeNearest(p, x, y)
			compareNorm(t, "y", y, want)
			yGuard(t, "y")
			dx, dxGuard := guarded(len(x))
			ResizeNearestBackward(p, dy, dx)
			checkAdjoint(t, "backward", y, dy, x, dx)
			dxGuard(t, "dx")
		})
	}
}

func TestResizeDeterministic(t *testing.T) {
	p := ResizeParams{N: 4, C: 16, H: 24, W: 20, OutH: 50, OutW: 37}
	rng := rand.New(rand.NewPCG(10, 10))
	x, dy := randSlice(rng, p.N*p.C*p.H*p.W), randSlice(rng, p.N*p.C*p.OutH*p.OutW)
	var first [][]float32
	for _, procs := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(procs)
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		ResizeBilinear(p, x, y)
		ResizeBilinearBackward(p, dy, dx)
		runtime.GOMAXPROCS(old)
		if first == nil {
			first = [][]float32{y, dx}
		} else if !equal32(y, first[0]) || !equal32(dx, first[1]) {
			t.Errorf("GOMAXPROCS=%d differs from GOMAXPROCS=1", procs)
		}
	}
}
