package tensor

// axpy adds alpha·x to y: y[i] += alpha * x[i] for i < len(y). len(x) >= len(y).
func axpy(alpha float32, x, y []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// dot returns Σ x[i]·y[i] for i < len(x), summed in order. len(y) >= len(x).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// dwBlockGeneric is the pure-Go depthwise block: for a 4×cols block of
// output (cols 8 or 16),
//
//	for r := 0; r < 4; r++ {
//		for c := 0; c < cols; c++ {
//			s := y[r*ldy+c]
//			for i := 0; i < kh; i++ {
//				for j := 0; j < kw; j++ {
//					s += w[i*kw+j] * x[(r+i*dh)*ldx+c+j*dw]
//				}
//			}
//			y[r*ldy+c] = s
//		}
//	}
func dwBlockGeneric(cols, kh, kw int, w, x []float32, ldx, dh, dw int, y []float32, ldy int) {
	for r := range 4 {
		yr := y[r*ldy : r*ldy+cols]
		for i := range kh {
			xr := x[(r+i*dh)*ldx:]
			for j, wv := range w[i*kw : (i+1)*kw] {
				axpy(wv, xr[j*dw:j*dw+cols], yr)
			}
		}
	}
}

// dot8Generic returns Σ x[i]·y[i], len(x) a multiple of 8, summed in order.
func dot8Generic(x, y []float32) float32 { return dot(x, y) }

// copyRows copies rows runs of n values: for r < rows,
// dst[r*ds : r*ds+n] = src[r*ss : r*ss+n] (strides in values).
func copyRows(n, rows int, dst []float32, ds int, src []float32, ss int) {
	for r := range rows {
		copy(dst[r*ds:r*ds+n], src[r*ss:r*ss+n])
	}
}
