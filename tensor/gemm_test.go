package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// gemmGuard fills the slack around and between the rows of C; it must survive.
const gemmGuard = float32(-7777.5)

// gemmRef is the obviously correct product in float64:
// C = alpha*op(A)*op(B) + beta*C, C not read when beta == 0.
func gemmRef(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			s *= alpha
			if beta != 0 {
				s += beta * float64(c[i*ldc+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

type gemmCase struct {
	m, n, k    int
	padA, padB int // extra columns of slack in each row (sub-views)
	padC       int
	alpha      float32
	beta       float32
}

// gemmCases covers empty and size-1 products, one past each micro-tile width
// (4×4 generic, 6×16 avx2fma) and each block (kc up to 320, mc 144), and products
// large enough to be split over workers.
func gemmCases() []gemmCase {
	var cs []gemmCase
	sizes := [][3]int{
		{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}, {1, 1, 1}, {1, 17, 1}, {17, 1, 1},
		{3, 3, 3}, {4, 4, 4}, {5, 5, 5}, {6, 16, 1}, {7, 17, 2}, {6, 16, 7}, {12, 32, 9},
		{13, 33, 17}, {5, 15, 3}, {11, 31, 5}, {64, 64, 64}, {65, 63, 66},
		{145, 37, 20}, {20, 17, 257}, {97, 129, 513}, {150, 300, 260}, {289, 95, 31},
		{9, 35, 321}, {7, 20, 700}, // two and three k blocks (kBlock)
	}
	for i, s := range sizes {
		cs = append(cs, gemmCase{m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0})
		cs = append(cs, gemmCase{m: s[0], n: s[1], k: s[2], padA: 3, padB: 1, padC: 5, alpha: -1.5, beta: 0.5 + float32(i%2)})
	}
	cs = append(cs,
		gemmCase{m: 30, n: 40, k: 50, alpha: 0, beta: 2},
		gemmCase{m: 30, n: 40, k: 50, alpha: 2, beta: 1},
	)
	return cs
}

func TestGemmVariants(t *testing.T) {
	names := GemmVariants()
	if len(names) == 0 || names[len(names)-1] != "generic" {
		t.Fatalf("GemmVariants() = %v, want the generic kernel last", names)
	}
	if err := SetGemmVariant("no-such-kernel"); err == nil || !strings.Contains(err.Error(), "generic") {
		t.Errorf("SetGemmVariant(unknown) error = %v, want one listing the variants", err)
	}
	for _, v := range gemmRegistry {
		if !v.available() {
			if err := SetGemmVariant(v.name); err == nil {
				t.Errorf("SetGemmVariant(%q) succeeded on a CPU that lacks it", v.name)
			}
			t.Logf("variant %s: not supported by this CPU, skipped", v.name)
		}
	}
}

// TestGemm runs every variant this machine supports through the same cases
// and compares with the float64 reference.
func TestGemm(t *testing.T) {
	for _, name := range GemmVariants() {
		t.Run(name, func(t *testing.T) {
			if err := SetGemmVariant(name); err != nil {
				t.Fatal(err)
			}
			defer SetGemmVariant("")
			testGemmConformance(t)
		})
	}
}

func testGemmConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gemmCases() {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			transA, transB := tr[0], tr[1]
			name := fmt.Sprintf("m=%d/n=%d/k=%d/tA=%v/tB=%v/pad=%d,%d,%d/alpha=%g/beta=%g",
				tc.m, tc.n, tc.k, transA, transB, tc.padA, tc.padB, tc.padC, tc.alpha, tc.beta)
			ar, ac := tc.m, tc.k
			if transA {
				ar, ac = tc.k, tc.m
			}
			br, bc := tc.k, tc.n
			if transB {
				br, bc = tc.n, tc.k
			}
			lda, ldb, ldc := max(1, ac+tc.padA), max(1, bc+tc.padB), max(1, tc.n+tc.padC)
			a := randSlice(rng, ar*lda)
			b := randSlice(rng, br*ldb)
			// C has a guard row before and after and guard values in its padding.
			const lead = 8
			cbuf := make([]float32, lead+tc.m*ldc+lead)
			for i := range cbuf {
				cbuf[i] = gemmGuard
			}
			c := cbuf[lead : lead+tc.m*ldc]
			for i := range tc.m {
				for j := range tc.n {
					c[i*ldc+j] = rng.Float32()*2 - 1
					if tc.beta == 0 && j%3 == 0 {
						c[i*ldc+j] = float32(math.NaN()) // beta == 0 must not read C
					}
				}
			}
			a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
			want := gemmRef(transA, transB, tc.m, tc.n, tc.k, float64(tc.alpha), a, lda, b, ldb, float64(tc.beta), c, ldc)

			Gemm(transA, transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)

			bad := 0
			for i := range tc.m {
				for j := range tc.n {
					got, w := float64(c[i*ldc+j]), want[i*tc.n+j]
					tol := 1e-5 * float64(tc.k+2) * (1 + math.Abs(w))
					if math.IsNaN(got) || math.Abs(got-w) > tol {
						if bad++; bad <= 10 {
							t.Errorf("%s: c[%d][%d] = %g, want %g", name, i, j, got, w)
						}
					}
				}
			}
			if bad > 10 {
				t.Errorf("%s: %d mismatches in all", name, bad)
			}
			for i, g := range cbuf {
				inC := i >= lead && i < lead+tc.m*ldc && (i-lead)%ldc < tc.n
				if !inC && g != gemmGuard {
					t.Errorf("%s: guard at %d overwritten: %g", name, i-lead, g)
					break
				}
			}
			if !equal32(a, a0) || !equal32(b, b0) {
				t.Errorf("%s: inputs modified", name)
			}
		}
	}
}

func equal32(x, y []float32) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// TestGemmDeterministic checks that the result does not depend on the number
// of workers.
func TestGemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 203, 517, 600
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	var first []float32
	for _, procs := range []int{1, 2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		c := make([]float32, m*n)
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		runtime.GOMAXPROCS(old)
		if first == nil {
			first = c
		} else if !equal32(first, c) {
			t.Errorf("GOMAXPROCS=%d gives a different result from GOMAXPROCS=1", procs)
		}
	}
}

func TestGemmPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"negative m", func() { Gemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, errBadShape},
		{"small lda", func() {
			Gemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, errBadLd},
		{"short a", func() {
			Gemm(false, false, 2, 2, 3, 1, make([]float32, 5), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, errShortBuf},
		{"short c", func() {
			Gemm(true, true, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 3, 0, make([]float32, 3), 2)
		}, errShortBuf},
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

// TestGemmTileBias checks that starting a tile from a bias per row gives,
// bit for bit, what the kernel gives over C filled with the bias (alpha 1,
// beta 1), for full and partial tiles of every variant, so the convolution
// results do not depend on which of the two a tile took.
func TestGemmTileBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range GemmVariants() {
		if err := SetGemmVariant(name); err != nil {
			t.Fatal(err)
		}
		v := currentGemm()
		mr, nr := v.mr, v.nr
		for _, kc := range []int{1, 7, 64} {
			a, b := randSlice(rng, mr*kc), randSlice(rng, nr*kc)
			bias := randSlice(rng, mr)
			for _, tile := range [][2]int{{mr, nr}, {mr - 1, nr}, {mr, nr - 3}, {1, 1}} {
				mh, nw := tile[0], tile[1]
				const ldc = 40
				want := make([]float32, mr*ldc)
				for i := range mh {
					fill(want[i*ldc:i*ldc+nw], bias[i])
				}
				got := make([]float32, mr*ldc)
				edge := make([]float32, mr*nr)
				gemmTile(v, edge, kc, a, b, want, ldc, mh, nw, 1, 1)
				gemmTileBias(v, edge, kc, a, b, got, ldc, mh, nw, bias[:mh])
				if !equal32(got, want) {
					t.Errorf("%s kc=%d tile %d×%d: gemmTileBias differs from the kernel over C filled with the bias", name, kc, mh, nw)
				}
			}
		}
	}
	SetGemmVariant("")
}
