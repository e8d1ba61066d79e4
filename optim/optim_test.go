package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

func readGolden(t *testing.T, name string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := checkpoint.ReadSafetensors("testdata/optim_" + name + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f.Tensors
}

func assertClose(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if d := tensor.MaxAbsDiff(got, want); d > tol*math.Max(1, tensor.MaxAbs(want)) {
		t.Errorf("%s: max abs diff %.3g from PyTorch", what, d)
	}
}

// TestAgainstPyTorch replays the gradients torch.optim saw and compares the
// final parameters (tools/reference/golden_optim.py).
func TestAgainstPyTorch(t *testing.T) {
	cases := []struct {
		golden string
		lr, wd float64
		build  func([]*Group) Optimizer
	}{
		{"sgd", 0.1, 0, func(g []*Group) Optimizer { return NewSGD(g, SGDOptions{}) }},
		{"sgd_momentum_wd", 0.05, 1e-2, func(g []*Group) Optimizer { return NewSGD(g, SGDOptions{Momentum: 0.9, Dampening: 0.1}) }},
		{"sgd_nesterov", 0.05, 1e-3, func(g []*Group) Optimizer { return NewSGD(g, SGDOptions{Momentum: 0.9, Nesterov: true}) }},
		{"adamw", 1e-2, 0.05, func(g []*Group) Optimizer { return NewAdamW(g, DefaultAdamWOptions()) }},
		{"adamw_betas", 3e-3, 0.5, func(g []*Group) Optimizer {
			return NewAdamW(g, AdamWOptions{Betas: [2]float64{0.8, 0.99}, Eps: 1e-6})
		}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			gold := readGolden(t, c.golden)
			p0, p1 := nn.NewParam(gold["p0"].Clone()), nn.NewParam(gold["p1"].Clone())
			groups := []*Group{{Params: []Param{{"p0", p0}, {"p1", p1}}, BaseLR: c.lr, LR: c.lr, WeightDecay: c.wd}}
			opt := c.build(groups)
			for s := 0; ; s++ {
				g0, ok := gold[fmt.Sprintf("g%d_0", s)]
				if !ok {
					break
				}
				p0.Grad, p1.Grad = g0.Clone(), gold[fmt.Sprintf("g%d_1", s)].Clone()
				opt.Step()
			}
			assertClose(t, "p0", p0.Value, gold["want_p0"], 1e-5)
			assertClose(t, "p1", p1.Value, gold["want_p1"], 1e-5)
		})
	}
}

func TestClipGradNorm(t *testing.T) {
	gold := readGolden(t, "clip")
	p0, p1 := nn.NewParam(tensor.New(3, 4)), nn.NewParam(tensor.New(5))
	p0.Grad, p1.Grad = gold["g0"].Clone(), gold["g1"].Clone()
	norm := ClipGradNorm([]*Group{{Params: []Param{{"a", p0}, {"b", p1}}}}, 2)
	if d := math.Abs(norm - float64(gold["norm"].Data()[0])); d > 1e-5 {
		t.Errorf("norm %g, PyTorch %g", norm, gold["norm"].Data()[0])
	}
	assertClose(t, "g0", p0.Grad, gold["want_g0"], 1e-6)
	assertClose(t, "g1", p1.Grad, gold["want_g1"], 1e-6)
}

// TestLAMBHand checks one LAMB step worked by hand: g = [3, 4] (norm 5 > 1,
// so clipped to [0.6, 0.8]); after bias correction m̂ = g, v̂ = g², so
// u = sign(g)·1/(1+eps) + wd·p; with p = [1, 0], wd = 0.1: u ≈ [1.1, 1],
// ‖p‖ = 1, ‖u‖ = sqrt(2.21), p -= lr·(1/sqrt(2.21))·u.
func TestLAMBHand(t *testing.T) {
	p := nn.NewParam(tensor.FromData([]float32{1, 0}, 2))
	p.Grad = tensor.FromData([]float32{3, 4}, 2)
	opt := NewLAMB([]*Group{{Params: []Param{{"p", p}}, BaseLR: 0.5, LR: 0.5, WeightDecay: 0.1}}, DefaultLAMBOptions())
	opt.Step()
	u := []float64{1/(1+1e-6) + 0.1, 1 / (1 + 1e-6)}
	r := 1 / math.Hypot(u[0], u[1])
	want := []float64{1 - 0.5*r*u[0], -0.5 * r * u[1]}
	for i, w := range want {
		if d := math.Abs(float64(p.Data()[i]) - w); d > 1e-6 {
			t.Errorf("p[%d] = %g, want %g", i, p.Data()[i], w)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	mk := func() (*nn.Var, *AdamW) {
		p := nn.NewParam(tensor.FromData([]float32{1, 2, 3}, 3))
		return p, NewAdamW([]*Group{{Params: []Param{{"w", p}}, BaseLR: 0.1, LR: 0.1, WeightDecay: 0.01}}, DefaultAdamWOptions())
	}
	grad := tensor.FromData([]float32{0.5, -1, 2}, 3)
	// Uninterrupted: three steps.
	pa, oa := mk()
	for range 3 {
		pa.Grad = grad.Clone()
		oa.Step()
	}
	// Interrupted after one step, state saved and loaded into a fresh optimizer.
	pb, ob := mk()
	pb.Grad = grad.Clone()
	ob.Step()
	st := ob.State()
	pc, oc := mk()
	pc.Value.CopyFrom(pb.Value)
	if err := oc.LoadState(st); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		pc.Grad = grad.Clone()
		oc.Step()
	}
	for i := range pa.Data() {
		if pa.Data()[i] != pc.Data()[i] {
			t.Fatalf("resumed %v, uninterrupted %v", pc.Data(), pa.Data())
		}
	}
	// A state of the wrong shape is an error naming the key.
	st["exp_avg.w"] = tensor.New(4)
	if err := oc.LoadState(st); err == nil || err.Error() != `optim: state key "exp_avg.w": shape [4], parameter has [3]` {
		t.Errorf("wrong-shape state: err = %v", err)
	}
}

func TestSchedules(t *testing.T) {
	const base = 0.1
	cases := []struct {
		name  string
		sched Schedule
		pos   int // iteration, or epoch for by-epoch rules
		want  float64
	}{
		// mmdet 1x: linear warm-up 500 iters from 0.001, then steps at epochs 8, 11.
		{"warmup/start", Schedule{Rules: []Scheduler{{Type: "LinearLR", StartFac: 0.001, End: 500}}, MaxIters: 1000}, 0, base * 0.001},
		{"warmup/half", Schedule{Rules: []Scheduler{{Type: "LinearLR", StartFac: 0.001, End: 500}}, MaxIters: 1000}, 250, base * (0.001 + 0.999*0.5)},
		{"warmup/after", Schedule{Rules: []Scheduler{{Type: "LinearLR", StartFac: 0.001, End: 500}}, MaxIters: 1000}, 700, base},
		{"multistep/before", Schedule{Rules: []Scheduler{{Type: "MultiStepLR", ByEpoch: true, Milestones: []float64{8, 11}, End: 12}}, MaxEpochs: 12}, 7, base},
		{"multistep/first", Schedule{Rules: []Scheduler{{Type: "MultiStepLR", ByEpoch: true, Milestones: []float64{8, 11}, End: 12}}, MaxEpochs: 12}, 8, base * 0.1},
		{"multistep/second", Schedule{Rules: []Scheduler{{Type: "MultiStepLR", ByEpoch: true, Milestones: []float64{8, 11}, End: 12}}, MaxEpochs: 12}, 11, base * 0.01},
		{"step", Schedule{Rules: []Scheduler{{Type: "StepLR", StepSize: 30, Gamma: 0.5}}, MaxIters: 100}, 65, base * 0.25},
		{"cosine/mid", Schedule{Rules: []Scheduler{{Type: "CosineAnnealingLR", End: 100}}, MaxIters: 100}, 50, base * 0.5},
		{"cosine/eta_min", Schedule{Rules: []Scheduler{{Type: "CosineAnnealingLR", End: 100, EtaMin: 0.01}}, MaxIters: 100}, 50, 0.01 + (base-0.01)*0.5},
		{"poly/quarter", Schedule{Rules: []Scheduler{{Type: "PolyLR", Power: 1, EtaMin: 1e-4}}, MaxIters: 200}, 50, 1e-4 + (base-1e-4)*0.75},
		{"poly/power2", Schedule{Rules: []Scheduler{{Type: "PolyLR", Power: 2}}, MaxIters: 100}, 50, base * 0.25},
		// timm-style per-iteration cosine over epochs: 10 epochs of 100 iterations, at iteration 250.
		{"cosine/convert_to_iter", Schedule{Rules: []Scheduler{{Type: "CosineAnnealingLR", ByEpoch: true, ConvertToIterBased: true, End: 10}}, ItersPerEpoch: 100, MaxEpochs: 10, MaxIters: 1000}, 250,
			base * (1 + math.Cos(math.Pi*0.25)) / 2},
		// Warm-up and poly together (mmseg's ADE20K recipe): the factors multiply.
		{"warmup+poly", Schedule{Rules: []Scheduler{{Type: "LinearLR", StartFac: 1e-6, End: 1500}, {Type: "PolyLR", Power: 1}}, MaxIters: 3000}, 750,
			base * (1e-6 + (1-1e-6)*0.5) * 0.75},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := []*Group{{BaseLR: base}}
			c.sched.Apply(g, c.pos, c.pos)
			if math.Abs(g[0].LR-c.want) > 1e-12 {
				t.Errorf("lr at %d = %.12g, want %.12g", c.pos, g[0].LR, c.want)
			}
		})
	}
}

func TestSchedulerValidate(t *testing.T) {
	for _, c := range []struct {
		s    Scheduler
		want string
	}{
		{Scheduler{Type: "Cosine"}, `optim: unknown scheduler type "Cosine" (want LinearLR, StepLR, MultiStepLR, CosineAnnealingLR, PolyLR or ConstantLR)`},
		{Scheduler{Type: "StepLR"}, "optim: StepLR needs step_size > 0, got 0"},
		{Scheduler{Type: "LinearLR", Begin: 5, End: 2}, "optim: LinearLR: end 2 must be after begin 5"},
	} {
		if err := c.s.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("Validate(%+v) = %v, want %q", c.s, err, c.want)
		}
	}
}

type normLayer struct{ nn.ModuleBase }

func (*normLayer) IsNorm() bool { return true }

type leaf struct{ nn.ModuleBase }

func TestBuildGroups(t *testing.T) {
	root := &leaf{}
	conv := &leaf{}
	conv.RegisterParam("weight", nn.NewParam(tensor.New(2)))
	conv.RegisterParam("bias", nn.NewParam(tensor.New(2)))
	norm := &normLayer{}
	norm.RegisterParam("weight", nn.NewParam(tensor.New(2)))
	lif := &leaf{}
	lif.RegisterParam("tau", nn.NewParam(tensor.New(1)))
	lif.RegisterParam("Vth", nn.NewParam(tensor.New(1)))
	frozen := &leaf{}
	fp := nn.NewParam(tensor.New(1))
	fp.SetRequiresGrad(false)
	frozen.RegisterParam("weight", fp)
	root.RegisterModule("conv", conv)
	root.RegisterModule("norm1", norm)
	root.RegisterModule("lif1", lif)
	root.RegisterModule("frozen", frozen)
	zero, tenth := 0.0, 0.1
	groups := BuildGroups(root, 1e-3, 0.05, ParamwiseOptions{
		CustomKeys:    map[string]KeyOptions{"tau": {LRMult: &tenth, DecayMult: &zero}, "Vth": {LRMult: &tenth, DecayMult: &zero}},
		NormDecayMult: &zero,
	})
	got := describeGroups(groups)
	want := "group 0: 2 params, lr 0.001, weight_decay 0.05\n" +
		"group 1: 1 params, lr 0.001, weight_decay 0\n" +
		"group 2: 2 params, lr 0.0001, weight_decay 0\n"
	if got != want {
		t.Errorf("groups:\n%s\nwant:\n%s", got, want)
	}
}
