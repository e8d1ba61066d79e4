package tensor

import (
	"math/rand/v2"
	"testing"
)

// conv3x3Bench is a ResNet stage-1 convolution: 64→64 channels, 3×3, pad 1,
// on 56×56 images, batch 8.
var conv3x3Bench = ConvParams{N: 8, C: 64, H: 56, W: 56, K: 64, KH: 3, KW: 3,
	StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1, Groups: 1}

// depthwise7x7Bench is the depthwise convolution of ConvNeXt-T's first stage:
// 96 channels, 7×7, pad 3, on 56×56 images, batch 8.
var depthwise7x7Bench = ConvParams{N: 8, C: 96, H: 56, W: 56, K: 96, KH: 7, KW: 7,
	StrideH: 1, StrideW: 1, PadH: 3, PadW: 3, DilationH: 1, DilationW: 1, Groups: 96}

// conv3x3WideBench is an FPN output convolution: 256→256 channels, 3×3,
// pad 1, on a 64×64 level, batch 2; its weights (2.4 MB) outgrow L2.
var conv3x3WideBench = ConvParams{N: 2, C: 256, H: 64, W: 64, K: 256, KH: 3, KW: 3,
	StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1, Groups: 1}

// pointwiseBenches are SNN-MLP-T's MLP expansions (C→4C, 1×1) at batch 4,
// 224×224 input: stage 1 (weights small enough for the panel-wise path)
// and stages 2–4 (one product over all images).
var pointwiseBenches = []struct {
	name string
	p    ConvParams
}{
	{"stage1", pointwise(4, 96, 56, 384)},
	{"stage2", pointwise(4, 192, 28, 768)},
	{"stage3", pointwise(4, 384, 14, 1536)},
	{"stage4", pointwise(4, 768, 7, 3072)},
}

// pointwise returns a 1×1 convolution of n images, c→k channels, size×size.
func pointwise(n, c, size, k int) ConvParams {
	return ConvParams{N: n, C: c, H: size, W: size, K: k, KH: 1, KW: 1,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1}
}

// BenchmarkPointwise is BenchmarkConv3x3 for pointwiseBenches.
func BenchmarkPointwise(b *testing.B) {
	for _, c := range pointwiseBenches {
		b.Run(c.name, func(b *testing.B) { benchConv(b, c.p) })
	}
}

// BenchmarkConv3x3 times Conv2d (forward) and Conv2d followed by both
// backward kernels (forward+backward) on conv3x3Bench, with bias.
func BenchmarkConv3x3(b *testing.B) { benchConv(b, conv3x3Bench) }

// BenchmarkConv3x3Wide is BenchmarkConv3x3 for conv3x3WideBench.
func BenchmarkConv3x3Wide(b *testing.B) { benchConv(b, conv3x3WideBench) }

// BenchmarkDepthwise7x7 is BenchmarkConv3x3 for depthwise7x7Bench.
func BenchmarkDepthwise7x7(b *testing.B) { benchConv(b, depthwise7x7Bench) }

func benchConv(b *testing.B, p ConvParams) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randSlice(rng, p.N*p.C*p.H*p.W)
	w := randSlice(rng, p.K*(p.C/p.Groups)*p.KH*p.KW)
	bias := randSlice(rng, p.K)
	y := make([]float32, p.N*p.K*p.OutH()*p.OutW())
	dy := randSlice(rng, len(y))
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	db := make([]float32, p.K)
	// 2 FLOP per multiply-add of the forward pass; backward is twice that.
	flops := 2 * float64(p.N*p.K*p.OutH()*p.OutW()) * float64(p.C/p.Groups*p.KH*p.KW)
	b.Run("forward", func(b *testing.B) {
		Conv2d(p, x, w, bias, y)
		b.ResetTimer()
		for b.Loop() {
			Conv2d(p, x, w, bias, y)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("backward-data", func(b *testing.B) {
		for b.Loop() {
			Conv2dBackwardData(p, dy, w, dx)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("backward-filter", func(b *testing.B) {
		for b.Loop() {
			Conv2dBackwardFilter(p, x, dy, dw, db)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("forward+backward", func(b *testing.B) {
		Conv2d(p, x, w, bias, y)
		b.ResetTimer()
		for b.Loop() {
			Conv2d(p, x, w, bias, y)
			Conv2dBackwardData(p, dy, w, dx)
			Conv2dBackwardFilter(p, x, dy, dw, db)
		}
		b.ReportMetric(3*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
