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
