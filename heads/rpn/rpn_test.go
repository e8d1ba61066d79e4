package rpn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/rpn"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// goldenHead builds the head of tools/reference/golden_heads.py: 6 input
// channels, 5 features, anchors of strides 4 and 8 with scale 2, and loads
// its weights.
func goldenHead(t *testing.T, g map[string]*tensor.Tensor) *rpn.Head {
	t.Helper()
	o := rpn.DefaultHeadOptions()
	o.InChannels, o.FeatChannels = 6, 5
	o.AnchorGenerator.Strides = []int{4, 8}
	o.AnchorGenerator.Scales = []float64{2}
	h, err := rpn.New(o)
	if err != nil {
		t.Fatal(err)
	}
	sd := map[string]*tensor.Tensor{}
	for _, k := range nn.StateKeys(h) {
		sd[k] = nntest.Golden(t, g, k)
	}
	if _, err := nn.LoadStateDict(h, sd, true); err != nil {
		t.Fatal(err)
	}
	return h
}

func boxesOf(x *tensor.Tensor) []detops.Box {
	d := x.Data()
	out := make([]detops.Box, len(d)/4)
	for i := range out {
		copy(out[i][:], d[4*i:4*i+4])
	}
	return out
}

// TestGoldenLoss compares the targets, both losses and every gradient with
// the PyTorch reference, sampling every valid anchor so that the sample is
// deterministic.
func TestGoldenLoss(t *testing.T) {
	g := nntest.LoadGolden(t, "testdata/rpn.safetensors")
	h := goldenHead(t, g)
	tp := nn.NewTape(nil, tensor.NewRNG(0))
	defer tp.Release()
	feats := []*nn.Var{tp.Leaf(nntest.Golden(t, g, "feat0").Clone()), tp.Leaf(nntest.Golden(t, g, "feat1").Clone())}
	shapes := [][2]int{{30, 37}, {32, 40}}
	gts := []rpn.GT{{Boxes: boxesOf(nntest.Golden(t, g, "gt0"))}, {Boxes: boxesOf(nntest.Golden(t, g, "gt1"))}}
	o := rpn.DefaultTrainOptions()
	o.Sampler.Num = 1 << 20
	cls, reg := h.Forward(feats)
	targets := h.Targets(cls, shapes, gts, o, tp.RNG())
	if want := float64(nntest.Golden(t, g, "avg_factor").Data()[0]); targets.AvgFactor != want {
		t.Errorf("avg_factor %v, want %v", targets.AvgFactor, want)
	}
	npos := 0.0
	for _, l := range targets.Labels {
		for _, v := range l.Data() {
			npos += float64(v)
		}
	}
	if want := nntest.Golden(t, g, "num_pos0").Data()[0] + nntest.Golden(t, g, "num_pos1").Data()[0]; npos != float64(want) {
		t.Errorf("%v positive anchors, want %v", npos, want)
	}
	lc, lb := h.Loss(cls, reg, targets)
	nntest.AssertClose(t, "loss_cls", lc.Value.Reshape(1), nntest.Golden(t, g, "loss_cls"), 1e-5)
	nntest.AssertClose(t, "loss_bbox", lb.Value.Reshape(1), nntest.Golden(t, g, "loss_bbox"), 1e-5)
	tp.Backward(nn.Add(lc, lb))
	for _, p := range nn.NamedParams(h) {
		nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, nntest.Golden(t, g, "grad/"+p.Name), 1e-4)
	}
	for l, f := range feats {
		nntest.AssertClose(t, fmt.Sprint("grad feat", l), f.Grad, nntest.Golden(t, g, fmt.Sprint("grad/feat", l)), 1e-4)
	}
}

// TestGoldenProposals compares proposals (top 20 per level, NMS 0.7 per
// level, 15 kept) with the reference.
func TestGoldenProposals(t *testing.T) {
	g := nntest.LoadGolden(t, "testdata/rpn.safetensors")
	h := goldenHead(t, g)
	tp := nn.NewInferenceTape(nil)
	cls, reg := h.Forward([]*nn.Var{tp.Input(nntest.Golden(t, g, "feat0")), tp.Input(nntest.Golden(t, g, "feat1"))})
	o := rpn.DefaultTestProposalOptions()
	o.NMSPre, o.MaxPerImg = 20, 15
	props := h.Proposals(cls, reg, [][2]int{{30, 37}, {32, 40}}, o)
	for i, p := range props {
		want := boxesOf(nntest.Golden(t, g, fmt.Sprint("proposals", i)))
		ws := nntest.Golden(t, g, fmt.Sprint("proposal_scores", i)).Data()
		if len(p.Boxes) != len(want) {
			t.Fatalf("image %d: %d proposals, want %d", i, len(p.Boxes), len(want))
		}
		got := make([]float32, 0, 4*len(p.Boxes))
		for _, b := range p.Boxes {
			got = append(got, b[:]...)
		}
		nntest.AssertClose(t, fmt.Sprint("proposals ", i), tensor.FromData(got, len(want), 4), nntest.Golden(t, g, fmt.Sprint("proposals", i)), 1e-5)
		nntest.AssertClose(t, fmt.Sprint("scores ", i), tensor.FromData(p.Scores, len(ws)), tensor.FromData(ws, len(ws)), 1e-6)
	}
}

// TestLossGrad checks the gradients of both losses by finite differences
// on one 2×2 level with hand-made targets (a positive, a negative and an
// unsampled anchor per position).
func TestLossGrad(t *testing.T) {
	for _, loss := range []string{"L1Loss", "SmoothL1Loss"} {
		t.Run(loss, func(t *testing.T) {
			o := rpn.DefaultHeadOptions()
			o.InChannels, o.FeatChannels = 2, 2
			o.AnchorGenerator.Strides = []int{8}
			o.LossBBox = rpn.LossOptions{Type: loss, Beta: 0.5, LossWeight: 2}
			h, err := rpn.New(o)
			if err != nil {
				t.Fatal(err)
			}
			tg := rpn.Targets{
				Labels:       []*tensor.Tensor{tensor.FromData([]float32{1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0}, 1, 3, 2, 2)},
				LabelWeights: []*tensor.Tensor{tensor.FromData([]float32{1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1}, 1, 3, 2, 2)},
				BoxTargets:   []*tensor.Tensor{tensor.New(1, 12, 2, 2)},
				BoxWeights:   []*tensor.Tensor{tensor.New(1, 12, 2, 2)},
				AvgFactor:    8,
			}
			rng := tensor.NewRNG(3)
			for _, pos := range []int{0, 3} { // anchor 0 at position 0 and 3
				for c := 0; c < 4; c++ {
					tg.BoxTargets[0].Data()[c*4+pos] = float32(rng.Uniform(-1, 1))
					tg.BoxWeights[0].Data()[c*4+pos] = 1
				}
			}
			cls, reg := tensor.New(1, 3, 2, 2), tensor.New(1, 12, 2, 2)
			rng.FillUniform(cls, -2, 2)
			rng.FillUniform(reg, -1.5, 1.5)
			nntest.GradCheck{}.Run(t, func(tp *nn.Tape, in []*nn.Var) *nn.Var {
				lc, lb := h.Loss(in[:1], in[1:], tg)
				return nn.Add(lc, lb)
			}, cls, reg)
		})
	}
}

// TestAnchorsInside checks the valid flags with and without an allowed
// border: anchors of positions outside the unpadded image are never
// targets; with border 0, neither are anchors crossing the image edge.
func TestAnchorsInside(t *testing.T) {
	o := rpn.DefaultHeadOptions()
	o.InChannels = 1
	o.AnchorGenerator.Strides = []int{8}
	o.AnchorGenerator.Scales = []float64{1}
	o.AnchorGenerator.Ratios = []float64{1}
	h, err := rpn.New(o)
	if err != nil {
		t.Fatal(err)
	}
	// 3×3 map of 8-pixel anchors centred at 0, 8, 16 on a 20×13 image: the
	// unpadded image covers the first two rows.
	cases := []struct {
		border float64
		want   string
	}{
		{-1, "111111000"},
		{0, "000010000"},
		{2, "000011000"},
	}
	for _, c := range cases {
		_, valid := h.ImageAnchors([][2]int{{3, 3}}, [2]int{13, 20}, c.border)
		var b strings.Builder
		for _, v := range valid {
			b.WriteByte("01"[btoi(v)])
		}
		if b.String() != c.want {
			t.Errorf("border %v: flags %s, want %s", c.border, b.String(), c.want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*rpn.HeadOptions)
		want   string
	}{
		{"type", func(o *rpn.HeadOptions) { o.Type = "RetinaHead" }, "RPNHead"},
		{"softmax", func(o *rpn.HeadOptions) { o.LossCls.UseSigmoid = false }, "use_sigmoid"},
		{"reg loss", func(o *rpn.HeadOptions) { o.LossBBox.Type = "IoULoss" }, "L1Loss"},
		{"stds", func(o *rpn.HeadOptions) { o.BBoxCoder.Stds[2] = 0 }, "target_stds"},
		{"channels", func(o *rpn.HeadOptions) { o.InChannels = 0 }, "in_channels"},
		{"anchors", func(o *rpn.HeadOptions) { o.AnchorGenerator.Ratios = nil }, "anchor_generator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := rpn.DefaultHeadOptions()
			o.InChannels = 4
			c.modify(&o)
			_, err := rpn.New(o)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "rpn: ") {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}
