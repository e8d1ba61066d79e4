package nn_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestLossGolden(t *testing.T) {
	ignore255 := 255
	w := []float32{0.5, 1.0, 2.0, 1.5}
	ce := func(opt nn.CrossEntropyOptions) nntest.GoldenOp {
		return func(_ *nn.Tape, in []*nn.Var, c []*tensor.Tensor) []*nn.Var {
			return []*nn.Var{nn.CrossEntropy(in[0], c[0].Data(), opt)}
		}
	}
	bce := func(red nn.Reduction, weight, posWeight int) nntest.GoldenOp {
		// weight and posWeight index the case's constants, -1 for none.
		return func(_ *nn.Tape, in []*nn.Var, c []*tensor.Tensor) []*nn.Var {
			opt := nn.BCEOptions{Reduction: red}
			if weight >= 0 {
				opt.Weight = c[weight]
			}
			if posWeight >= 0 {
				opt.PosWeight = c[posWeight]
			}
			return []*nn.Var{nn.BinaryCrossEntropyWithLogits(in[0], in[1], opt)}
		}
	}
	box := func(f func(p, t *nn.Var) *nn.Var) nntest.GoldenOp { return binaryOp(f) }
	ops := map[string]nntest.GoldenOp{
		"CrossEntropy/NC/mean":                                ce(nn.CrossEntropyOptions{}),
		"CrossEntropy/NC/weight/mean":                         ce(nn.CrossEntropyOptions{Weight: w}),
		"CrossEntropy/NC/smooth=0.2/mean":                     ce(nn.CrossEntropyOptions{LabelSmoothing: 0.2}),
		"CrossEntropy/NC/weight/smooth=0.1/mean":              ce(nn.CrossEntropyOptions{Weight: w, LabelSmoothing: 0.1}),
		"CrossEntropy/NC/weight/smooth=0.1/sum":               ce(nn.CrossEntropyOptions{Weight: w, LabelSmoothing: 0.1, Reduction: nn.ReductionSum}),
		"CrossEntropy/NC/weight/smooth=0.1/none":              ce(nn.CrossEntropyOptions{Weight: w, LabelSmoothing: 0.1, Reduction: nn.ReductionNone}),
		"CrossEntropy/NCHW/ignore=255/mean":                   ce(nn.CrossEntropyOptions{IgnoreIndex: &ignore255}),
		"CrossEntropy/NCHW/ignore=255/weight/smooth=0.1/mean": ce(nn.CrossEntropyOptions{IgnoreIndex: &ignore255, Weight: w[:3], LabelSmoothing: 0.1}),
		"BCEWithLogits/mean":                                  bce(nn.ReductionMean, -1, -1),
		"BCEWithLogits/none":                                  bce(nn.ReductionNone, -1, -1),
		"BCEWithLogits/weight/pos_weight/mean":                bce(nn.ReductionMean, 0, 1),
		"BCEWithLogits/pos_weight/sum":                        bce(nn.ReductionSum, -1, 0),
		"L1Loss/mean":                                         binaryOp(func(x, t *nn.Var) *nn.Var { return nn.L1Loss(x, t, nn.ReductionMean) }),
		"L1Loss/sum":                                          binaryOp(func(x, t *nn.Var) *nn.Var { return nn.L1Loss(x, t, nn.ReductionSum) }),
		"L1Loss/none":                                         binaryOp(func(x, t *nn.Var) *nn.Var { return nn.L1Loss(x, t, nn.ReductionNone) }),
		"SmoothL1Loss/beta=1.0/mean":                          binaryOp(func(x, t *nn.Var) *nn.Var { return nn.SmoothL1Loss(x, t, 1, nn.ReductionMean) }),
		"SmoothL1Loss/beta=0.5/mean":                          binaryOp(func(x, t *nn.Var) *nn.Var { return nn.SmoothL1Loss(x, t, 0.5, nn.ReductionMean) }),
		"SmoothL1Loss/beta=1.0/none":                          binaryOp(func(x, t *nn.Var) *nn.Var { return nn.SmoothL1Loss(x, t, 1, nn.ReductionNone) }),
		"IoULoss/log/none":                                    box(func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossLog, 1e-6, nn.ReductionNone) }),
		"IoULoss/linear/none":                                 box(func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossLinear, 1e-6, nn.ReductionNone) }),
		"IoULoss/square/none":                                 box(func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossSquare, 1e-6, nn.ReductionNone) }),
		"IoULoss/log/mean":                                    box(func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossLog, 1e-6, nn.ReductionMean) }),
		"GIoULoss/none":                                       box(func(p, t *nn.Var) *nn.Var { return nn.GIoULoss(p, t, 1e-6, nn.ReductionNone) }),
		"CIoULoss/none":                                       box(func(p, t *nn.Var) *nn.Var { return nn.CIoULoss(p, t, 1e-6, nn.ReductionNone) }),
		"CIoULoss/sum":                                        box(func(p, t *nn.Var) *nn.Var { return nn.CIoULoss(p, t, 1e-6, nn.ReductionSum) }),
	}
	runOpsGolden(t, "testdata/ops_loss.safetensors", ops)
}

// TestCrossEntropyByHand checks values worked out on paper. The logits make
// softmax rows p = (1/2, 1/2) and (3/4, 1/4); the third position is ignored.
func TestCrossEntropyByHand(t *testing.T) {
	ln2, ln3 := math.Ln2, math.Log(3)
	logits := tensor.FromData([]float32{0, 0, float32(ln3), 0, 5, -5}, 3, 2)
	labels := []int{0, 1, 255}
	ignore := 255
	w := []float32{1, 3}
	cases := []struct {
		name string
		opt  nn.CrossEntropyOptions
		want []float64
		// wantGrad is ∂loss/∂logits for an upstream gradient of 1 (mean
		// and sum) or of all ones (none).
		wantGrad []float64
	}{
		{"ignore/mean", nn.CrossEntropyOptions{IgnoreIndex: &ignore},
			// (ln 2 + ln 4) / 2 positions
			[]float64{(ln2 + 2*ln2) / 2},
			[]float64{-0.25, 0.25, 0.375, -0.375, 0, 0}},
		{"ignore/weight/mean", nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w},
			// (1·ln 2 + 3·ln 4) / (1 + 3)
			[]float64{(ln2 + 3*2*ln2) / 4},
			[]float64{-0.5 / 4, 0.5 / 4, 3 * 0.75 / 4, -3 * 0.75 / 4, 0, 0}},
		{"ignore/weight/sum", nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w, Reduction: nn.ReductionSum},
			[]float64{ln2 + 3*2*ln2},
			[]float64{-0.5, 0.5, 3 * 0.75, -3 * 0.75, 0, 0}},
		{"ignore/weight/none", nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w, Reduction: nn.ReductionNone},
			[]float64{ln2, 3 * 2 * ln2, 0},
			[]float64{-0.5, 0.5, 3 * 0.75, -3 * 0.75, 0, 0}},
		{"ignore/weight/smooth=0.2/mean", nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w, LabelSmoothing: 0.2},
			// (0.8·(ln 2 + 3 ln 4) + 0.2/2·(1·ln 2 + 3·ln 2 + 1·ln(4/3) + 3·ln 4)) / 4
			[]float64{(0.8*(ln2+6*ln2) + 0.1*(4*ln2+math.Log(4.0/3)+6*ln2)) / 4},
			// row 0: 0.8·1·(p - e0) + 0.1·(p·Σw - w) = 0.8(-½, ½) + 0.1(1, -1)
			// row 1: 0.8·3·(p - e1) + 0.1·(p·4 - w) = 2.4(¾, -¾) + 0.1(2, -2)
			[]float64{(-0.4 + 0.1) / 4, (0.4 - 0.1) / 4, (1.8 + 0.2) / 4, (-1.8 - 0.2) / 4, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := nn.NewTape(nil, nil)
			x := tp.Leaf(logits.Clone())
			loss := nn.CrossEntropy(x, labels, c.opt)
			seed := tensor.Full(1, loss.Shape()...)
			tp.BackwardFrom(loss, seed)
			for i, v := range loss.Data() {
				if math.Abs(float64(v)-c.want[i]) > 1e-6 {
					t.Errorf("loss = %v, want %v", loss.Data(), c.want)
					break
				}
			}
			for i, v := range x.Grad.Data() {
				if math.Abs(float64(v)-c.wantGrad[i]) > 1e-6 {
					t.Errorf("gradient = %v, want %v", x.Grad.Data(), c.wantGrad)
					break
				}
			}
		})
	}
	t.Run("default ignore index -100", func(t *testing.T) {
		got := nn.CrossEntropy(nn.Constant(logits.Clone()), []int8{0, 1, -100}, nn.CrossEntropyOptions{})
		if want := (ln2 + 2*ln2) / 2; math.Abs(float64(got.Data()[0])-want) > 1e-6 {
			t.Errorf("loss = %v, want %v", got.Data(), want)
		}
	})
	t.Run("all ignored", func(t *testing.T) {
		tp := nn.NewTape(nil, nil)
		x := tp.Leaf(logits.Clone())
		loss := nn.CrossEntropy(x, []uint8{255, 255, 255}, nn.CrossEntropyOptions{IgnoreIndex: &ignore})
		if !math.IsNaN(float64(loss.Data()[0])) {
			t.Errorf("mean over no positions = %v, want NaN as PyTorch", loss.Data()[0])
		}
		tp.Backward(loss)
		if m := tensor.MaxAbs(x.Grad); m != 0 {
			t.Errorf("gradient with every position ignored: max |g| = %v, want 0", m)
		}
	})
}

func TestLossByHand(t *testing.T) {
	c := func(v ...float32) *nn.Var { return nn.Constant(tensor.FromData(v, len(v))) }
	box := func(v ...float32) *nn.Var { return nn.Constant(tensor.FromData(v, len(v)/4, 4)) }
	// Boxes [0,0,2,2] and [1,1,3,3]: overlap 1, union 7, enclosing box 3×3,
	// centres √2 apart on each axis (ρ² = 2), enclosing diagonal² c² = 18.
	p, q := box(0, 0, 2, 2), box(1, 1, 3, 3)
	cases := []struct {
		name string
		got  *nn.Var
		want []float64
		tol  float64
	}{
		// softplus(0) = ln 2; pos_weight 3 triples the positive term; softplus(2) = ln(1+e²).
		{"BCEWithLogits", nn.BinaryCrossEntropyWithLogits(c(0, 0, 2), c(1, 1, 0),
			nn.BCEOptions{PosWeight: tensor.FromData([]float32{1, 3, 1}, 3), Reduction: nn.ReductionNone}),
			[]float64{math.Ln2, 3 * math.Ln2, math.Log1p(math.Exp(2))}, 1e-6},
		{"BCEWithLogits/weight/mean", nn.BinaryCrossEntropyWithLogits(c(0, 0), c(1, 0),
			nn.BCEOptions{Weight: tensor.FromData([]float32{2}, 1)}),
			[]float64{2 * math.Ln2}, 1e-6},
		{"L1Loss", nn.L1Loss(c(1, 2, 3), c(1.5, 0, 3), nn.ReductionSum), []float64{2.5}, 1e-6},
		// |d| = 0.5 < β: 0.5·0.25/1; |d| = 2: 2 - 0.5.
		{"SmoothL1Loss", nn.SmoothL1Loss(c(1, 2), c(1.5, 0), 1, nn.ReductionNone), []float64{0.125, 1.5}, 1e-6},
		{"IoULoss/log", nn.IoULoss(p, q, nn.IoULossLog, 1e-6, nn.ReductionNone), []float64{math.Log(7)}, 1e-5},
		{"IoULoss/linear", nn.IoULoss(p, q, nn.IoULossLinear, 1e-6, nn.ReductionNone), []float64{6.0 / 7}, 1e-5},
		{"IoULoss/square", nn.IoULoss(p, q, nn.IoULossSquare, 1e-6, nn.ReductionNone), []float64{1 - 1.0/49}, 1e-5},
		{"IoULoss/disjoint", nn.IoULoss(p, box(5, 5, 6, 6), nn.IoULossLog, 1e-6, nn.ReductionNone), []float64{-math.Log(1e-6)}, 1e-4},
		{"GIoULoss", nn.GIoULoss(p, q, 1e-6, nn.ReductionNone), []float64{1 - (1.0/7 - 2.0/9)}, 1e-5},
		// Equal aspect ratios: v = 0, and IoU ≤ 0.5 so α = 0.
		{"CIoULoss", nn.CIoULoss(p, q, 1e-6, nn.ReductionNone), []float64{1 - (1.0/7 - 2.0/18)}, 1e-5},
		{"CIoULoss/identical", nn.CIoULoss(p, p, 1e-6, nn.ReductionMean), []float64{0}, 1e-5},
		// [0,0,2,2] against [0,0,2,1.2]: IoU 0.6 > 0.5 so α = v/(1-IoU+v) with
		// v = 4/π²·(atan(2/1.2) - atan(1))²; ρ² = 0.8²/4, c² = 8.
		{"CIoULoss/alpha", nn.CIoULoss(p, box(0, 0, 2, 1.2), 1e-6, nn.ReductionNone), []float64{func() float64 {
			v := 4 / (math.Pi * math.Pi) * math.Pow(math.Atan(2/1.2)-math.Pi/4, 2)
			return 1 - (0.6 - (0.16/8 + v/(0.4+v)*v))
		}()}, 2e-6},
	}
	for _, c := range cases {
		for i, v := range c.got.Data() {
			if math.Abs(float64(v)-c.want[i]) > c.tol {
				t.Errorf("%s = %v, want %v", c.name, c.got.Data(), c.want)
				break
			}
		}
	}
}

func TestLossGrad(t *testing.T) {
	ignore := 255
	labelsNC := []int{2, 0, 255, 1}
	labelsSeg := []int32{0, 2, 1, 255, 1, 1, 0, 2, 255, 0, 2, 1}
	w := []float32{0.5, 2, 1}
	ce := func(opt nn.CrossEntropyOptions) func(in []*nn.Var) *nn.Var {
		return func(in []*nn.Var) *nn.Var { return nn.CrossEntropy(in[0], labelsNC, opt) }
	}
	// kind says how to condition the inputs: "ce" logits alone, "bce"
	// logits and targets in [0, 1], "diff" input and target whose difference
	// stays off the kinks at 0 and ±0.5.
	cases := []struct {
		name   string
		kind   string
		shapes [][]int
		f      func(in []*nn.Var) *nn.Var
	}{
		{"CrossEntropy/NC/mean", "ce", [][]int{{4, 3}}, ce(nn.CrossEntropyOptions{IgnoreIndex: &ignore})},
		{"CrossEntropy/NC/weight/smooth=0.1/sum", "ce", [][]int{{4, 3}},
			ce(nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w, LabelSmoothing: 0.1, Reduction: nn.ReductionSum})},
		{"CrossEntropy/NC/smooth=0.3/none", "ce", [][]int{{4, 3}},
			ce(nn.CrossEntropyOptions{IgnoreIndex: &ignore, LabelSmoothing: 0.3, Reduction: nn.ReductionNone})},
		{"CrossEntropy/NCHW/weight/mean", "ce", [][]int{{2, 3, 2, 3}}, func(in []*nn.Var) *nn.Var {
			return nn.CrossEntropy(in[0], labelsSeg, nn.CrossEntropyOptions{IgnoreIndex: &ignore, Weight: w})
		}},
		{"BCEWithLogits/mean", "bce", [][]int{{3, 4}, {3, 4}}, func(in []*nn.Var) *nn.Var {
			return nn.BinaryCrossEntropyWithLogits(in[0], in[1], nn.BCEOptions{})
		}},
		{"BCEWithLogits/weight/pos_weight/none", "bce", [][]int{{3, 4}, {3, 4}}, func(in []*nn.Var) *nn.Var {
			return nn.BinaryCrossEntropyWithLogits(in[0], in[1], nn.BCEOptions{
				Weight:    tensor.FromData([]float32{0.5, 2, 1}, 3, 1),
				PosWeight: tensor.FromData([]float32{1, 3, 0.5, 2}, 4),
				Reduction: nn.ReductionNone})
		}},
		{"L1Loss/mean", "diff", [][]int{{3, 4}, {3, 4}}, func(in []*nn.Var) *nn.Var { return nn.L1Loss(in[0], in[1], nn.ReductionMean) }},
		{"SmoothL1Loss/beta=0.5/sum", "diff", [][]int{{3, 4}, {3, 4}}, func(in []*nn.Var) *nn.Var {
			return nn.SmoothL1Loss(in[0], in[1], 0.5, nn.ReductionSum)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inputs []*tensor.Tensor
			for i, s := range c.shapes {
				x := randT(uint64(40+i), s...)
				for j, v := range x.Data() {
					x.Data()[j] = 2 * v
				}
				inputs = append(inputs, x)
			}
			switch c.kind {
			case "bce":
				for j, v := range inputs[1].Data() {
					inputs[1].Data()[j] = (v + 2) / 4
				}
			case "diff":
				for j := range inputs[1].Data() {
					d := math.Abs(float64(inputs[0].Data()[j] - inputs[1].Data()[j]))
					if d < 0.05 || math.Abs(d-0.5) < 0.05 {
						inputs[1].Data()[j] -= 0.2
					}
				}
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in) }, inputs...)
		})
	}
}

func TestBoxLossGrad(t *testing.T) {
	// Boxes chosen by hand: strongly and weakly overlapping, nested, disjoint
	// (no coordinates tie, so every min/max has a unique side).
	pred := tensor.FromData([]float32{
		0, 0, 4, 3,
		1, 1, 5, 6,
		2.2, 2.1, 3.3, 3.6,
		0, 0, 1, 1,
	}, 4, 4)
	target := tensor.FromData([]float32{
		0.5, 0.3, 4.2, 3.4,
		3, 2.5, 7, 9,
		1.1, 1.4, 5.2, 6.3,
		3, 3.5, 4.5, 5,
	}, 4, 4)
	cases := []struct {
		name string
		f    func(p, t *nn.Var) *nn.Var
	}{
		{"IoULoss/log", func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossLog, 1e-6, nn.ReductionNone) }},
		{"IoULoss/square/mean", func(p, t *nn.Var) *nn.Var { return nn.IoULoss(p, t, nn.IoULossSquare, 1e-6, nn.ReductionMean) }},
		{"GIoULoss", func(p, t *nn.Var) *nn.Var { return nn.GIoULoss(p, t, 1e-6, nn.ReductionNone) }},
		{"CIoULoss", func(p, t *nn.Var) *nn.Var { return nn.CIoULoss(p, t, 1e-6, nn.ReductionNone) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The disjoint pair's log-IoU sits on the eps clamp (zero
			// gradient) and stays there under the finite-difference steps.
			nntest.GradCheck{Eps: 1e-3, AbsTol: 2e-3}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in[0], in[1]) }, pred.Clone(), target.Clone())
		})
	}
}

// TestCrossEntropyLayouts checks that the spatial layout [N, C, S] (the
// class axis strided, positions in chunks) and the row layout [N·S, C] give
// the same losses and gradients, over more positions than one chunk holds.
func TestCrossEntropyLayouts(t *testing.T) {
	const s, c = 600, 5
	x := randT(8, 1, c, s)
	labels := make([]int, s)
	for i := range labels {
		labels[i] = (i * 7) % (c + 1)
		if labels[i] == c {
			labels[i] = -100
		}
	}
	for _, red := range []nn.Reduction{nn.ReductionMean, nn.ReductionNone} {
		opt := nn.CrossEntropyOptions{Weight: []float32{1, 2, 0.5, 1, 3}, LabelSmoothing: 0.1, Reduction: red}
		run := func(rows bool) (loss, grad *tensor.Tensor) {
			tp := nn.NewTape(nil, nil)
			leaf := tp.Leaf(x.Clone())
			in := leaf
			if rows {
				in = nn.Reshape(nn.Permute(leaf, 0, 2, 1), s, c)
			}
			l := nn.CrossEntropy(in, labels, opt)
			tp.BackwardFrom(l, tensor.Full(1, l.Shape()...))
			return l.Value.Reshape(-1), leaf.Grad
		}
		l1, g1 := run(false)
		l2, g2 := run(true)
		nntest.AssertClose(t, red.String()+" loss", l1, l2, 1e-6)
		nntest.AssertClose(t, red.String()+" gradient", g1, g2, 1e-6)
	}
}

// TestCrossEntropyThreads checks that the reduced loss is bit-identical
// whatever the number of threads.
func TestCrossEntropyThreads(t *testing.T) {
	x := randT(9, 2, 7, 40, 50)
	labels := make([]uint8, 2*40*50)
	for i := range labels {
		labels[i] = uint8(i * 5 % 7)
	}
	loss := func(procs int) float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return nn.CrossEntropy(nn.Constant(x), labels, nn.CrossEntropyOptions{}).Data()[0]
	}
	if a, b := loss(1), loss(4); a != b {
		t.Errorf("loss with 1 thread %v, with 4 threads %v", a, b)
	}
}

func TestLossPanics(t *testing.T) {
	x := nn.Constant(tensor.New(2, 3))
	expectPanic(t, "nn: shape mismatch: CrossEntropy logits [2 3] with 3 labels, want 2", func() { nn.CrossEntropy(x, []int{0, 1, 2}, nn.CrossEntropyOptions{}) })
	expectPanic(t, "nn: target label out of range: CrossEntropy label 3 at position 1 for 3 classes (ignore index -100)", func() { nn.CrossEntropy(x, []int{0, 3}, nn.CrossEntropyOptions{}) })
	expectPanic(t, "label 0.5 at 1 is not a whole number", func() { nn.CrossEntropy(x, []float32{0, 0.5}, nn.CrossEntropyOptions{}) })
	expectPanic(t, "with 2 class weights", func() { nn.CrossEntropy(x, []int{0, 1}, nn.CrossEntropyOptions{Weight: []float32{1, 2}}) })
	expectPanic(t, "label smoothing 1.5 outside [0, 1]", func() { nn.CrossEntropy(x, []int{0, 1}, nn.CrossEntropyOptions{LabelSmoothing: 1.5}) })
	expectPanic(t, "nn: shape mismatch: L1Loss input [2 3] and target [3 2]", func() { nn.L1Loss(x, nn.Constant(tensor.New(3, 2)), nn.ReductionMean) })
	expectPanic(t, "pos_weight [2] does not broadcast to input [2 3]", func() {
		nn.BinaryCrossEntropyWithLogits(x, x, nn.BCEOptions{PosWeight: tensor.New(2)})
	})
	expectPanic(t, "IoULoss pred [2 3] and target [2 3], want [N, 4] each", func() { nn.IoULoss(x, x, nn.IoULossLog, 1e-6, nn.ReductionMean) })
	expectPanic(t, "reduction Reduction(7)", func() { nn.L1Loss(x, x, nn.Reduction(7)) })
}

// BenchmarkCrossEntropySeg times forward and backward of a segmentation
// loss the size of an ADE20K decode head's output at 1/4 of 512×512.
func BenchmarkCrossEntropySeg(b *testing.B) {
	logits := randT(1, 2, 150, 128, 128)
	labels := make([]uint8, 2*128*128)
	rng := tensor.NewRNG(2)
	for i := range labels {
		labels[i] = uint8(rng.Intn(151))
		if labels[i] == 150 {
			labels[i] = 255
		}
	}
	ignore := 255
	pool := tensor.NewPool()
	for b.Loop() {
		tp := nn.NewTape(pool, nil)
		x := tp.Leaf(logits)
		tp.Backward(nn.CrossEntropy(x, labels, nn.CrossEntropyOptions{IgnoreIndex: &ignore}))
		tp.Release()
	}
}

// BenchmarkSoftmaxChannels times Softmax over the channel axis of an NCHW map.
func BenchmarkSoftmaxChannels(b *testing.B) {
	x := randT(1, 2, 150, 128, 128)
	pool := tensor.NewPool()
	for b.Loop() {
		tp := nn.NewTape(pool, nil)
		y := nn.Softmax(tp.Leaf(x), 1)
		tp.BackwardFrom(y, y.Value)
		tp.Release()
	}
}
