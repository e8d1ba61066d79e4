package tensor

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// lifNaive is the LIF scan written the way the MindSpore port states it:
// for each step of a group, over every element of the strided slice, with
// u = tau*u*(1-o) + x, o = u > vth, y = max(u, vth). It returns y and the
// firing flags (1 on pass-through positions, as the official kernel stores).
func lifNaive(x *Tensor, axis, group int, tau, vth float32) (y, flags *Tensor) {
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	y, flags = New(x.shape...), New(x.shape...)
	l := h
	if axis == LIFAlongW {
		l = w
	}
	at := func(i, j, a, b int) int { // a: index along the axis, b: across it
		if axis == LIFAlongH {
			return ((i*c+j)*h+a)*w + b
		}
		return ((i*c+j)*h+b)*w + a
	}
	across := w
	if axis == LIFAlongW {
		across = h
	}
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for b := 0; b < across; b++ {
				for g := 0; g+group <= l; g += group {
					var u, o float32
					for t := 0; t < group; t++ {
						k := at(i, j, g+t, b)
						u = float32(tau*u*(1-o)) + x.data[k]
						o = 0
						if u > vth {
							o = 1
						}
						y.data[k] = float32(math.Max(float64(u), float64(vth)))
						flags.data[k] = o
					}
				}
				for a := l / group * group; a < l; a++ {
					k := at(i, j, a, b)
					y.data[k] = x.data[k]
					flags.data[k] = 1
				}
			}
		}
	}
	return y, flags
}

// lifNaiveBackward follows the official CUDA backward: du by a reverse scan,
// the tau derivative by a forward scan of du/dtau, all in float64.
func lifNaiveBackward(x, gy *Tensor, axis, group int, tau, vth float32) (gx []float64, gtau, gvth float64) {
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	_, flags := lifNaive(x, axis, group, tau, vth)
	gx = make([]float64, x.Len())
	l, across := h, w
	if axis == LIFAlongW {
		l, across = w, h
	}
	at := func(i, j, a, b int) int {
		if axis == LIFAlongH {
			return ((i*c+j)*h+a)*w + b
		}
		return ((i*c+j)*h+b)*w + a
	}
	t64 := float64(tau)
	for k := range gy.data {
		gvth += (1 - float64(flags.data[k])) * float64(gy.data[k])
	}
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for b := 0; b < across; b++ {
				for g := 0; g+group <= l; g += group {
					u := make([]float64, group)
					carry := make([]float64, group)
					var cr float64
					for t := 0; t < group; t++ {
						k := at(i, j, g+t, b)
						carry[t] = cr
						u[t] = float64(float32(tau*float32(cr)) + x.data[k])
						if flags.data[k] == 1 {
							cr = 0
						} else {
							cr = u[t]
						}
					}
					var dtau float64 // du[t]/dtau
					for t := 0; t < group; t++ {
						k := at(i, j, g+t, b)
						if t > 0 {
							dtau = dtau*t64*(1-float64(flags.data[at(i, j, g+t-1, b)])) + carry[t]
						}
						gtau += float64(gy.data[k]) * float64(flags.data[k]) * dtau
					}
					var du float64
					for t := group - 1; t >= 0; t-- {
						k := at(i, j, g+t, b)
						f := float64(flags.data[k])
						du = f*float64(gy.data[k]) + t64*(1-f)*du
						gx[k] = du
					}
				}
				for a := l / group * group; a < l; a++ {
					k := at(i, j, a, b)
					gx[k] = float64(gy.data[k])
				}
			}
		}
	}
	return gx, gtau, gvth
}

func randTensor(seed uint64, lo, hi float64, shape ...int) *Tensor {
	t := New(shape...)
	NewRNG(seed).FillUniform(t, lo, hi)
	return t
}

var lifCases = []struct {
	shape []int
	group int
}{
	{[]int{0, 3, 4, 4}, 4},   // empty batch
	{[]int{1, 1, 1, 1}, 4},   // shorter than a group: all pass-through
	{[]int{1, 1, 4, 4}, 1},   // group 1: no recurrence
	{[]int{1, 2, 8, 8}, 4},   // exact groups
	{[]int{2, 3, 7, 7}, 4},   // 3 pass-through rows/cols (stage 4 at 224)
	{[]int{2, 3, 14, 14}, 4}, // 2 pass-through (stage 3 at 224)
	{[]int{1, 2, 5, 9}, 3},   // non-square, odd group
	{[]int{1, 1, 6, 17}, 16}, // group longer than H
	{[]int{3, 5, 33, 40}, 4}, // several planes per worker
}

func TestLIFForward(t *testing.T) {
	for _, tc := range lifCases {
		for _, axis := range []int{LIFAlongH, LIFAlongW} {
			for _, p := range []struct{ tau, vth float32 }{{0.25, 0.1}, {1.3, -0.2}, {-0.7, 0.4}} {
				name := fmt.Sprintf("%v/axis=%d/group=%d/tau=%g/vth=%g", tc.shape, axis, tc.group, p.tau, p.vth)
				t.Run(name, func(t *testing.T) {
					x := randTensor(7, -1, 1.5, tc.shape...)
					x0 := x.Clone()
					want, _ := lifNaive(x, axis, tc.group, p.tau, p.vth)
					// Guard values after the output catch writes past its end.
					buf := make([]float32, x.Len()+8)
					for i := range buf {
						buf[i] = 12345
					}
					y := FromData(buf[:x.Len()], tc.shape...)
					LIF(y, x, axis, tc.group, p.tau, p.vth)
					for i, v := range buf[x.Len():] {
						if v != 12345 {
							t.Fatalf("guard %d overwritten: %v", i, v)
						}
					}
					if MaxAbsDiff(x, x0) != 0 {
						t.Fatalf("input modified")
					}
					bad := 0
					for i := range want.data {
						if y.data[i] != want.data[i] {
							t.Errorf("element %d: got %v, want %v", i, y.data[i], want.data[i])
							if bad++; bad == 10 {
								t.Fatalf("stopping after 10 mismatches; more may follow")
							}
						}
					}
				})
			}
		}
	}
}

func TestLIFWorkedExample(t *testing.T) {
	// tau=1, vth=.1, four steps of .05: u = .05 (rest at vth), .1 (not > vth),
	// .15 (fires), then a fresh .05 after the reset.
	x := FromData([]float32{0.05, 0.05, 0.05, 0.05, 0.7}, 1, 1, 1, 5)
	y := New(1, 1, 1, 5)
	LIF(y, x, LIFAlongW, 4, 1, 0.1)
	want := []float32{0.1, 0.1, 0.15, 0.1, 0.7} // the fifth is passed through
	for i := range want {
		if math.Abs(float64(y.data[i]-want[i])) > 1e-7 {
			t.Fatalf("got %v, want %v", y.data, want)
		}
	}
	// The same along H.
	yh := New(1, 1, 5, 1)
	LIF(yh, x.Reshape(1, 1, 5, 1), LIFAlongH, 4, 1, 0.1)
	for i := range want {
		if yh.data[i] != y.data[i] {
			t.Fatalf("along H got %v, along W %v", yh.data, y.data)
		}
	}
}

func TestLIFBackward(t *testing.T) {
	for _, tc := range lifCases {
		for _, axis := range []int{LIFAlongH, LIFAlongW} {
			name := fmt.Sprintf("%v/axis=%d/group=%d", tc.shape, axis, tc.group)
			t.Run(name, func(t *testing.T) {
				const tau, vth = 0.6, 0.1
				x := randTensor(3, -1, 1.5, tc.shape...)
				gy := randTensor(4, -1, 1, tc.shape...)
				wantGx, wantTau, wantVth := lifNaiveBackward(x, gy, axis, tc.group, tau, vth)
				gx := Full(0.5, tc.shape...) // LIFBackward accumulates
				gtau, gvth := LIFBackward(gx, x, gy, axis, tc.group, tau, vth)
				for i, v := range gx.data {
					if d := math.Abs(float64(v) - 0.5 - wantGx[i]); d > 1e-6 {
						t.Fatalf("gx[%d] = %v, want %v", i, float64(v)-0.5, wantGx[i])
					}
				}
				if d := math.Abs(float64(gtau) - wantTau); d > 1e-5*math.Max(1, math.Abs(wantTau)) {
					t.Errorf("gtau = %v, want %v", gtau, wantTau)
				}
				if d := math.Abs(float64(gvth) - wantVth); d > 1e-5*math.Max(1, math.Abs(wantVth)) {
					t.Errorf("gvth = %v, want %v", gvth, wantVth)
				}
				// gx may be omitted.
				gtau2, gvth2 := LIFBackward(nil, x, gy, axis, tc.group, tau, vth)
				if gtau2 != gtau || gvth2 != gvth {
					t.Errorf("without gx: gtau %v gvth %v, with gx: %v %v", gtau2, gvth2, gtau, gvth)
				}
			})
		}
	}
}

// TestLIFBackwardDeterministic checks that the parameter gradients do not
// depend on the number of threads.
func TestLIFBackwardDeterministic(t *testing.T) {
	x := randTensor(5, -1, 1.5, 2, 16, 56, 56)
	gy := randTensor(6, -1, 1, 2, 16, 56, 56)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, axis := range []int{LIFAlongH, LIFAlongW} {
		runtime.GOMAXPROCS(1)
		t1, v1 := LIFBackward(nil, x, gy, axis, 4, 0.3, 0.1)
		runtime.GOMAXPROCS(4)
		t4, v4 := LIFBackward(nil, x, gy, axis, 4, 0.3, 0.1)
		if t1 != t4 || v1 != v4 {
			t.Errorf("axis %d: 1 thread (%v, %v), 4 threads (%v, %v)", axis, t1, v1, t4, v4)
		}
	}
}

func TestLIFPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"3-D", func() { LIF(New(1, 2, 3), New(1, 2, 3), LIFAlongH, 4, 1, 0) }},
		{"shapes", func() { LIF(New(1, 1, 2, 3), New(1, 1, 3, 2), LIFAlongH, 4, 1, 0) }},
		{"axis", func() { LIF(New(1, 1, 2, 2), New(1, 1, 2, 2), 1, 4, 1, 0) }},
		{"group", func() { LIF(New(1, 1, 2, 2), New(1, 1, 2, 2), LIFAlongW, 0, 1, 0) }},
		{"gx", func() { LIFBackward(New(1, 1, 2, 3), New(1, 1, 2, 2), New(1, 1, 2, 2), LIFAlongW, 4, 1, 0) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			c.f()
		})
	}
}

// BenchmarkLIF times the fused scan on SNN-MLP-T's first-stage shape at
// batch 1 (96×56×56) and, for comparison, the naive strided loop.
func BenchmarkLIF(b *testing.B) {
	x := randTensor(1, -1, 2, 1, 96, 56, 56)
	y := New(x.shape...)
	gy := randTensor(2, -1, 1, x.shape...)
	gx := New(x.shape...)
	for _, axis := range []int{LIFAlongH, LIFAlongW} {
		b.Run(fmt.Sprintf("forward/axis=%d", axis), func(b *testing.B) {
			b.SetBytes(int64(8 * x.Len()))
			for i := 0; i < b.N; i++ {
				LIF(y, x, axis, 4, 0.25, 0.1)
			}
		})
		b.Run(fmt.Sprintf("backward/axis=%d", axis), func(b *testing.B) {
			b.SetBytes(int64(12 * x.Len()))
			for i := 0; i < b.N; i++ {
				LIFBackward(gx, x, gy, axis, 4, 0.25, 0.1)
			}
		})
		b.Run(fmt.Sprintf("naive/axis=%d", axis), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				lifNaive(x, axis, 4, 0.25, 0.1)
			}
		})
	}
}

// TestLIFAssemblyMatchesGo runs the scans, forward and backward, with and
// without the assembly paths on inputs that hold exact ties with vth,
// signed zeros and values around them, along both axes, and wants the same
// bits.
func TestLIFAssemblyMatchesGo(t *testing.T) {
	if !useLIFAVX2 {
		t.Skip("no assembly LIF on this machine or build")
	}
	x := randTensor(3, -1, 1.5, 2, 3, 12, 72)
	special := []float32{0.1, -0.1, 0, float32(math.Copysign(0, -1)), 0.1000001, 0.0999999, 2, -2}
	for i := range x.data {
		if i%3 == 0 {
			x.data[i] = special[(i/3)%len(special)]
		}
	}
	for _, axis := range []int{LIFAlongH, LIFAlongW} {
		for _, p := range []struct{ tau, vth float32 }{{0.25, 0.1}, {-0.7, -0.1}, {1.3, 0}} {
			got, want := New(x.shape...), New(x.shape...)
			LIF(got, x, axis, 4, p.tau, p.vth)
			useLIFAVX2 = false
			LIF(want, x, axis, 4, p.tau, p.vth)
			useLIFAVX2 = true
			for i := range want.data {
				if math.Float32bits(got.data[i]) != math.Float32bits(want.data[i]) {
					t.Fatalf("axis %d tau %g vth %g: element %d (x %v): assembly %v, Go %v", axis, p.tau, p.vth, i, x.data[i], got.data[i], want.data[i])
				}
			}
			gy := randTensor(9, -1, 1, x.shape...)
			for _, withGx := range []bool{true, false} {
				var gxGot, gxWant *Tensor
				if withGx {
					gxGot, gxWant = Full(0.5, x.shape...), Full(0.5, x.shape...)
				}
				tauGot, vthGot := LIFBackward(gxGot, x, gy, axis, 4, p.tau, p.vth)
				useLIFAVX2 = false
				tauWant, vthWant := LIFBackward(gxWant, x, gy, axis, 4, p.tau, p.vth)
				useLIFAVX2 = true
				if tauGot != tauWant || vthGot != vthWant {
					t.Errorf("axis %d tau %g vth %g: backward gradients (%v, %v) with assembly, (%v, %v) in Go", axis, p.tau, p.vth, tauGot, vthGot, tauWant, vthWant)
				}
				if withGx && MaxAbsDiff(gxGot, gxWant) != 0 {
					t.Errorf("axis %d tau %g vth %g: gx differs between assembly and Go", axis, p.tau, p.vth)
				}
			}
		}
	}
}
