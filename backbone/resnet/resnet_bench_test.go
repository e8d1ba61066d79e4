package resnet_test

import (
	"fmt"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// BenchmarkResNet50 times ResNet-50 with mmdet's detection options
// (frozen stem and stage 1, norm_eval): an inference forward, and a
// training forward and backward, on one image.
func BenchmarkResNet50(b *testing.B) {
	m, err := build(b, "{type: ResNet, depth: 50, frozen_stages: 1}")
	if err != nil {
		b.Fatal(err)
	}
	pool := tensor.NewPool()
	for _, size := range [][2]int{{224, 224}, {512, 768}} {
		x := tensor.New(1, 3, size[0], size[1])
		tensor.NewRNG(1).FillNormal(x, 0, 1)
		b.Run(fmt.Sprintf("forward/%dx%d", size[0], size[1]), func(b *testing.B) {
			nn.SetTraining(m, false)
			for b.Loop() {
				tp := nn.NewInferenceTape(pool)
				m.Forward(tp.Input(x))
				tp.Release()
			}
		})
		b.Run(fmt.Sprintf("train/%dx%d", size[0], size[1]), func(b *testing.B) {
			nn.SetTraining(m, true)
			for b.Loop() {
				tp := nn.NewTape(pool, nil)
				outs := m.Forward(tp.Input(x))
				terms := make([]*nn.Var, len(outs))
				for i, y := range outs {
					terms[i] = nn.MeanAll(y)
				}
				tp.Backward(nn.AddN(terms...))
				tp.Release()
				nn.ZeroGrad(m)
			}
		})
	}
}
