package nn_test

import (
	"math"
	"slices"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestReduceGolden(t *testing.T) {
	axes := func(f func(x *nn.Var, axes []int, keep bool) *nn.Var, keep bool, ax ...int) nntest.GoldenOp {
		return unaryOp(func(x *nn.Var) *nn.Var { return f(x, ax, keep) })
	}
	runOpsGolden(t, "testdata/ops_reduce.safetensors", map[string]nntest.GoldenOp{
		"Sum/all":                  unaryOp(nn.SumAll),
		"Sum/axes=[1]":             axes(nn.Sum, false, 1),
		"Sum/axes=[1]/keepdim":     axes(nn.Sum, true, 1),
		"Sum/axes=[0,2]":           axes(nn.Sum, false, 0, 2),
		"Sum/axes=[-1,-2]/keepdim": axes(nn.Sum, true, -1, -2),
		"Mean/all":                 unaryOp(nn.MeanAll),
		"Mean/axes=[2,3]":          axes(nn.Mean, false, 2, 3),
		"Mean/axes=[0,3]/keepdim":  axes(nn.Mean, true, 0, 3),
		"Max/axis=1":               unaryOp(func(x *nn.Var) *nn.Var { return nn.Max(x, 1, false) }),
		"Max/axis=-1/keepdim":      unaryOp(func(x *nn.Var) *nn.Var { return nn.Max(x, -1, true) }),
	})
}

func TestReduceGrad(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		f     func(x *nn.Var) *nn.Var
	}{
		{"SumAll", []int{2, 3}, nn.SumAll},
		{"MeanAll", []int{2, 3, 2}, nn.MeanAll},
		{"Sum/axes=[0]", []int{3, 2}, func(x *nn.Var) *nn.Var { return nn.Sum(x, []int{0}, false) }},
		{"Sum/axes=[1,3]/keepdim", []int{2, 3, 2, 2}, func(x *nn.Var) *nn.Var { return nn.Sum(x, []int{1, 3}, true) }},
		{"Mean/axes=[-1]", []int{2, 3, 4}, func(x *nn.Var) *nn.Var { return nn.Mean(x, []int{-1}, false) }},
		{"Mean/axes=[0,2]", []int{2, 3, 4}, func(x *nn.Var) *nn.Var { return nn.Mean(x, []int{0, 2}, false) }},
		{"Max/axis=0", []int{4, 3}, func(x *nn.Var) *nn.Var { return nn.Max(x, 0, false) }},
		{"Max/axis=1/keepdim", []int{2, 5, 2}, func(x *nn.Var) *nn.Var { return nn.Max(x, 1, true) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := distinctValues(21, c.shape...)
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in[0]) }, x)
		})
	}
}

// distinctValues returns a tensor of values spaced at least 0.05 apart in
// random order, so that finite differences never swap a maximum.
func distinctValues(seed uint64, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i, p := range tensor.NewRNG(seed).Perm(x.Len()) {
		x.Data()[i] = float32(p)*0.05 - 1
	}
	return x
}

func TestReduceForward(t *testing.T) {
	x := nn.Constant(tensor.FromData([]float32{1, 5, 3, 4, 2, 6}, 2, 3))
	cases := []struct {
		name  string
		got   *nn.Var
		shape []int
		want  []float32
	}{
		{"SumAll", nn.SumAll(x), []int{}, []float32{21}},
		{"Sum/axes=[0]", nn.Sum(x, []int{0}, false), []int{3}, []float32{5, 7, 9}},
		{"Sum/axes=[1]/keepdim", nn.Sum(x, []int{1}, true), []int{2, 1}, []float32{9, 12}},
		{"Sum/axes=[]", nn.Sum(x, nil, true), []int{1, 1}, []float32{21}},
		{"Mean/axes=[1]", nn.Mean(x, []int{1}, false), []int{2}, []float32{3, 4}},
		{"Max/axis=1", nn.Max(x, 1, false), []int{2}, []float32{5, 6}},
		{"Max/axis=0/keepdim", nn.Max(x, 0, true), []int{1, 3}, []float32{4, 5, 6}},
	}
	for _, c := range cases {
		if !tensor.SameShape(c.got.Shape(), c.shape) || !slices.Equal(c.got.Data(), c.want) {
			t.Errorf("%s = %v %v, want %v %v", c.name, c.got.Shape(), c.got.Data(), c.shape, c.want)
		}
	}
	if m := nn.MeanAll(nn.Constant(tensor.New(0, 3))).Data()[0]; !math.IsNaN(float64(m)) {
		t.Errorf("mean of nothing = %v, want NaN as PyTorch", m)
	}
}

// TestMaxGradTies checks that a tie sends the gradient to the first maximum.
func TestMaxGradTies(t *testing.T) {
	tp := nn.NewTape(nil, nil)
	x := tp.Leaf(tensor.FromData([]float32{2, 7, 7, 1}, 1, 4))
	tp.Backward(nn.SumAll(nn.Max(x, 1, false)))
	if want := []float32{0, 1, 0, 0}; !slices.Equal(x.Grad.Data(), want) {
		t.Errorf("gradient %v, want %v", x.Grad.Data(), want)
	}
}

// TestSumAccuracy checks that a long sum does not lose the small terms that
// sequential float32 accumulation would.
func TestSumAccuracy(t *testing.T) {
	n := 1 << 20
	x := tensor.Full(0.1, n)
	got := float64(nn.SumAll(nn.Constant(x)).Data()[0])
	want := float64(float32(0.1)) * float64(n)
	if math.Abs(got-want) > 1e-6*want {
		t.Errorf("sum of %d × 0.1 = %.8g, want %.8g", n, got, want)
	}
	rows := nn.Sum(nn.Constant(x.Reshape(2, n/2)), []int{1}, false).Data()
	for _, v := range rows {
		if math.Abs(float64(v)-want/2) > 1e-6*want {
			t.Errorf("row sums %v, want %.8g each", rows, want/2)
		}
	}
}

func TestReducePanics(t *testing.T) {
	x := nn.Constant(tensor.New(2, 3))
	expectPanic(t, "nn: bad argument: Sum repeats axis -1 in [1 -1] for shape [2 3]", func() { nn.Sum(x, []int{1, -1}, false) })
	expectPanic(t, "nn: axis out of range: Mean axis 2 of shape [2 3]", func() { nn.Mean(x, []int{2}, false) })
	expectPanic(t, "nn: shape mismatch: Max over empty axis 0 of shape [0 3]", func() { nn.Max(nn.Constant(tensor.New(0, 3)), 0, false) })
}
