package tensor

import (
	"math/rand/v2"
	"testing"
)

// Shapes of a ResNet stage-1 activation (8×64×56×56) and of a Swin-T
// stage-1 token matrix (8·56·56 tokens × 96 channels).
func benchNormData(n int) (x, dy, y, dx []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	return randSlice(rng, n), randSlice(rng, n), make([]float32, n), make([]float32, n)
}

func BenchmarkBatchNormTrain8x64x56x56(b *testing.B) {
	const n, c, hw = 8, 64, 56 * 56
	x, dy, y, dx := benchNormData(n * c * hw)
	w, bias := make([]float32, c), make([]float32, c)
	mean, variance, invstd, dw, db := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	b.SetBytes(int64(4 * 4 * len(x))) // x read twice forward and backward; y, dy, dx
	for b.Loop() {
		BatchNormStats(n, c, hw, x, mean, variance)
		BatchNormForward(n, c, hw, x, mean, variance, w, bias, 1e-5, invstd, y)
		BatchNormBackward(n, c, hw, x, dy, mean, invstd, w, true, dx, dw, db)
	}
}

func BenchmarkGroupNorm8x64x56x56G32(b *testing.B) {
	const n, c, g, hw = 8, 64, 32, 56 * 56
	x, dy, y, dx := benchNormData(n * c * hw)
	w, bias, dw, db := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	mean, invstd := make([]float32, n*g), make([]float32, n*g)
	b.SetBytes(int64(4 * 4 * len(x)))
	for b.Loop() {
		GroupNormForward(n, c, hw, g, x, w, bias, 1e-5, mean, invstd, y)
		GroupNormBackward(n, c, hw, g, x, dy, mean, invstd, w, dx, dw, db)
	}
}

func BenchmarkLayerNorm25088x96(b *testing.B) {
	const rows, d = 8 * 56 * 56, 96
	x, dy, y, dx := benchNormData(rows * d)
	w, bias, dw, db := make([]float32, d), make([]float32, d), make([]float32, d), make([]float32, d)
	mean, invstd := make([]float32, rows), make([]float32, rows)
	b.SetBytes(int64(4 * 4 * len(x)))
	for b.Loop() {
		LayerNormForward(rows, d, x, w, bias, 1e-5, mean, invstd, y)
		LayerNormBackward(rows, d, x, dy, mean, invstd, w, dx, dw, db)
	}
}
