package nn_test

import (
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// distinctT returns a tensor of the given shape holding a random permutation
// of 0, 0.05, 0.1, ...: values far enough apart (relative to GradCheck's
// step) that a max pool's winners do not change while differencing.
func distinctT(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range tensor.NewRNG(seed).Perm(t.Len()) {
		t.Data()[i] = 0.05*float32(p) - 1
	}
	return t
}

func TestPoolGrad(t *testing.T) {
	cases := []struct {
		name     string
		max      bool
		shape    []int
		opt      nn.PoolOptions
		adaptive [2]int
	}{
		{name: "MaxPool2d/k=2", max: true, shape: []int{2, 2, 4, 4}, opt: nn.PoolOptions{Kernel: [2]int{2, 2}}},
		{name: "MaxPool2d/k=3/stride=2/pad=1", max: true, shape: []int{1, 2, 5, 6}, opt: nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{name: "MaxPool2d/k=2/ceil_mode", max: true, shape: []int{1, 2, 5, 5}, opt: nn.PoolOptions{Kernel: [2]int{2, 2}, CeilMode: true}},
		{name: "AvgPool2d/k=2", shape: []int{2, 2, 4, 4}, opt: nn.PoolOptions{Kernel: [2]int{2, 2}}},
		{name: "AvgPool2d/k=3/stride=2/pad=1", shape: []int{1, 2, 5, 6}, opt: nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{name: "AvgPool2d/k=3/stride=2/pad=1/exclude_pad", shape: []int{1, 2, 5, 6}, opt: nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, ExcludePad: true}},
		{name: "AvgPool2d/k=2/ceil_mode", shape: []int{1, 2, 5, 5}, opt: nn.PoolOptions{Kernel: [2]int{2, 3}, Stride: [2]int{2, 2}, CeilMode: true}},
		{name: "AdaptiveAvgPool2d/5x7_to_3x2", shape: []int{2, 2, 5, 7}, adaptive: [2]int{3, 2}},
		{name: "AdaptiveAvgPool2d/4x4_to_1x1", shape: []int{2, 3, 4, 4}, adaptive: [2]int{1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := distinctT(7, c.shape...)
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var {
				switch {
				case c.adaptive != [2]int{}:
					return nn.AdaptiveAvgPool2d(in[0], c.adaptive[0], c.adaptive[1])
				case c.max:
					return nn.MaxPool2d(in[0], c.opt)
				default:
					return nn.AvgPool2d(in[0], c.opt)
				}
			}, x)
		})
	}
}

// TestPoolForwardByHand checks small cases worked out by hand.
func TestPoolForwardByHand(t *testing.T) {
	// 1×1×3×3 holding 1..9.
	x := nn.Constant(tensor.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3))
	cases := []struct {
		name  string
		got   *nn.Var
		shape []int
		want  []float32
	}{
		{"MaxPool2d/k=2/stride=1", nn.MaxPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}}), []int{1, 1, 2, 2}, []float32{5, 6, 8, 9}},
		{"MaxPool2d/k=2/ceil_mode", nn.MaxPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, CeilMode: true}), []int{1, 1, 2, 2}, []float32{5, 6, 8, 9}},
		{"MaxPool2d/k=2/floor", nn.MaxPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}}), []int{1, 1, 1, 1}, []float32{5}},
		// k=2, pad=1: the corner window [-1,1)×[-1,1) holds only x[0,0] = 1 but divides by 4.
		{"AvgPool2d/k=2/pad=1", nn.AvgPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}}), []int{1, 1, 2, 2}, []float32{0.25, 5.0 / 4, 11.0 / 4, 28.0 / 4}},
		{"AvgPool2d/k=2/pad=1/exclude_pad", nn.AvgPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}, ExcludePad: true}), []int{1, 1, 2, 2}, []float32{1, 2.5, 5.5, 7}},
		// Ceil mode adds a window over rows (columns) [2,4), clipped to [2,3): the divisor counts 2·1 or 1·1 positions.
		{"AvgPool2d/k=2/ceil_mode", nn.AvgPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, CeilMode: true}), []int{1, 1, 2, 2}, []float32{3, 4.5, 7.5, 9}},
		{"AdaptiveAvgPool2d/2x2", nn.AdaptiveAvgPool2d(x, 2, 2), []int{1, 1, 2, 2}, []float32{3, 4, 6, 7}},
	}
	for _, c := range cases {
		want := tensor.FromData(c.want, c.shape...)
		nntest.AssertClose(t, c.name, c.got.Value, want, 1e-6)
	}
}
