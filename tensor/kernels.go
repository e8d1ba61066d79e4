package tensor

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// microKernel computes one mr×nr tile of C from packed panels:
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			var s float32
//			for p := 0; p < kc; p++ {
//				s += a[p*mr+i] * b[p*nr+j]
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j] // c is not read when beta == 0
//		}
//	}
//
// The k dimension is reduced in order, so a kernel is deterministic. kc >= 1;
// a holds kc*mr values, b kc*nr values and c at least (mr-1)*ldc+nr.
type microKernel func(kc int, a, b, c []float32, ldc int, alpha, beta float32)

// gemmVariant is one registered set of kernels for one instruction set: the
// SGEMM micro-kernel with its tile shape, and the depthwise and vector kernels
// the convolutions use.
type gemmVariant struct {
	name     string // unique, lower case: "avx2fma", "generic"
	priority int    // the available variant with the highest priority is the default
	mr, nr   int    // micro-tile rows and columns; packing pads panels to them
	kernel   microKernel
	// biasKernel, when not nil, is kernel for a full tile whose sums are
	// added to a bias per row instead of to C: c[i*ldc+j] = s + bias[i], as
	// alpha 1 and beta 1 over C filled with the bias would give, without
	// writing the bias to C first (gemmTileBias).
	biasKernel func(kc int, a, b, c []float32, ldc int, bias []float32)

	// dwBlock adds to a 4×cols block of y (cols 8 or 16) the depthwise
	// taps of x, as dwBlockGeneric documents; dot8 returns Σ x[i]·y[i] for
	// len(x) a multiple of 8; axpy adds alpha·x to y over len(y) values
	// (col2im's scatter). They ride on the same switch as the GEMM kernel
	// so that forcing a variant forces every kernel of that instruction set.
	dwBlock func(cols, kh, kw int, w, x []float32, ldx, dh, dw int, y []float32, ldy int)
	dot8    func(x, y []float32) float32
	axpy    func(alpha float32, x, y []float32)
	// copyRows copies rows runs of n values between strided rows, as
	// copyRows (conv_generic.go) documents: the gather of a convolution's
	// packed patches.
	copyRows func(n, rows int, dst []float32, ds int, src []float32, ss int)
	// transPanel, when not nil, packs the first rows of a full panel of a
	// transposed B operand, dst[p*nr+j] = b[j*ldb+p] for j < nr, and
	// returns how many of the kc rows it wrote (packB does the rest).
	transPanel func(b []float32, ldb, kc int, dst []float32) int
	// panelA6, when not nil, packs the first values of k of a full 6-row
	// panel of a row-major A, dst[p*6+i] = a[i*lda+p], and returns how many
	// of the kc it wrote (packA does the rest).
	panelA6 func(a []float32, lda, kc int, dst []float32) int

	// available reports whether this machine can run the kernel.
	available func() bool
}

// gemmRegistry lists every variant compiled into this binary, highest
// priority first. It is filled from init functions and never changes after.
var gemmRegistry []*gemmVariant

// gemmActive is the variant Gemm uses; nil means the best available one.
var gemmActive atomic.Pointer[gemmVariant]

func registerGemm(v *gemmVariant) {
	for _, o := range gemmRegistry {
		if o.name == v.name {
			panic("tensor: gemm variant " + v.name + " registered twice")
		}
	}
	gemmRegistry = append(gemmRegistry, v)
	slices.SortStableFunc(gemmRegistry, func(a, b *gemmVariant) int { return b.priority - a.priority })
}

// GemmVariants returns the names of the SGEMM kernels this machine can run,
// the default (highest priority) first. "generic", the pure-Go kernel, is
// always present; "avx2fma" needs an amd64 CPU with AVX2 and FMA and a build
// without the noasm tag.
func GemmVariants() []string {
	var names []string
	for _, v := range gemmRegistry {
		if v.available() {
			names = append(names, v.name)
		}
	}
	return names
}

// GemmVariant returns the name of the SGEMM kernel Gemm uses now.
func GemmVariant() string { return currentGemm().name }

// SetGemmVariant makes Gemm and the convolutions use the named kernels, so tests and benchmarks can force each path; the empty name restores
// the default. It returns an error naming the choices if the kernel is unknown
// or cannot run on this machine. It is meant for tests, benchmarks and tools:
// calls racing with running kernels pick either variant for the whole call.
func SetGemmVariant(name string) error {
	if name == "" {
		gemmActive.Store(nil)
		return nil
	}
	for _, v := range gemmRegistry {
		if v.name != name {
			continue
		}
		if !v.available() {
			return fmt.Errorf("tensor: gemm variant %q is not supported by this CPU (available: %s)", name, strings.Join(GemmVariants(), ", "))
		}
		gemmActive.Store(v)
		return nil
	}
	return fmt.Errorf("tensor: unknown gemm variant %q (available: %s)", name, strings.Join(GemmVariants(), ", "))
}

// bestGemm is the highest-priority available variant, chosen once.
var bestGemm = func() func() *gemmVariant {
	var best atomic.Pointer[gemmVariant]
	return func() *gemmVariant {
		if v := best.Load(); v != nil {
			return v
		}
		for _, v := range gemmRegistry {
			if v.available() {
				best.Store(v)
				return v
			}
		}
		panic("tensor: no gemm variant available")
	}
}()

func currentGemm() *gemmVariant {
	if v := gemmActive.Load(); v != nil {
		return v
	}
	return bestGemm()
}
