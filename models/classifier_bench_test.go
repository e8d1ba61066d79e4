package models_test

import (
	"testing"

	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// BenchmarkSNNMLPT times SNN-MLP-T: inference at batch 1 and a training
// step (forward and backward, no optimizer) at batch 4, both 224×224, for
// comparison with tools/reference/bench_snnmlp.py (PyTorch, 2 threads).
func BenchmarkSNNMLPT(b *testing.B) {
	m := buildModel(b, classifierYAML("arch: tiny", 1000)).(*models.ImageClassifier)
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
