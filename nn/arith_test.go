package nn_test

import (
	"fmt"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func randT(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	tensor.NewRNG(seed).FillUniform(t, -1, 1)
	return t
}

func TestBinaryGrad(t *testing.T) {
	ops := map[string]func(a, b *nn.Var) *nn.Var{"Add": nn.Add, "Sub": nn.Sub, "Mul": nn.Mul, "Div": nn.Div}
	shapes := [][2][]int{
		{{2, 3}, {2, 3}},
		{{2, 3, 4}, {3, 1}},
		{{1, 3, 1}, {2, 1, 4}},
		{{2, 3, 2, 2}, {1, 3, 1, 1}},
		{{1, 3, 1, 1}, {2, 3, 2, 2}},
		{{2, 3, 2}, {1}},
		{{1}, {2, 3, 2}},
		{{2, 2, 2, 3}, {3}},
		{{3}, {2, 2, 2, 3}},
		{{2, 1, 3}, {1, 2, 1}},
		{{3}, {}},
		{{}, {3}},
	}
	for name, op := range ops {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%s/%v_%v", name, s[0], s[1]), func(t *testing.T) {
				a, b := randT(1, s[0]...), randT(2, s[1]...)
				if name == "Div" {
					for i, v := range b.Data() { // keep away from 0
						b.Data()[i] = 1.5 + v
					}
				}
				nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return op(in[0], in[1]) }, a, b)
			})
		}
	}
}

// TestAddPassThroughGrad checks the sum of intermediate values, whose
// gradients start as copies of the output's: of two different values, of a
// value with itself, and of a value whose gradient already holds a term.
func TestAddPassThroughGrad(t *testing.T) {
	cases := map[string]func(a, b *nn.Var) *nn.Var{
		"h+k": func(a, b *nn.Var) *nn.Var { return nn.Add(nn.Scale(a, 2), nn.Mul(a, b)) },
		"h+h": func(a, _ *nn.Var) *nn.Var { h := nn.Scale(a, 3); return nn.Add(h, h) },
		"h+h·h": func(a, _ *nn.Var) *nn.Var {
			h := nn.AddScalar(a, 0.5)
			return nn.Add(nn.Mul(h, h), h)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return f(in[0], in[1]) }, randT(3, 2, 3, 4), randT(4, 2, 3, 4))
		})
	}
}

func TestScalarOpsGrad(t *testing.T) {
	cases := []struct {
		name   string
		shapes [][]int
		f      func(in []*nn.Var) *nn.Var
	}{
		{"Scale/s=-1.5", [][]int{{2, 3}}, func(in []*nn.Var) *nn.Var { return nn.Scale(in[0], -1.5) }},
		{"AddScalar/s=0.75", [][]int{{2, 3}}, func(in []*nn.Var) *nn.Var { return nn.AddScalar(in[0], 0.75) }},
		{"AddN/3", [][]int{{2, 3}, {2, 3}, {2, 3}}, func(in []*nn.Var) *nn.Var { return nn.AddN(in...) }},
		{"AddN/same_input_twice", [][]int{{3, 2}}, func(in []*nn.Var) *nn.Var { return nn.AddN(in[0], in[0]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inputs []*tensor.Tensor
			for i, s := range c.shapes {
				inputs = append(inputs, randT(uint64(6+i), s...))
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in) }, inputs...)
		})
	}
}

func TestBinaryForward(t *testing.T) {
	a := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromData([]float32{10, 20, 30}, 3)
	got := nn.Add(nn.Constant(a), nn.Constant(b)).Data()
	want := []float32{11, 22, 33, 14, 25, 36}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Add broadcast = %v, want %v", got, want)
		}
	}
}

func TestMatMulLinearGrad(t *testing.T) {
	cases := []struct {
		name   string
		a, b   []int
		linear bool
		noBias bool // for linear
	}{
		{"2D", []int{3, 4}, []int{4, 5}, false, false},
		{"2D/k=1", []int{3, 1}, []int{1, 4}, false, false},
		{"batched_shared", []int{2, 3, 4}, []int{4, 2}, false, false},
		{"batched_shared/4D", []int{2, 2, 3, 4}, []int{4, 2}, false, false},
		{"batched", []int{2, 3, 4}, []int{2, 4, 2}, false, false},
		{"batched/4D", []int{2, 2, 3, 2}, []int{2, 2, 2, 3}, false, false},
		{"linear", []int{2, 3, 4}, []int{5, 4}, true, false},
		{"linear/1D", []int{4}, []int{3, 4}, true, false},
		{"linear/no_bias", []int{3, 4}, []int{5, 4}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := randT(3, c.a...), randT(4, c.b...)
			if c.linear && c.noBias {
				nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return nn.LinearOp(in[0], in[1], nil) }, a, b)
				return
			}
			if c.linear {
				bias := randT(5, c.b[0])
				nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return nn.LinearOp(in[0], in[1], in[2]) }, a, b, bias)
				return
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return nn.MatMul(in[0], in[1]) }, a, b)
		})
	}
}

func TestTapeReleaseReusesBuffers(t *testing.T) {
	pool := tensor.NewPool()
	w := nn.NewParam(randT(1, 8, 8))
	x := randT(2, 4, 8)
	step := func() {
		tp := nn.NewTape(pool, nil)
		y := nn.LinearOp(tp.Input(x), w, nil)
		tp.BackwardFrom(y, tensor.Full(1, 4, 8))
		tp.Release()
	}
	step()
	allocs := testing.AllocsPerRun(10, step)
	// The tape, its node slice, closures and Var headers allocate; buffers do not.
	if allocs > 30 {
		t.Errorf("steady-state step allocates %v times", allocs)
	}
}
