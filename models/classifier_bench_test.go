package models_test

import (
	"runtime"
	"testing"

	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// BenchmarkSNNMLPT times SNN-MLP-T: inference at batch 1 and a training
// step (forward and backward, no optimizer) at batch 4, both 224×224, for
// comparison with tools/reference/bench_snnmlp.py (PyTorch, 2 threads),
// which like this runs without stochastic depth.
func BenchmarkSNNMLPT(b *testing.B) {
	m := buildModel(b, classifierYAML("arch: tiny\n    drop_path_rate: 0", 1000)).(*models.ImageClassifier)
	pool := tensor.NewPool()
	b.Run("forward/batch=1", func(b *testing.B) {
		nn.SetTraining(m, false)
		x := tensor.New(1, 3, 224, 224)
		tensor.NewRNG(1).FillUniform(x, -2, 2)
		for i := 0; i < b.N; i++ {
			tp := nn.NewInferenceTape(pool)
			m.Forward(tp.Input(x))
			tp.Release()
		}
	})
	b.Run("forward+backward/batch=4", func(b *testing.B) {
		nn.SetTraining(m, true)
		x := tensor.New(4, 3, 224, 224)
		tensor.NewRNG(1).FillUniform(x, -2, 2)
		labels := []int{1, 2, 3, 4}
		for i := 0; i < b.N; i++ {
			tp := nn.NewTape(pool, tensor.NewRNG(uint64(i)))
			_, logits := m.Forward(tp.Input(x))
			tp.Backward(nn.CrossEntropy(logits, labels, nn.CrossEntropyOptions{LabelSmoothing: 0.1}))
			tp.Release()
		}
		nn.ZeroGrad(m)
	})
}

// BenchmarkTrainStepAllocs reports the allocations of one steady-state
// training step (forward, backward, AdamW update, buffers back to the pool)
// of a small SNN-MLP classifier at batch 2, 64×64: the tape lends every
// tensor buffer from a pool, so what remains is bookkeeping (Var headers,
// closures), not tensor data.
func BenchmarkTrainStepAllocs(b *testing.B) {
	m := buildModel(b, classifierYAML("embed_dim: 16\n    depths: [1, 1, 2, 1]", 10)).(*models.ImageClassifier)
	nn.SetTraining(m, true)
	groups := optim.BuildGroups(m, 1e-3, 0.05, optim.ParamwiseOptions{})
	opt := optim.NewAdamW(groups, optim.DefaultAdamWOptions())
	pool := tensor.NewPool()
	x := tensor.New(2, 3, 64, 64)
	tensor.NewRNG(1).FillUniform(x, -2, 2)
	labels := []int{1, 7}
	step := func(i int) {
		tp := nn.NewTape(pool, tensor.NewRNG(uint64(i)))
		_, logits := m.Forward(tp.Input(x))
		tp.Backward(nn.CrossEntropy(logits, labels, nn.CrossEntropyOptions{}))
		opt.Step()
		optim.ZeroGrad(groups)
		tp.Release()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	step(0) // warm the pool
	runtime.ReadMemStats(&after)
	first := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 10)
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<10), "KiB/step")
	b.ReportMetric(first, "KiB/first-step") // ResetTimer drops metrics reported before it
}
