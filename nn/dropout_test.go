package nn_test

import (
	"math"
	"slices"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// Dropout and DropPath draw from dp's generator, not PyTorch's, so
// TestDropoutGolden (golden_ops_test.go) compares with PyTorch only where the
// masks agree; these tests check the distribution and the exact scaling and
// gradients for whatever mask is drawn.

func TestDropoutIdentity(t *testing.T) {
	tp := nn.NewTape(nil, tensor.NewRNG(1))
	x := tp.Leaf(randT(1, 4, 5))
	for _, c := range []struct {
		name     string
		p        float64
		training bool
	}{{"eval", 0.5, false}, {"p=0", 0, true}} {
		if nn.Dropout(x, c.p, c.training) != x || nn.DropPath(x, c.p, c.training) != x {
			t.Errorf("%s: not the identity", c.name)
		}
	}
	if tp.Len() != 0 {
		t.Errorf("identity dropout recorded %d operations", tp.Len())
	}
}

func TestDropoutDistribution(t *testing.T) {
	const n = 200000
	for _, p := range []float64{0.1, 0.5, 0.9} {
		tp := nn.NewTape(nil, tensor.NewRNG(7))
		xt := randT(2, n)
		y := nn.Dropout(tp.Input(xt), p, true)
		scale := float32(1 / (1 - p))
		zeros := 0
		for i, v := range y.Data() {
			switch {
			case v == 0:
				zeros++
			case v != xt.Data()[i]*scale:
				t.Fatalf("p=%v: element %d = %v, want 0 or %v", p, i, v, xt.Data()[i]*scale)
			}
		}
		// The zero count is binomial(n, p); allow 5 standard deviations.
		if sd := math.Sqrt(n * p * (1 - p)); math.Abs(float64(zeros)-n*p) > 5*sd {
			t.Errorf("p=%v: %d of %d dropped, want about %.0f", p, zeros, n, n*p)
		}
	}
}

func TestDropPathPerSample(t *testing.T) {
	const samples = 4000
	tp := nn.NewTape(nil, tensor.NewRNG(3))
	xt := randT(4, samples, 2, 3)
	p := 0.3
	y := nn.DropPath(tp.Input(xt), p, true)
	dropped := 0
	for s := 0; s < samples; s++ {
		got, in := y.Data()[s*6:(s+1)*6], xt.Data()[s*6:(s+1)*6]
		if got[0] == 0 {
			dropped++
			if !slices.Equal(got, make([]float32, 6)) {
				t.Fatalf("sample %d partly dropped: %v", s, got)
			}
			continue
		}
		for i := range got {
			if want := in[i] * float32(1/(1-p)); got[i] != want {
				t.Fatalf("sample %d element %d = %v, want %v", s, i, got[i], want)
			}
		}
	}
	if sd := math.Sqrt(samples * p * (1 - p)); math.Abs(float64(dropped)-samples*p) > 5*sd {
		t.Errorf("%d of %d samples dropped, want about %.0f", dropped, samples, samples*p)
	}
}

func TestDropoutAll(t *testing.T) {
	tp := nn.NewTape(nil, tensor.NewRNG(1))
	x := tp.Leaf(randT(1, 3, 4))
	for name, y := range map[string]*nn.Var{"Dropout": nn.Dropout(x, 1, true), "DropPath": nn.DropPath(x, 1, true)} {
		if m := tensor.MaxAbs(y.Value); m != 0 {
			t.Errorf("%s with p=1: max |y| = %v, want 0", name, m)
		}
	}
}

func TestDropoutGrad(t *testing.T) {
	// GradCheck seeds a fresh tape RNG for every evaluation, so each one
	// draws the same mask.
	cases := []struct {
		name string
		f    func(x *nn.Var) *nn.Var
	}{
		{"Dropout/p=0.4", func(x *nn.Var) *nn.Var { return nn.Dropout(x, 0.4, true) }},
		{"DropPath/p=0.5", func(x *nn.Var) *nn.Var { return nn.DropPath(x, 0.5, true) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nntest.GradCheck{Seed: 11}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in[0]) }, randT(5, 6, 2, 3))
		})
	}
}

func TestDropoutSeeded(t *testing.T) {
	run := func() []float32 {
		tp := nn.NewTape(nil, tensor.NewRNG(42))
		return nn.Dropout(tp.Input(randT(1, 100)), 0.5, true).Data()
	}
	if !slices.Equal(run(), run()) {
		t.Error("the same seed gave different masks")
	}
}

func TestDropoutPanics(t *testing.T) {
	tp := nn.NewTape(nil, tensor.NewRNG(1))
	x := tp.Input(tensor.New(2, 2))
	expectPanic(t, "nn: bad argument: Dropout probability 1.5 outside [0, 1]", func() { nn.Dropout(x, 1.5, true) })
	expectPanic(t, "DropPath probability -0.1", func() { nn.DropPath(x, -0.1, true) })
	noRNG := nn.NewTape(nil, nil).Input(tensor.New(2, 2))
	expectPanic(t, "random operation on a tape without an RNG", func() { nn.Dropout(noRNG, 0.5, true) })
}
