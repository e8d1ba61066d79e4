//go:build !noasm

package tensor

// dwBlock4x16AVX2 computes, with AVX2 and FMA,
//
//	for r := 0; r < 4; r++ {
//		for c := 0; c < 16; c++ {
//			s := y[r*ldy+c]
//			for i := 0; i < kh; i++ {
//				for j := 0; j < kw; j++ {
//					s += w[i*kw+j] * x[(r+i*dh)*ldx+c+j*dw]
//				}
//			}
//			y[r*ldy+c] = s
//		}
//	}
//
// kh, kw >= 1.
//
//go:noescape
func dwBlock4x16AVX2(kh, kw int, w, x *float32, ldx, dh, dw int, y *float32, ldy int)

// dwBlock4x8AVX2 is dwBlock4x16AVX2 for 8 columns.
//
//go:noescape
func dwBlock4x8AVX2(kh, kw int, w, x *float32, ldx, dh, dw int, y *float32, ldy int)

// dotAVX2 returns Σ x[i]*y[i] for i < n, n a multiple of 8, summed in 32
// interleaved partial sums that are then added pairwise.
//
//go:noescape
func dotAVX2(x, y *float32, n int) float32

// dwBlockAVX2 adapts the assembly depthwise blocks to the dwBlock signature.
func dwBlockAVX2(cols, kh, kw int, w, x []float32, ldx, dh, dw int, y []float32, ldy int) {
	_ = w[kh*kw-1]
	_ = x[(3+(kh-1)*dh)*ldx+(kw-1)*dw+cols-1]
	_ = y[3*ldy+cols-1]
	if cols == 16 {
		dwBlock4x16AVX2(kh, kw, &w[0], &x[0], ldx, dh, dw, &y[0], ldy)
		return
	}
	dwBlock4x8AVX2(kh, kw, &w[0], &x[0], ldx, dh, dw, &y[0], ldy)
}

// dot8AVX2 adapts dotAVX2 to the dot8 signature.
func dot8AVX2(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = y[len(x)-1]
	return dotAVX2(&x[0], &y[0], len(x))
}

// axpyAVX2 computes, with AVX2 and FMA,
//
//	for i := 0; i < n; i++ {
//		y[i] += alpha * x[i]
//	}
//
//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

// axpyFMA adapts axpyAVX2 to the axpy signature: y[i] += alpha·x[i] for
// i < len(y), len(x) >= len(y).
func axpyFMA(alpha float32, x, y []float32) {
	if len(y) == 0 {
		return
	}
	_ = x[len(y)-1]
	axpyAVX2(alpha, &x[0], &y[0], len(y))
}

// copyRowsWideAVX copies rows runs of 16 values (wide) or of 8: for
// r < rows, dst[r*ds : r*ds+n] = src[r*ss : r*ss+n] (strides in values).
//
//go:noescape
func copyRowsWideAVX(dst *float32, ds int, src *float32, ss int, rows int, wide bool)

// copyRowsAVX adapts the assembly row copies to the copyRows signature;
// runs of other lengths than 8 and 16 take the generic loop.
func copyRowsAVX(n, rows int, dst []float32, ds int, src []float32, ss int) {
	if rows == 0 || n == 0 {
		return
	}
	_ = dst[(rows-1)*ds+n-1]
	_ = src[(rows-1)*ss+n-1]
	if n != 8 && n != 16 {
		copyRows(n, rows, dst, ds, src, ss)
		return
	}
	copyRowsWideAVX(&dst[0], ds, &src[0], ss, rows, n == 16)
}
