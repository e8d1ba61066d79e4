package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestActivationGolden(t *testing.T) {
	ops := map[string]nntest.GoldenOp{
		"ReLU":                    unaryOp(nn.ReLU),
		"GELU":                    unaryOp(nn.GELU),
		"SiLU":                    unaryOp(nn.SiLU),
		"Sigmoid":                 unaryOp(nn.Sigmoid),
		"Sigmoid/large":           unaryOp(nn.Sigmoid),
		"Softmax/axis=1/large":    unaryOp(func(x *nn.Var) *nn.Var { return nn.Softmax(x, 1) }),
		"LogSoftmax/axis=1/large": unaryOp(func(x *nn.Var) *nn.Var { return nn.LogSoftmax(x, 1) }),
		"Tanh":                    unaryOp(nn.Tanh),
	}
	for _, axis := range []int{0, 1, -1} {
		ops[fmt.Sprintf("Softmax/axis=%d", axis)] = unaryOp(func(x *nn.Var) *nn.Var { return nn.Softmax(x, axis) })
		ops[fmt.Sprintf("LogSoftmax/axis=%d", axis)] = unaryOp(func(x *nn.Var) *nn.Var { return nn.LogSoftmax(x, axis) })
	}
	runOpsGolden(t, "testdata/ops_activation.safetensors", ops)
}

func TestActivationGrad(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		scale float32
		f     func(x *nn.Var) *nn.Var
	}{
		{"ReLU", []int{3, 4}, 1, nn.ReLU},
		{"GELU", []int{3, 4}, 3, nn.GELU},
		{"SiLU", []int{3, 4}, 3, nn.SiLU},
		{"Sigmoid", []int{3, 4}, 3, nn.Sigmoid},
		{"Tanh", []int{3, 4}, 2, nn.Tanh},
		{"Softmax/axis=0", []int{3, 4}, 2, func(x *nn.Var) *nn.Var { return nn.Softmax(x, 0) }},
		{"Softmax/axis=1", []int{2, 3, 2}, 2, func(x *nn.Var) *nn.Var { return nn.Softmax(x, 1) }},
		{"Softmax/axis=-1", []int{2, 5}, 2, func(x *nn.Var) *nn.Var { return nn.Softmax(x, -1) }},
		{"LogSoftmax/axis=1", []int{2, 3, 2}, 2, func(x *nn.Var) *nn.Var { return nn.LogSoftmax(x, 1) }},
		{"LogSoftmax/axis=-1", []int{3, 4}, 2, func(x *nn.Var) *nn.Var { return nn.LogSoftmax(x, -1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randT(31, c.shape...)
			for i, v := range x.Data() {
				// Keep ReLU's kink out of the finite-difference stencil.
				if c.name == "ReLU" && math.Abs(float64(v)) < 0.05 {
					v = 0.3
				}
				x.Data()[i] = v * c.scale
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in[0]) }, x)
		})
	}
}

func TestActivationValues(t *testing.T) {
	x := nn.Constant(tensor.FromData([]float32{-1000, -2, 0, 1, 1000}, 5))
	cases := []struct {
		name string
		got  *nn.Var
		want []float64
	}{
		{"ReLU", nn.ReLU(x), []float64{0, 0, 0, 1, 1000}},
		// GELU(x) = x·Φ(x): Φ(-2) = 0.0227501319, Φ(1) = 0.8413447461.
		{"GELU", nn.GELU(x), []float64{0, -2 * 0.0227501319, 0, 0.8413447461, 1000}},
		{"Sigmoid", nn.Sigmoid(x), []float64{0, 0.1192029220, 0.5, 0.7310585786, 1}},
		{"SiLU", nn.SiLU(x), []float64{0, -2 * 0.1192029220, 0, 0.7310585786, 1000}},
		{"Tanh", nn.Tanh(x), []float64{-1, -0.9640275801, 0, 0.7615941560, 1}},
		// exp(x - 1000) underflows everywhere but the last entry.
		{"Softmax", nn.Softmax(x, 0), []float64{0, 0, 0, 0, 1}},
		{"LogSoftmax", nn.LogSoftmax(x, 0), []float64{-2000, -1002, -1000, -999, 0}},
	}
	for _, c := range cases {
		for i, v := range c.got.Data() {
			if math.Abs(float64(v)-c.want[i]) > 1e-6*math.Max(1, math.Abs(c.want[i])) || math.IsNaN(float64(v)) {
				t.Errorf("%s = %v, want %v", c.name, c.got.Data(), c.want)
				break
			}
		}
	}
}

// TestActivationParallel checks that inputs large enough to be split
// between goroutines give the same values as element-by-element evaluation.
func TestActivationParallel(t *testing.T) {
	x := randT(5, 3, 40000)
	gelu := nn.GELU(nn.Constant(x)).Data()
	sm := nn.Softmax(nn.Constant(x), 0).Data()
	for i, v := range x.Data() {
		one := []float32{0}
		tensor.GELU([]float32{v}, one)
		if want := one[0]; gelu[i] != want {
			t.Fatalf("GELU element %d = %v, want %v", i, gelu[i], want)
		}
		if col := i % 40000; i < 40000 {
			var e [3]float64
			s := 0.0
			for r := range e {
				e[r] = math.Exp(float64(x.Data()[r*40000+col]))
				s += e[r]
			}
			for r := range e {
				if got := float64(sm[r*40000+col]); math.Abs(got-e[r]/s) > 1e-6 {
					t.Fatalf("softmax[%d, %d] = %v, want %v", r, col, got, e[r]/s)
				}
			}
		}
	}
}
