package tensor

import "fmt"

// Gemm computes, for row-major matrices,
//
//	C = alpha * op(A) * op(B) + beta * C
//
// where op(A) is m×k (A is m×k with lda >= k, or k×m with lda >= m when transA),
// op(B) is k×n (B is k×n with ldb >= n, or n×k with ldb >= k when transB) and C is
// m×n with ldc >= n. With beta == 0, C is overwritten and need not be initialised.
//
// op(A) and op(B) are packed into panels and multiplied by the micro-kernel of
// the current variant (see GemmVariants and SetGemmVariant): AVX2+FMA assembly
// where the CPU has it, a pure-Go kernel otherwise or with the noasm build tag.
// Work is split over up to GOMAXPROCS goroutines in whole tiles of C, and k is
// reduced in fixed blocks, in order, inside a tile: every element of C is
// computed by the same operations whatever the split, so results are
// bit-identical for any GOMAXPROCS and any scheduling. Products under about
// 2·64³ flops stay on the calling goroutine.
//
// Gemm panics on negative sizes, leading dimensions smaller than the rows they
// hold, or short buffers.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("%s: gemm m=%d n=%d k=%d", errBadShape, m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic(fmt.Sprintf("%s: gemm lda=%d (cols %d) ldb=%d (cols %d) ldc=%d (cols %d)", errBadLd, lda, ac, ldb, bc, ldc, n))
	}
	if ar > 0 && ac > 0 && len(a) < (ar-1)*lda+ac {
		panic(fmt.Sprintf("%s: gemm a has %d, needs %d", errShortBuf, len(a), (ar-1)*lda+ac))
	}
	if br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc {
		panic(fmt.Sprintf("%s: gemm b has %d, needs %d", errShortBuf, len(b), (br-1)*ldb+bc))
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("%s: gemm c has %d, needs %d", errShortBuf, len(c), (m-1)*ldc+n))
	}
}

// gemm runs the packed kernel of the current variant on every worker.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmBlocked(gemmWorkers(), currentGemm(), transA, transB, m, n, k, alpha, a, lda, nil, b, ldb, nil, beta, c, ldc)
}
