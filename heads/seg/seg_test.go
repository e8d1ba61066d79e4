package seg

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

const goldenFile = "testdata/heads.safetensors"

// goldenHeads builds the heads of tools/reference/golden_seg.py with
// dropout 0, as the reference's training pass runs.
func goldenHeads(t *testing.T) map[string]DecodeHead {
	t.Helper()
	opts := func(in []int, idx []int, ch, classes int) HeadOptions {
		o := DefaultHeadOptions()
		o.InChannels = Ints{Values: in}
		o.InIndex = Ints{Values: idx}
		o.Channels, o.NumClasses, o.DropoutRatio = ch, classes, 0
		return o
	}
	uo := DefaultUPerHeadOptions()
	uo.HeadOptions = opts([]int{4, 6, 8, 10}, []int{0, 1, 2, 3}, 8, 5)
	uper, err := NewUPerHead(uo)
	if err != nil {
		t.Fatal(err)
	}
	fo := DefaultFPNHeadOptions()
	fo.HeadOptions = opts([]int{6, 6, 6, 6}, []int{0, 1, 2, 3}, 5, 4)
	fo.FeatureStrides = []int{4, 8, 16, 32}
	fpn, err := NewFPNHead(fo)
	if err != nil {
		t.Fatal(err)
	}
	co := DefaultFCNHeadOptions()
	co.HeadOptions = opts([]int{6}, []int{0}, 5, 3)
	co.InIndex.Scalar, co.InChannels.Scalar = true, true
	co.LossDecode.LossWeight = 0.4
	fcn, err := NewFCNHead(co)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]DecodeHead{"uper": uper, "fpn": fpn, "fcn": fcn}
}

func TestHeadsMatchPyTorch(t *testing.T) {
	g := nntest.LoadGolden(t, goldenFile)
	for _, name := range []string{"uper", "fpn", "fcn"} {
		t.Run(name, func(t *testing.T) {
			head := goldenHeads(t)[name]
			sd := map[string]*tensor.Tensor{}
			for k, v := range g {
				if key, ok := strings.CutPrefix(k, name+"/sd/"); ok {
					sd[key] = v
				}
			}
			rep, err := nn.LoadStateDict(head, sd, false)
			if err != nil {
				t.Fatalf("state dict: %v", err)
			}
			if len(rep.Unexpected) > 0 || len(rep.Mismatched) > 0 {
				t.Fatalf("state dict: %v", rep)
			}
			for _, k := range rep.Missing {
				if !strings.HasSuffix(k, "num_batches_tracked") {
					t.Fatalf("state dict: %s missing", k)
				}
			}
			var xs []*tensor.Tensor
			for i := 0; ; i++ {
				x, ok := g[fmt.Sprintf("%s/x%d", name, i)]
				if !ok {
					break
				}
				xs = append(xs, x)
			}

			// Evaluation mode: running statistics.
			nn.SetTraining(head, false)
			tp := nn.NewInferenceTape(nil)
			in := make([]*nn.Var, len(xs))
			for i, x := range xs {
				in[i] = tp.Input(x)
			}
			nntest.AssertClose(t, "y_eval", head.Forward(in).Value, nntest.Golden(t, g, name+"/y_eval"), 1e-4)

			// Training mode: batch statistics, the loss and its gradients.
			nn.SetTraining(head, true)
			nn.ZeroGrad(head)
			tp = nn.NewTape(nil, tensor.NewRNG(1))
			for i, x := range xs {
				in[i] = tp.Leaf(x.Clone())
			}
			y := head.Forward(in)
			nntest.AssertClose(t, "y_train", y.Value, nntest.Golden(t, g, name+"/y_train"), 1e-4)
			lt := nntest.Golden(t, g, name+"/labels")
			labels := make([]uint8, lt.Len())
			for i, v := range lt.Data() {
				labels[i] = uint8(v)
			}
			setClassWeight(head, nntest.Golden(t, g, name+"/class_weight").Data())
			loss, parts := head.Loss(y, labels, lt.Dim(1), lt.Dim(2))
			nntest.AssertClose(t, "loss", loss.Value.Reshape(1), nntest.Golden(t, g, name+"/loss"), 1e-5)
			if got := parts["loss_ce"]; math.Abs(got-float64(loss.Data()[0])) > 0 {
				t.Errorf("parts[loss_ce] = %v, loss %v", got, loss.Data()[0])
			}
			tp.Backward(loss)
			for i := range xs {
				nntest.AssertClose(t, fmt.Sprintf("grad_x%d", i), in[i].Grad, nntest.Golden(t, g, fmt.Sprintf("%s/grad_x%d", name, i)), 1e-4)
			}
			for _, p := range nn.NamedParams(head) {
				nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, nntest.Golden(t, g, name+"/grad/"+p.Name), 1e-4)
			}
			sdAfter := nn.StateDict(head)
			for k, v := range g {
				if key, ok := strings.CutPrefix(k, name+"/running_mean_after/"); ok {
					nntest.AssertClose(t, "running mean "+key, sdAfter[key], v, 1e-5)
				}
			}
		})
	}
}

// setClassWeight sets the loss's class weights of a head built here.
func setClassWeight(h DecodeHead, w []float32) {
	switch h := h.(type) {
	case *UPerHead:
		h.opts.LossDecode.ClassWeight = w
	case *FPNHead:
		h.opts.LossDecode.ClassWeight = w
	case *FCNHead:
		h.opts.LossDecode.ClassWeight = w
	}
}

// TestStateDictKeys checks mmseg's names, including the index gaps the
// Upsample layers leave in FPNHead's scale heads.
func TestStateDictKeys(t *testing.T) {
	heads := goldenHeads(t)
	cases := []struct {
		head string
		keys []string
	}{
		{"uper", []string{"conv_seg.weight", "conv_seg.bias", "psp_modules.0.1.conv.weight", "psp_modules.3.1.bn.running_var",
			"bottleneck.conv.weight", "lateral_convs.2.conv.weight", "fpn_convs.0.bn.weight", "fpn_bottleneck.conv.weight"}},
		{"fpn", []string{"scale_heads.0.0.conv.weight", "scale_heads.1.0.conv.weight", "scale_heads.2.2.conv.weight",
			"scale_heads.3.4.bn.num_batches_tracked"}},
		{"fcn", []string{"convs.0.conv.weight", "convs.1.bn.bias", "conv_cat.conv.weight"}},
	}
	for _, c := range cases {
		keys := map[string]bool{}
		for _, k := range nn.StateKeys(heads[c.head]) {
			keys[k] = true
		}
		for _, k := range c.keys {
			if !keys[k] {
				t.Errorf("%s: no key %q", c.head, k)
			}
		}
		if keys["conv.bias"] || keys["bottleneck.conv.bias"] || keys["convs.0.conv.bias"] {
			t.Errorf("%s: a conv followed by BN has a bias", c.head)
		}
	}
}

// TestLossGradCheck checks the loss (resize, cross-entropy with ignored
// pixels and class weights, mean over all pixels) against finite
// differences, for both averaging modes.
func TestLossGradCheck(t *testing.T) {
	for _, nonIgnore := range []bool{false, true} {
		t.Run(fmt.Sprintf("avg_non_ignore=%v", nonIgnore), func(t *testing.T) {
			o := DefaultFCNHeadOptions()
			o.InChannels, o.InIndex = Ints{Values: []int{3}}, Ints{Values: []int{0}}
			o.Channels, o.NumClasses = 3, 4
			o.LossDecode.ClassWeight = []float32{1, 0.5, 2, 1.5}
			o.LossDecode.LossWeight = 0.4
			o.LossDecode.AvgNonIgnore = nonIgnore
			h, err := NewFCNHead(o)
			if err != nil {
				t.Fatal(err)
			}
			const n, lh, lw = 2, 7, 6
			labels := make([]uint8, n*lh*lw)
			rng := tensor.NewRNG(3)
			for i := range labels {
				labels[i] = uint8(rng.Intn(4))
				if i%5 == 0 {
					labels[i] = 255
				}
			}
			logits := tensor.New(n, 4, 3, 4)
			rng.FillUniform(logits, -2, 2)
			nntest.GradCheck{Eps: 1e-2, Seed: 1}.Run(t, func(tp *nn.Tape, in []*nn.Var) *nn.Var {
				l, _ := h.Loss(in[0], labels, lh, lw)
				return l
			}, logits)
		})
	}
}

// TestLossAveraging checks the divisor against a loss computed by hand on
// logits of the label size: the mean of w[y]·(−log p_y) over all pixels,
// ignored ones counting zero.
func TestLossAveraging(t *testing.T) {
	o := DefaultFCNHeadOptions()
	o.InChannels, o.InIndex = Ints{Values: []int{2}}, Ints{Values: []int{0}}
	o.Channels, o.NumClasses = 2, 2
	o.LossDecode.ClassWeight = []float32{1, 3}
	h, err := NewFCNHead(o)
	if err != nil {
		t.Fatal(err)
	}
	// One image, 1×2 pixels: logits (0, 0) and (0, ln 3); labels 1 and 255.
	logits := tensor.FromData([]float32{0, 0, 0, float32(math.Log(3))}, 1, 2, 1, 2)
	loss, parts := h.Loss(nn.Constant(logits), []uint8{1, 255}, 1, 2)
	want := 3 * math.Log(2) / 2 // w[1]·(−log ½) over 2 pixels
	if got := float64(loss.Data()[0]); math.Abs(got-want) > 1e-6 {
		t.Errorf("loss %v, want %v", got, want)
	}
	if parts["acc_seg"] != 0 { // pixel 0 ties at class 0: wrong
		t.Errorf("acc_seg %v, want 0", parts["acc_seg"])
	}
}

func TestDropout2dDropsWholeChannels(t *testing.T) {
	tp := nn.NewTape(nil, tensor.NewRNG(7))
	x := tensor.Full(1, 4, 16, 3, 5)
	y := Dropout2d(tp.Input(x), 0.5, true)
	dropped := 0
	for p := 0; p < 4*16; p++ {
		plane := y.Data()[p*15 : (p+1)*15]
		for _, v := range plane {
			if v != plane[0] {
				t.Fatalf("plane %d mixes values %v and %v", p, plane[0], v)
			}
		}
		switch plane[0] {
		case 0:
			dropped++
		case 2:
		default:
			t.Fatalf("plane %d holds %v, want 0 or 2", p, plane[0])
		}
	}
	if dropped < 16 || dropped > 48 {
		t.Errorf("%d of 64 planes dropped at p=0.5", dropped)
	}
	if got := Dropout2d(tp.Input(x), 0.5, false); got.Value != x {
		t.Errorf("Dropout2d in evaluation mode changed its input")
	}
}

// TestRegistryBuild builds each head from YAML as a config would, with
// mmseg's keys, SyncBN and a scalar in_index.
func TestRegistryBuild(t *testing.T) {
	cases := []struct {
		yaml    string
		classes int
		err     string
	}{
		{`{type: UPerHead, in_channels: [4, 6, 8, 10], in_index: [0, 1, 2, 3], pool_scales: [1, 2, 3, 6], channels: 8,
  dropout_ratio: 0.1, num_classes: 7, norm_cfg: {type: SyncBN, requires_grad: true}, align_corners: false,
  loss_decode: {type: CrossEntropyLoss, use_sigmoid: false, loss_weight: 1.0}}`, 7, ""},
		{`{type: FCNHead, in_channels: 8, in_index: 2, channels: 4, num_convs: 1, concat_input: false, num_classes: 3,
  loss_decode: {type: CrossEntropyLoss, loss_weight: 0.4}}`, 3, ""},
		{`{type: FPNHead, in_channels: [6, 6, 6, 6], in_index: [0, 1, 2, 3], feature_strides: [4, 8, 16, 32], channels: 5, num_classes: 2}`, 2, ""},
		{`{type: FCNHead, in_channels: [8, 8], in_index: [1, 2], channels: 4, num_classes: 3}`, 0, "input_transform"},
		{`{type: UPerHead, in_channels: [4], in_index: [0], channels: 8, num_classes: 2, norm_cfg: {type: GN}}`, 0, "norm_cfg"},
		{`{type: UPerHead, in_channels: [4], in_index: [0], channels: 8, num_classes: 2, dropout: 0.1}`, 0, "dropout"},
	}
	for i, c := range cases {
		n, err := config.Parse("case.yaml", []byte(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		h, err := Registry.Build(n)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("case %d: error %v, want one mentioning %q", i, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if h.NumClasses() != c.classes {
			t.Errorf("case %d: %d classes, want %d", i, h.NumClasses(), c.classes)
		}
	}
}

// TestForwardShapes runs each head in training mode on odd sizes and
// checks the logits' size and that every parameter gets a gradient.
func TestForwardShapes(t *testing.T) {
	heads := goldenHeads(t)
	sizes := [][2]int{{9, 7}, {5, 4}, {3, 2}, {2, 1}}
	chans := map[string][]int{"uper": {4, 6, 8, 10}, "fpn": {6, 6, 6, 6}, "fcn": {6}}
	for name, h := range heads {
		nn.SetTraining(h, true)
		tp := nn.NewTape(nil, tensor.NewRNG(1))
		var in []*nn.Var
		for i, c := range chans[name] {
			x := tensor.New(2, c, sizes[i][0], sizes[i][1])
			tensor.NewRNG(uint64(i)).FillUniform(x, -1, 1)
			in = append(in, tp.Leaf(x))
		}
		y := h.Forward(in)
		if s := y.Shape(); s[0] != 2 || s[1] != h.NumClasses() || s[2] != 9 || s[3] != 7 {
			t.Errorf("%s: logits %v, want [2 %d 9 7]", name, s, h.NumClasses())
		}
		labels := make([]uint8, 2*36*28)
		loss, _ := h.Loss(y, labels, 36, 28)
		tp.Backward(loss)
		for _, p := range nn.NamedParams(h) {
			if p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0 {
				t.Errorf("%s: parameter %s got no gradient", name, p.Name)
			}
		}
	}
}
