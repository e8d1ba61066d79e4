package nn_test

import (
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestInterpolateGrad(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		opt   nn.InterpolateOptions
	}{
		{"Interpolate/bilinear/align_corners=false/up", []int{1, 2, 3, 4}, nn.InterpolateOptions{Size: [2]int{5, 7}, Mode: nn.Bilinear}},
		{"Interpolate/bilinear/align_corners=false/down", []int{2, 1, 5, 6}, nn.InterpolateOptions{Size: [2]int{3, 4}, Mode: nn.Bilinear}},
		{"Interpolate/bilinear/align_corners=true", []int{1, 2, 3, 4}, nn.InterpolateOptions{Size: [2]int{5, 7}, Mode: nn.Bilinear, AlignCorners: true}},
		{"Interpolate/bilinear/scale=2", []int{1, 2, 3, 3}, nn.InterpolateOptions{ScaleFactor: [2]float64{2, 2}, Mode: nn.Bilinear}},
		{"Interpolate/nearest/size", []int{1, 2, 3, 4}, nn.InterpolateOptions{Size: [2]int{5, 7}}},
		{"Interpolate/nearest/scale=0.5", []int{1, 2, 4, 6}, nn.InterpolateOptions{ScaleFactor: [2]float64{0.5, 0.5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return nn.Interpolate(in[0], c.opt) }, randT(21, c.shape...))
		})
	}
}

// TestInterpolateByHand checks 1-D resizes of [0, 1, 2, 3] worked out from
// PyTorch's formulas.
func TestInterpolateByHand(t *testing.T) {
	x := nn.Constant(tensor.FromData([]float32{0, 1, 2, 3}, 1, 1, 1, 4))
	cases := []struct {
		name string
		opt  nn.InterpolateOptions
		want []float32
	}{
		// src = (dst+0.5)·4/8 - 0.5, clamped at 0.
		{"bilinear/align_corners=false", nn.InterpolateOptions{Size: [2]int{1, 8}, Mode: nn.Bilinear}, []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}},
		// src = dst·3/6.
		{"bilinear/align_corners=true", nn.InterpolateOptions{Size: [2]int{1, 7}, Mode: nn.Bilinear, AlignCorners: true}, []float32{0, 0.5, 1, 1.5, 2, 2.5, 3}},
		// src = ⌊dst·4/6⌋.
		{"nearest/size=6", nn.InterpolateOptions{Size: [2]int{1, 6}}, []float32{0, 0, 1, 2, 2, 3}},
		// src = ⌊dst·4/3⌋.
		{"nearest/size=3", nn.InterpolateOptions{Size: [2]int{1, 3}}, []float32{0, 1, 2}},
	}
	for _, c := range cases {
		got := nn.Interpolate(x, c.opt)
		nntest.AssertClose(t, c.name, got.Value, tensor.FromData(c.want, 1, 1, 1, len(c.want)), 1e-6)
	}
}
