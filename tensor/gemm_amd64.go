//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// archGemmVariants returns the assembly SGEMM kernels of this architecture.
func archGemmVariants() []*gemmVariant {
	return []*gemmVariant{{
		name:       "avx2fma",
		priority:   20,
		mr:         6,
		nr:         16,
		kernel:     sgemmKernel6x16,
		biasKernel: sgemmKernel6x16Bias,
		dwBlock:    dwBlockAVX2,
		dot8:       dot8AVX2,
		axpy:       axpyFMA,
		copyRows:   copyRowsAVX,
		transPanel: transPanel16,
		panelA6:    panelA6,
		available:  func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
	}}
}

// sgemmKernel6x16AVX2 computes, with AVX2 and FMA,
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var s float32
//			for p := 0; p < kc; p++ {
//				s += a[p*6+i] * b[p*16+j]
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j] // c is not read when beta == 0
//		}
//	}
//
// or, when bias is not nil, c[i*ldc+j] = s + bias[i]. Each sum is
// accumulated with fused multiply-adds in k order. kc >= 1.
//
//go:noescape
func sgemmKernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, bias *float32)

// sgemmKernel6x16 adapts sgemmKernel6x16AVX2 to microKernel.
func sgemmKernel6x16(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	_ = a[6*kc-1]
	_ = b[16*kc-1]
	_ = c[5*ldc+15]
	sgemmKernel6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, nil)
}

// sgemmKernel6x16Bias adapts sgemmKernel6x16AVX2 to biasKernel.
func sgemmKernel6x16Bias(kc int, a, b, c []float32, ldc int, bias []float32) {
	_ = a[6*kc-1]
	_ = b[16*kc-1]
	_ = c[5*ldc+15]
	_ = bias[5]
	sgemmKernel6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, 1, 0, &bias[0])
}

// packBTrans16AVX writes 8·blocks rows of a 16-wide packed panel from the
// transposed operand: dst[p*16+j] = b[j*ldb+p] for p < 8·blocks, j < 16,
// eight values of k at a time through 8×8 register transposes.
//
//go:noescape
func packBTrans16AVX(b *float32, ldb int, blocks int, dst *float32)

// transPanel16 adapts packBTrans16AVX to the transPanel signature: it packs
// the first kc rounded down to 8 rows of a 16-wide panel.
func transPanel16(b []float32, ldb, kc int, dst []float32) int {
	blocks := kc / 8
	if blocks == 0 {
		return 0
	}
	_ = b[15*ldb+8*blocks-1]
	_ = dst[8*blocks*16-1]
	packBTrans16AVX(&b[0], ldb, blocks, &dst[0])
	return 8 * blocks
}

// packA6AVX writes 8·blocks rows of a 6-row packed A panel: dst[p*6+i] =
// a[i*lda+p] for p < 8·blocks, i < 6, through 8×8 register transposes.
//
//go:noescape
func packA6AVX(a *float32, lda int, blocks int, dst *float32)

// panelA6 adapts packA6AVX to the panelA6 signature: it packs the first kc
// rounded down to 8 values of k of a full 6-row panel.
func panelA6(a []float32, lda, kc int, dst []float32) int {
	blocks := kc / 8
	if blocks == 0 {
		return 0
	}
	_ = a[5*lda+8*blocks-1]
	_ = dst[8*blocks*6-1]
	packA6AVX(&a[0], lda, blocks, &dst[0])
	return 8 * blocks
}
