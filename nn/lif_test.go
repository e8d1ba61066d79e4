package nn_test

import (
	"fmt"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// lifInputs returns an input whose membranes all stay at least 0.2 away
// from vth = 0.1 for tau = 0.3 (each value fires alone, in [0.6, 1], or
// stays far below, in [-0.6, -0.3]), so that finite differences never
// cross the firing threshold, where the neuron is discontinuous.
func lifInputs(seed uint64, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	rng := tensor.NewRNG(seed)
	for i := range x.Data() {
		if rng.Float64() < 0.5 {
			x.Data()[i] = float32(rng.Uniform(0.6, 1))
		} else {
			x.Data()[i] = float32(rng.Uniform(-0.6, -0.3))
		}
	}
	return x
}

func TestLIFGrad(t *testing.T) {
	cases := []struct {
		shape       []int
		axis, group int
	}{
		{[]int{1, 2, 8, 3}, 2, 4},
		{[]int{1, 2, 7, 3}, 2, 4}, // 3 pass-through rows
		{[]int{2, 1, 3, 9}, 3, 4}, // 1 pass-through column
		{[]int{1, 2, 5, 6}, 3, 3},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/axis=%d/group=%d", c.shape, c.axis, c.group), func(t *testing.T) {
			x := lifInputs(1, c.shape...)
			tau := tensor.FromData([]float32{0.3}, 1)
			vth := tensor.FromData([]float32{0.1}, 1)
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var {
				return nn.LIF(in[0], in[1], in[2], c.axis, c.group)
			}, x, tau, vth)
		})
	}
}

// TestLIFGolden compares forward and gradients with the PyTorch reference
// (tools/reference/golden_lif.py).
func TestLIFGolden(t *testing.T) {
	f, err := checkpoint.ReadSafetensors("testdata/lif_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	g := f.Tensors
	for _, axis := range []int{2, 3} {
		for _, group := range []int{4, 3} {
			k := fmt.Sprintf("%d_%d", axis, group)
			t.Run(k, func(t *testing.T) {
				tp := nn.NewTape(nil, nil)
				x := tp.Leaf(g["x"].Clone())
				tau := nn.NewParam(g["tau"].Clone())
				vth := nn.NewParam(g["vth"].Clone())
				y := nn.LIF(x, tau, vth, axis, group)
				tp.BackwardFrom(y, g["gy"])
				nntest.AssertClose(t, "y", y.Value, g["y_"+k], 1e-6)
				nntest.AssertClose(t, "gx", x.Grad, g["gx_"+k], 1e-6)
				nntest.AssertClose(t, "gtau", tau.Grad, g["gtau_"+k], 1e-5)
				nntest.AssertClose(t, "gvth", vth.Grad, g["gvth_"+k], 1e-5)
			})
		}
	}
}

func TestLIFSpike(t *testing.T) {
	l := nn.NewLIFSpike(3, 4, 0.25, 0.1)
	if got := nn.StateKeys(l); len(got) != 2 || got[0] != "tau" || got[1] != "Vth" {
		t.Fatalf("state keys %v, want [tau Vth]", got)
	}
	x := nn.Constant(tensor.FromData([]float32{0.05, 0.5, -1, 0.2}, 1, 1, 1, 4))
	// t0: 0.05 rests (output vth); t1: 0.25*0.05+0.5 fires; t2: after the
	// reset, -1 rests; t3: 0.25*-1+0.2 = -0.05 rests.
	want := []float32{0.1, 0.5125, 0.1, 0.1}
	got := l.Forward(x).Data()
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	off := nn.NewLIFSpike(2, -1, 0.25, 0.1)
	if y := off.Forward(x); y != x {
		t.Errorf("group -1 must return the input itself")
	}
}
