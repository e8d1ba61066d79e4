package nn_test

import (
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestNormGrad(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		param []int // shape of weight and bias; nil: no affine parameters
		op    func(in []*nn.Var) *nn.Var
	}{
		{name: "BatchNorm2d/train", shape: []int{3, 2, 2, 3}, param: []int{2}, op: func(in []*nn.Var) *nn.Var {
			return nn.BatchNorm2dOp(in[0], in[1], in[2], tensor.New(2), tensor.Full(1, 2), true, 0.1, 1e-5)
		}},
		{name: "BatchNorm2d/train/no_affine", shape: []int{4, 3, 2, 1}, op: func(in []*nn.Var) *nn.Var {
			return nn.BatchNorm2dOp(in[0], nil, nil, nil, nil, true, 0.1, 1e-5)
		}},
		{name: "BatchNorm2d/eval", shape: []int{2, 2, 2, 3}, param: []int{2}, op: func(in []*nn.Var) *nn.Var {
			rm := tensor.FromData([]float32{0.2, -0.3}, 2)
			rv := tensor.FromData([]float32{0.5, 1.5}, 2)
			return nn.BatchNorm2dOp(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5)
		}},
		{name: "GroupNorm/groups=2", shape: []int{2, 4, 2, 3}, param: []int{4}, op: func(in []*nn.Var) *nn.Var {
			return nn.GroupNormOp(in[0], in[1], in[2], 2, 1e-5)
		}},
		{name: "GroupNorm/groups=1", shape: []int{2, 3, 3, 2}, param: []int{3}, op: func(in []*nn.Var) *nn.Var {
			return nn.GroupNormOp(in[0], in[1], in[2], 1, 1e-5)
		}},
		{name: "GroupNorm/groups=C/no_affine", shape: []int{2, 3, 2, 2}, op: func(in []*nn.Var) *nn.Var {
			return nn.GroupNormOp(in[0], nil, nil, 3, 1e-5)
		}},
		{name: "LayerNorm/last_dim", shape: []int{2, 3, 5}, param: []int{5}, op: func(in []*nn.Var) *nn.Var {
			return nn.LayerNormOp(in[0], in[1], in[2], []int{5}, 1e-5)
		}},
		{name: "LayerNorm/no_affine", shape: []int{3, 4}, op: func(in []*nn.Var) *nn.Var {
			return nn.LayerNormOp(in[0], nil, nil, []int{4}, 1e-5)
		}},
		{name: "LayerNorm/last_two_dims", shape: []int{3, 2, 4}, param: []int{2, 4}, op: func(in []*nn.Var) *nn.Var {
			return nn.LayerNormOp(in[0], in[1], in[2], []int{2, 4}, 1e-5)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := []*tensor.Tensor{randT(11, c.shape...)}
			if c.param != nil {
				w := randT(12, c.param...)
				for i := range w.Data() {
					w.Data()[i] += 1.5
				}
				inputs = append(inputs, w, randT(13, c.param...))
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.op(in) }, inputs...)
		})
	}
}

// TestBatchNormRunningStats checks the running-statistics update by hand:
// one channel holding 1, 2, 3, 6 has mean 3, biased variance 3.5 and unbiased
// variance 14/3.
func TestBatchNormRunningStats(t *testing.T) {
	x := tensor.FromData([]float32{1, 2, 3, 6}, 2, 1, 2, 1)
	rm, rv := tensor.FromData([]float32{1}, 1), tensor.FromData([]float32{2}, 1)
	y := nn.BatchNorm2dOp(nn.Constant(x), nil, nil, rm, rv, true, 0.1, 0)
	nntest.AssertClose(t, "running_mean", rm, tensor.FromData([]float32{0.9*1 + 0.1*3}, 1), 1e-6)
	nntest.AssertClose(t, "running_var", rv, tensor.FromData([]float32{0.9*2 + 0.1*14.0/3}, 1), 1e-6)
	s := float32(1 / 1.8708286933869707) // 1/sqrt(3.5)
	nntest.AssertClose(t, "output", y.Value, tensor.FromData([]float32{-2 * s, -1 * s, 0, 3 * s}, 2, 1, 2, 1), 1e-6)
}
