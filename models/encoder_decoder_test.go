package models

import (
	"strings"
	"testing"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/heads/seg"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// segTestBackbone is a four-stage convolutional backbone small enough for
// tests: a 4×4 stride-4 patch conv, then 3×3 stride-2 convs, each with
// ReLU, giving maps at strides 4, 8, 16, 32.
type segTestBackbone struct {
	nn.ModuleBase
	convs []*nn.Conv2d
	chans []int
}

type segTestBackboneOptions struct {
	Channels []int  `yaml:"channels"`
	Seed     uint64 `yaml:"seed"`
}

func newSegTestBackbone(o segTestBackboneOptions) (backbone.Backbone, error) {
	b := &segTestBackbone{chans: o.Channels}
	rng := tensor.NewRNG(o.Seed)
	in := 3
	for i, c := range o.Channels {
		k, opt := [2]int{3, 3}, nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
		if i == 0 {
			k, opt = [2]int{4, 4}, nn.Conv2dOptions{Stride: [2]int{4, 4}}
		}
		conv := nn.NewConv2d(in, c, k, rng, opt)
		b.convs = append(b.convs, conv)
		b.RegisterModule("conv"+string(rune('0'+i)), conv)
		in = c
	}
	return b, nil
}

func (b *segTestBackbone) Forward(x *nn.Var) []*nn.Var {
	var out []*nn.Var
	for _, c := range b.convs {
		x = nn.ReLU(c.Forward(x))
		out = append(out, x)
	}
	return out
}

func (b *segTestBackbone) OutChannels() []int { return b.chans }
func (b *segTestBackbone) OutStrides() []int  { return []int{4, 8, 16, 32}[:len(b.chans)] }

func init() {
	config.RegisterOptions(backbone.Registry, "SegTestBackbone", segTestBackboneOptions{Channels: []int{6, 8, 8, 8}}, newSegTestBackbone)
}

const segTestConfig = `
model:
  type: EncoderDecoder
  backbone: {type: SegTestBackbone, channels: [6, 8, 8, 8]}
  decode_head:
    type: UPerHead
    in_index: [0, 1, 2, 3]
    pool_scales: [1, 2, 3, 6]
    channels: 8
    dropout_ratio: 0.1
    num_classes: 3
    norm_cfg: {type: SyncBN, requires_grad: true}
    align_corners: false
    loss_decode: {type: CrossEntropyLoss, use_sigmoid: false, loss_weight: 1.0}
  auxiliary_head:
    type: FCNHead
    in_index: 2
    channels: 4
    num_convs: 1
    concat_input: false
    num_classes: 3
    norm_cfg: {type: SyncBN, requires_grad: true}
    loss_decode: {type: CrossEntropyLoss, loss_weight: 0.4}
  test_cfg: {mode: whole}
`

func buildSegTestModel(t *testing.T, extra string) *EncoderDecoder {
	t.Helper()
	n, err := config.Parse("seg_test.yaml", []byte(segTestConfig+extra))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Registry.Build(n.Field("model"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*EncoderDecoder)
}

// synthSegBatch makes n images of h×w whose pixels are coloured by class:
// class 0 background, class 1 a rectangle, class 2 a disc, positions drawn
// from rng, with noise; some pixels are labelled 255 (ignored).
func synthSegBatch(rng *tensor.RNG, n, h, w int) *datasets.Batch {
	in := tensor.New(n, 3, h, w)
	labels := make([]uint8, n*h*w)
	colours := [3][3]float32{{-1, 0.5, 0}, {1, -1, 0.5}, {0, 1, -1}}
	b := &datasets.Batch{Inputs: in, SegMaps: labels}
	for i := 0; i < n; i++ {
		rx, ry := rng.Intn(w/2), rng.Intn(h/2)
		cx, cy, r := w/4+rng.Intn(w/2), h/4+rng.Intn(h/2), h/5+rng.Intn(h/6)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := 0
				if x >= rx && x < rx+w/3 && y >= ry && y < ry+h/3 {
					c = 1
				}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
					c = 2
				}
				labels[(i*h+y)*w+x] = uint8(c)
				if rng.Float64() < 0.02 {
					labels[(i*h+y)*w+x] = 255
				}
				for ch := 0; ch < 3; ch++ {
					in.Data()[((i*3+ch)*h+y)*w+x] = colours[c][ch] + float32(rng.Normal(0, 0.2))
				}
			}
		}
		b.Samples = append(b.Samples, &datasets.Sample{Meta: datasets.Meta{ImgShape: [2]int{h, w}, OriShape: [2]int{h, w}}})
	}
	return b
}

func TestEncoderDecoderStateKeys(t *testing.T) {
	m := buildSegTestModel(t, "")
	keys := map[string]bool{}
	for _, k := range nn.StateKeys(m) {
		keys[k] = true
	}
	for _, k := range []string{"backbone.conv0.weight", "decode_head.conv_seg.weight", "decode_head.psp_modules.0.1.conv.weight",
		"decode_head.lateral_convs.0.conv.weight", "auxiliary_head.convs.0.conv.weight", "auxiliary_head.conv_seg.bias"} {
		if !keys[k] {
			t.Errorf("no state key %q", k)
		}
	}
	// in_channels of the auxiliary head came from the backbone's stage 2.
	in := m.AuxHeads[0].(interface{ Options() seg.HeadOptions }).Options().InChannels
	if len(in.Values) != 1 || in.Values[0] != 8 || !in.Scalar {
		t.Errorf("auxiliary head in_channels %+v, want the scalar 8 of stage 2", in)
	}
}

func TestEncoderDecoderTrains(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, true)
	groups := optim.BuildGroups(m, 0.01, 0, optim.ParamwiseOptions{})
	for _, g := range groups {
		g.LR = g.BaseLR
	}
	opt := optim.NewAdamW(groups, optim.DefaultAdamWOptions())
	rng := tensor.NewRNG(1)
	var first, last float64
	const iters = 40
	for it := 0; it < iters; it++ {
		b := synthSegBatch(rng, 2, 32, 32)
		tp := nn.NewTape(nil, tensor.NewRNG(uint64(it)))
		loss, parts, err := m.Loss(tp, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"decode.loss_ce", "decode.acc_seg", "aux.loss_ce", "aux.acc_seg"} {
			if _, ok := parts[k]; !ok {
				t.Fatalf("parts %v lack %s", parts, k)
			}
		}
		if d, a := parts["decode.loss_ce"]+parts["aux.loss_ce"], float64(loss.Data()[0]); d-a > 1e-5 || a-d > 1e-5 {
			t.Fatalf("loss %v is not decode + aux = %v", a, d)
		}
		lv := float64(loss.Data()[0])
		optim.ZeroGrad(groups)
		tp.Backward(loss)
		opt.Step()
		tp.Release()
		// Average the first and last five iterations: batches differ.
		if it < 5 {
			first += lv / 5
		}
		if it >= iters-5 {
			last += lv / 5
		}
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < 0.6*first) {
		t.Errorf("loss fell from %.4f to %.4f only", first, last)
	}
	// The trained model segments a new batch mostly right.
	nn.SetTraining(m, false)
	b := synthSegBatch(tensor.NewRNG(99), 2, 32, 32)
	res, err := m.Predict(nn.NewInferenceTape(nil), b)
	if err != nil {
		t.Fatal(err)
	}
	right, total := 0, 0
	for i, r := range res {
		for p, v := range r.SegMap.Pix {
			if l := b.SegMaps[i*32*32+p]; l != 255 {
				total++
				if l == v {
					right++
				}
			}
		}
	}
	if acc := float64(right) / float64(total); acc < 0.7 {
		t.Errorf("pixel accuracy after training %.3f, want >= 0.7", acc)
	}
}

func TestLossRejectsOutOfRangeLabels(t *testing.T) {
	m := buildSegTestModel(t, "")
	b := synthSegBatch(tensor.NewRNG(1), 1, 32, 32)
	b.SegMaps[5] = 7
	_, _, err := m.Loss(nn.NewTape(nil, tensor.NewRNG(0)), b)
	if err == nil || !strings.Contains(err.Error(), "label 7") {
		t.Errorf("error %v, want one naming label 7", err)
	}
}

// predictWith runs Predict with the given test config on a fresh copy of
// the batch's inputs.
func predictWith(t *testing.T, m *EncoderDecoder, c SegTestConfig, b *datasets.Batch) []Result {
	t.Helper()
	if err := m.SetTestConfig(c); err != nil {
		t.Fatal(err)
	}
	res, err := m.Predict(nn.NewInferenceTape(nil), b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAugmentationWithOneRatioIsSingleScale: img_ratios [1.0] without flip
// gives exactly the single-scale prediction, also with resizing to an
// original size that differs from the network's input.
func TestAugmentationWithOneRatioIsSingleScale(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, false)
	randomizeBN(m)
	b := synthSegBatch(tensor.NewRNG(5), 2, 32, 40)
	b.Samples[0].Meta.OriShape = [2]int{45, 50}
	b.Samples[1].Meta.OriShape = [2]int{20, 27}
	single := predictWith(t, m, SegTestConfig{Mode: "whole"}, b)
	aug := predictWith(t, m, SegTestConfig{Mode: "whole", ImgRatios: []float64{1.0}}, b)
	for i := range single {
		s, a := single[i].SegMap, aug[i].SegMap
		if s.W != b.Samples[i].Meta.OriShape[1] || s.H != b.Samples[i].Meta.OriShape[0] {
			t.Errorf("sample %d: seg map %dx%d, want original %v", i, s.H, s.W, b.Samples[i].Meta.OriShape)
		}
		if s.W != a.W || s.H != a.H {
			t.Fatalf("sample %d: sizes %dx%d and %dx%d", i, s.H, s.W, a.H, a.W)
		}
		diff := 0
		for p := range s.Pix {
			if s.Pix[p] != a.Pix[p] {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("sample %d: %d of %d pixels differ between single scale and img_ratios [1.0]", i, diff, len(s.Pix))
		}
	}
	// Several classes must be predicted, or the comparison says little.
	seen := map[uint8]bool{}
	for _, r := range single {
		for _, v := range r.SegMap.Pix {
			seen[v] = true
		}
	}
	if len(seen) < 2 {
		t.Errorf("the untrained model predicts only %v; the test needs varied output", seen)
	}
}

// TestFlipAugmentation checks flip test-time augmentation against the mean
// of the softmax of the logits of the image and of its mirror image
// (mirrored back), computed here from Inference.
func TestFlipAugmentation(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, false)
	randomizeBN(m)
	b := synthSegBatch(tensor.NewRNG(6), 1, 32, 32)
	got := predictWith(t, m, SegTestConfig{Mode: "whole", Flip: true}, b)[0].SegMap
	tp := nn.NewInferenceTape(nil)
	mirror := func(x *tensor.Tensor) *tensor.Tensor {
		s := x.Shape()
		out := tensor.New(s...)
		for p := 0; p < s[0]*s[1]*s[2]; p++ {
			for xx := 0; xx < s[3]; xx++ {
				out.Data()[p*s[3]+xx] = x.Data()[p*s[3]+s[3]-1-xx]
			}
		}
		return out
	}
	p0 := nn.Softmax(tp.Input(m.Inference(tp, b.Inputs)), 1).Value
	p1 := nn.Softmax(tp.Input(mirror(m.Inference(tp, mirror(b.Inputs)))), 1).Value
	for px := 0; px < 32*32; px++ {
		best, arg := float32(-1), 0
		for k := 0; k < 3; k++ {
			if v := p0.Data()[k*1024+px] + p1.Data()[k*1024+px]; v > best {
				best, arg = v, k
			}
		}
		if int(got.Pix[px]) != arg {
			t.Fatalf("pixel %d: class %d, want %d", px, got.Pix[px], arg)
		}
	}
}

// TestSlideInference: windows covering the image give the whole-image
// logits; overlapping windows average the windows' logits where they
// overlap (checked against the windows run one by one).
func TestSlideInference(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, false)
	randomizeBN(m)
	b := synthSegBatch(tensor.NewRNG(7), 2, 32, 48)
	tp := nn.NewInferenceTape(nil)
	whole := m.Inference(tp, b.Inputs)
	for _, c := range []SegTestConfig{
		{Mode: "slide", CropSize: [2]int{32, 48}, Stride: [2]int{16, 16}},
		{Mode: "slide", CropSize: [2]int{64, 64}, Stride: [2]int{32, 32}},
	} {
		if err := m.SetTestConfig(c); err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(m.Inference(tp, b.Inputs), whole); d != 0 {
			t.Errorf("crop %v covering the image: max diff %g from whole inference", c.CropSize, d)
		}
	}
	// Crop 32×32, stride 16 on 32×48: windows at columns 0..31 and 16..47.
	if err := m.SetTestConfig(SegTestConfig{Mode: "slide", CropSize: [2]int{32, 32}, Stride: [2]int{16, 16}}); err != nil {
		t.Fatal(err)
	}
	got := m.Inference(tp, b.Inputs)
	crop := func(x0 int) *tensor.Tensor {
		out := tensor.New(2, 3, 32, 32)
		for p := 0; p < 2*3*32; p++ {
			copy(out.Data()[p*32:][:32], b.Inputs.Data()[p*48+x0:][:32])
		}
		return m.EncodeDecode(tp.Input(out)).Value
	}
	left, right := crop(0), crop(16)
	want := tensor.New(2, 3, 32, 48)
	for p := 0; p < 2*3*32; p++ {
		for x := 0; x < 48; x++ {
			var v float32
			switch {
			case x < 16:
				v = left.Data()[p*32+x]
			case x < 32:
				v = (left.Data()[p*32+x] + right.Data()[p*32+x-16]) / 2
			default:
				v = right.Data()[p*32+x-16]
			}
			want.Data()[p*48+x] = v
		}
	}
	if d := tensor.MaxAbsDiff(got, want); d > 1e-6 {
		t.Errorf("overlapping windows: max diff %g", d)
	}
}

// TestPredictUndoesPadding: a sample smaller than the batch is cropped to
// its img_shape before resizing, so its prediction equals the one it gets
// alone in an unpadded batch.
func TestPredictUndoesPadding(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, false)
	randomizeBN(m)
	alone := synthSegBatch(tensor.NewRNG(8), 1, 32, 32)
	alone.Samples[0].Meta.OriShape = [2]int{40, 40}
	want := predictWith(t, m, SegTestConfig{}, alone)[0].SegMap
	// The same image padded to 64×64: only the crop of the logits matters,
	// but the network sees the padding, so compare the sizes and most pixels.
	padded := &datasets.Batch{Inputs: tensor.New(1, 3, 64, 64), Samples: alone.Samples}
	for p := 0; p < 3; p++ {
		for y := 0; y < 32; y++ {
			copy(padded.Inputs.Data()[(p*64+y)*64:][:32], alone.Inputs.Data()[(p*32+y)*32:][:32])
		}
	}
	got := predictWith(t, m, SegTestConfig{}, padded)[0].SegMap
	if got.W != 40 || got.H != 40 {
		t.Fatalf("seg map %dx%d, want 40x40", got.H, got.W)
	}
	same := 0
	for i := range got.Pix {
		if got.Pix[i] == want.Pix[i] {
			same++
		}
	}
	if same < len(got.Pix)/2 {
		t.Errorf("only %d of %d pixels agree with the unpadded prediction", same, len(got.Pix))
	}
}

func TestTestConfigErrors(t *testing.T) {
	for _, extra := range []string{
		"  test_cfg: {mode: slide}\n",
		"  test_cfg: {mode: tiles}\n",
		"  test_cfg: {img_ratios: [0.5, -1]}\n",
	} {
		n, err := config.Parse("seg_test.yaml", []byte(strings.Replace(segTestConfig, "  test_cfg: {mode: whole}\n", extra, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Registry.Build(n.Field("model")); err == nil {
			t.Errorf("%q: no error", strings.TrimSpace(extra))
		}
	}
}

// randomizeBN gives every BatchNorm random running statistics and affine
// parameters, so an untrained model's outputs vary across classes.
func randomizeBN(m nn.Module) {
	rng := tensor.NewRNG(11)
	sd := nn.StateDict(m)
	for _, k := range nn.StateKeys(m) { // in key order: one draw sequence, every run
		v := sd[k]
		switch {
		case strings.HasSuffix(k, "running_var"):
			rng.FillUniform(v, 0.5, 1.5)
		case strings.HasSuffix(k, "running_mean"):
			rng.FillUniform(v, -0.2, 0.2)
		case strings.HasSuffix(k, "conv_seg.weight"):
			rng.FillUniform(v, -0.5, 0.5)
		}
	}
}

// TestSemanticFPN builds backbone + FPN neck + FPNHead with the widths left
// to the model (the neck's from the backbone, the head's from the neck) and
// runs a training step and a prediction.
func TestSemanticFPN(t *testing.T) {
	const yaml = `
model:
  type: EncoderDecoder
  backbone: {type: SegTestBackbone, channels: [6, 8, 8, 8]}
  neck: {type: FPN, out_channels: 8, num_outs: 4}
  decode_head: {type: FPNHead, feature_strides: [4, 8, 16, 32], channels: 6, num_classes: 3}
`
	n, err := config.Parse("fpn.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	mm, err := Registry.Build(n.Field("model"))
	if err != nil {
		t.Fatal(err)
	}
	m := mm.(*EncoderDecoder)
	keys := map[string]bool{}
	for _, k := range nn.StateKeys(m) {
		keys[k] = true
	}
	for _, k := range []string{"neck.lateral_convs.0.conv.weight", "decode_head.scale_heads.3.4.conv.weight"} {
		if !keys[k] {
			t.Errorf("no state key %q", k)
		}
	}
	nn.SetTraining(m, true)
	b := synthSegBatch(tensor.NewRNG(2), 2, 64, 64)
	tp := nn.NewTape(nil, tensor.NewRNG(0))
	loss, parts, err := m.Loss(tp, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parts["aux.loss_ce"]; ok || len(parts) != 2 {
		t.Errorf("parts %v, want decode.loss_ce and decode.acc_seg only", parts)
	}
	tp.Backward(loss)
	for _, p := range nn.NamedParams(m) {
		if p.Param.Grad == nil {
			t.Errorf("%s got no gradient", p.Name)
		}
	}
	nn.SetTraining(m, false)
	res, err := m.Predict(nn.NewInferenceTape(nil), b)
	if err != nil {
		t.Fatal(err)
	}
	if s := res[1].SegMap; s.W != 64 || s.H != 64 {
		t.Errorf("seg map %dx%d, want 64x64", s.H, s.W)
	}
}

// TestMultiScaleShapes runs scales that change the network's input size,
// with flip and slide windows, and checks the output size.
func TestMultiScaleShapes(t *testing.T) {
	m := buildSegTestModel(t, "")
	nn.SetTraining(m, false)
	b := synthSegBatch(tensor.NewRNG(9), 2, 32, 40)
	b.Samples[1].Meta.ImgShape = [2]int{28, 40} // padded at the bottom
	b.Samples[1].Meta.OriShape = [2]int{56, 80}
	for _, c := range []SegTestConfig{
		{Mode: "whole", ImgRatios: []float64{0.5, 0.75, 1.5}, Flip: true},
		{Mode: "slide", CropSize: [2]int{32, 32}, Stride: [2]int{20, 20}, ImgRatios: []float64{1.25}},
	} {
		res := predictWith(t, m, c, b)
		for i, r := range res {
			if want := b.Samples[i].Meta.OriShape; r.SegMap.H != want[0] || r.SegMap.W != want[1] {
				t.Errorf("%+v sample %d: %dx%d, want %v", c, i, r.SegMap.H, r.SegMap.W, want)
			}
			for _, v := range r.SegMap.Pix {
				if v > 2 {
					t.Fatalf("%+v sample %d: class %d of 3", c, i, v)
				}
			}
		}
	}
}
