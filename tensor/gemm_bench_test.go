package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm measures C = A·B for square n×n matrices with the default
// variant and reports GFLOP/s (2n³ per product). Run with -cpu 1,2.
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchGemm(b, n) })
	}
}

// BenchmarkSgemmVariants runs every available variant at 512³, so the
// assembly kernel can be compared with the pure-Go one.
func BenchmarkSgemmVariants(b *testing.B) {
	for _, name := range GemmVariants() {
		b.Run(name, func(b *testing.B) {
			if err := SetGemmVariant(name); err != nil {
				b.Fatal(err)
			}
			defer SetGemmVariant("")
			benchGemm(b, 512)
		})
	}
}

func benchGemm(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := randSlice(rng, n*n), randSlice(rng, n*n)
	z := make([]float32, n*n)
	Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n) // warm the buffer pool
	b.ResetTimer()
	for b.Loop() {
		Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
