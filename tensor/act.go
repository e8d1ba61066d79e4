package tensor

import "math"

// Expf returns e^x in float32 to about 1 ulp: x = n·ln2 + r with |r| ≤ ln2/2,
// e^r from Cephes' expf minimax polynomial, scaled by 2^n through the
// exponent bits. It returns +Inf above 88.72 and 0 below -87.33 (no
// subnormal results).
func Expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	if x != x {
		return x
	}
	fn := x*log2e + 0.5
	n := int32(fn)
	if fn < 0 && float32(n) != fn {
		n-- // floor for negatives
	}
	nf := float32(n)
	r := x - nf*ln2hi - nf*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	// 2^n by the exponent field; n is in [-126, 128] here, and n == 128
	// only when p < 1 keeps the product finite, so split the scaling.
	if n > 127 {
		return p * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	if n < -126 {
		return p * 0.5 * math.Float32frombits(uint32(n+1+127)<<23)
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// erfExpf returns erf(z) and e^(-z²) together, with the Abramowitz–Stegun
// 7.1.26 rational approximation of erf (absolute error ≤ 1.5e-7), the same
// one PyTorch's vectorised CPU erf uses.
func erfExpf(z float32) (erf, expNegZ2 float32) {
	const (
		p  = 0.3275911
		a1 = 0.254829592
		a2 = -0.284496736
		a3 = 1.421413741
		a4 = -1.453152027
		a5 = 1.061405429
	)
	az := z
	if az < 0 {
		az = -az
	}
	t := 1 / (1 + p*az)
	e := Expf(-z * z)
	r := 1 - t*(a1+t*(a2+t*(a3+t*(a4+t*a5))))*e
	if z < 0 {
		r = -r
	}
	return r, e
}

// GELU computes y = x/2 · (1 + erf(x/√2)) elementwise (PyTorch's exact
// GELU, approximate="none"). x and y may be the same slice; they must have
// equal lengths. On amd64 with AVX2 and FMA the assembly kernel computes
// every element (tails through a padded block), so results do not depend
// on how the work is split.
func GELU(x, y []float32) {
	if len(x) != len(y) {
		panic(errShapeMismatch + ": GELU lengths differ")
	}
	Parallel(len(x), 1<<14, func(lo, hi int) { geluBlock(x[lo:hi], y[lo:hi]) })
}

// GELUBackward accumulates dx += dy · GELU'(x), where
//
//	GELU'(x) = Φ(x) + x·φ(x),  Φ(x) = (1 + erf(x/√2))/2,  φ(x) = e^(-x²/2)/√(2π)
func GELUBackward(x, dy, dx []float32) {
	if len(x) != len(dy) || len(x) != len(dx) {
		panic(errShapeMismatch + ": GELUBackward lengths differ")
	}
	Parallel(len(x), 1<<14, func(lo, hi int) { geluBackwardBlock(x[lo:hi], dy[lo:hi], dx[lo:hi]) })
}

// geluGeneric is the pure-Go GELU loop.
func geluGeneric(x, y []float32) {
	for i, v := range x {
		e, _ := erfExpf(v * math.Sqrt2 / 2)
		y[i] = 0.5 * v * (1 + e)
	}
}

// geluBackwardGeneric is the pure-Go GELU gradient loop.
func geluBackwardGeneric(x, dy, dx []float32) {
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		e, g := erfExpf(v * math.Sqrt2 / 2)
		dx[i] += dy[i] * (0.5*(1+e) + v*g*invSqrt2Pi)
	}
}

func float32bits(v float32) uint32 { return math.Float32bits(v) }
