package roi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func loadGolden(t *testing.T) map[string]*tensor.Tensor {
	return nntest.LoadGolden(t, "testdata/roi.safetensors")
}

func boxesOf(x *tensor.Tensor) []detops.Box {
	d := x.Data()
	out := make([]detops.Box, len(d)/4)
	for i := range out {
		copy(out[i][:], d[4*i:4*i+4])
	}
	return out
}

func intsOf(x *tensor.Tensor) []int {
	out := make([]int, x.Len())
	for i, v := range x.Data() {
		out[i] = int(v)
	}
	return out
}

func flatBoxes(b []detops.Box) *tensor.Tensor {
	out := make([]float32, 0, 4*len(b))
	for _, x := range b {
		out = append(out, x[:]...)
	}
	return tensor.FromData(out, len(b), 4)
}

// loadWeights loads the golden tensors named prefix+key into m.
func loadWeights(t *testing.T, m nn.Module, g map[string]*tensor.Tensor, prefix string) {
	t.Helper()
	sd := map[string]*tensor.Tensor{}
	for _, k := range nn.StateKeys(m) {
		sd[k] = nntest.Golden(t, g, prefix+k)
	}
	if _, err := nn.LoadStateDict(m, sd, true); err != nil {
		t.Fatal(err)
	}
}

// goldenBox builds the box branch of tools/reference/golden_heads.py:
// 4-channel levels of strides 4 and 8, 7×7 RoIs, 16-wide fcs, 3 classes.
func goldenBox(t *testing.T, g map[string]*tensor.Tensor) (*Extractor, *BBoxHead) {
	t.Helper()
	e, err := NewExtractor(DefaultExtractorOptions(7), []int{4, 8}, 4, "bbox_roi_extractor")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultBBoxHeadOptions()
	o.InChannels, o.RoIFeatSize, o.FCOutChannels, o.NumClasses = 4, 7, 16, 3
	h, err := NewBBoxHead(o)
	if err != nil {
		t.Fatal(err)
	}
	loadWeights(t, h, g, "bbox/")
	return e, h
}

func goldenGTs(t *testing.T, g map[string]*tensor.Tensor) []GT {
	var gts []GT
	for i := 0; i < 2; i++ {
		gts = append(gts, GT{Boxes: boxesOf(nntest.Golden(t, g, fmt.Sprint("gt", i))), Labels: intsOf(nntest.Golden(t, g, fmt.Sprint("gt_labels", i)))})
	}
	return gts
}

func goldenSamples(t *testing.T, g map[string]*tensor.Tensor) []Sampled {
	var out []Sampled
	for i := 0; i < 2; i++ {
		pos := boxesOf(nntest.Golden(t, g, fmt.Sprint("pos", i)))
		neg := boxesOf(nntest.Golden(t, g, fmt.Sprint("neg", i)))
		out = append(out, Sampled{Boxes: append(pos, neg...), NumPos: len(pos), PosGT: intsOf(nntest.Golden(t, g, fmt.Sprint("pos_gt", i)))})
	}
	return out
}

// TestGoldenBBoxLoss runs the extractor and the box head on fixed sampled
// RoIs and compares both losses and all gradients with the reference.
func TestGoldenBBoxLoss(t *testing.T) {
	g := loadGolden(t)
	e, h := goldenBox(t, g)
	tp := nn.NewTape(nil, nil)
	defer tp.Release()
	feats := []*nn.Var{tp.Leaf(nntest.Golden(t, g, "feat0").Clone()), tp.Leaf(nntest.Golden(t, g, "feat1").Clone())}
	samples := goldenSamples(t, g)
	boxes := [][]detops.Box{samples[0].Boxes, samples[1].Boxes}
	cls, reg := h.Forward(e.Extract(feats, RoIs(boxes, nil)))
	lc, lb := h.Loss(cls, reg, h.Targets(samples, goldenGTs(t, g), -1))
	nntest.AssertClose(t, "loss_cls", lc.Value.Reshape(1), nntest.Golden(t, g, "bbox/loss_cls"), 1e-5)
	nntest.AssertClose(t, "loss_bbox", lb.Value.Reshape(1), nntest.Golden(t, g, "bbox/loss_bbox"), 1e-5)
	tp.Backward(nn.Add(lc, lb))
	for _, p := range nn.NamedParams(h) {
		nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, nntest.Golden(t, g, "bbox/grad/"+p.Name), 1e-4)
	}
	for l, f := range feats {
		nntest.AssertClose(t, fmt.Sprint("grad feat", l), f.Grad, nntest.Golden(t, g, fmt.Sprint("bbox/grad/feat", l)), 1e-4)
	}
}

// TestGoldenBBoxPredict decodes the same outputs into detections (score
// threshold 0.05, per-class NMS 0.5) and compares them with the reference.
func TestGoldenBBoxPredict(t *testing.T) {
	g := loadGolden(t)
	e, h := goldenBox(t, g)
	tp := nn.NewInferenceTape(nil)
	feats := []*nn.Var{tp.Input(nntest.Golden(t, g, "feat0")), tp.Input(nntest.Golden(t, g, "feat1"))}
	samples := goldenSamples(t, g)
	boxes := [][]detops.Box{samples[0].Boxes, samples[1].Boxes}
	cls, reg := h.Forward(e.Extract(feats, RoIs(boxes, nil)))
	dets := h.Predict(cls, reg, boxes, [][2]int{{63, 79}, {60, 75}}, nil, DefaultTestOptions())
	for i, d := range dets {
		wantLabels := intsOf(nntest.Golden(t, g, fmt.Sprint("det_labels", i)))
		if fmt.Sprint(d.Labels) != fmt.Sprint(wantLabels) {
			t.Fatalf("image %d: labels %v, want %v", i, d.Labels, wantLabels)
		}
		nntest.AssertClose(t, fmt.Sprint("boxes ", i), flatBoxes(d.Boxes), nntest.Golden(t, g, fmt.Sprint("det_boxes", i)), 1e-5)
		ws := nntest.Golden(t, g, fmt.Sprint("det_scores", i))
		nntest.AssertClose(t, fmt.Sprint("scores ", i), tensor.FromData(d.Scores, len(d.Scores)), ws, 1e-6)
	}
}

// TestGoldenMaskTargets crops polygon and bitmap masks to boxes (one
// partly outside the image) and compares the 28×28 targets pixel by pixel.
func TestGoldenMaskTargets(t *testing.T) {
	g := loadGolden(t)
	const w, h = 50, 40
	var masks []InstanceMask
	for k := 0; k < 2; k++ {
		var polys [][]float64
		for j := 0; ; j++ {
			p, ok := g[fmt.Sprintf("mask/poly%d_%d", k, j)]
			if !ok {
				break
			}
			q := make([]float64, p.Len())
			for i, v := range p.Data() {
				q[i] = float64(v)
			}
			polys = append(polys, q)
		}
		masks = append(masks, InstanceMask{Polygons: polys, W: w, H: h})
	}
	bm := nntest.Golden(t, g, "mask/bitmap")
	bits := make([]uint8, bm.Len())
	for i, v := range bm.Data() {
		bits[i] = uint8(v)
	}
	masks = append(masks, InstanceMask{Bitmap: bits, W: w, H: h})
	got := MaskTargets(boxesOf(nntest.Golden(t, g, "mask/boxes")), intsOf(nntest.Golden(t, g, "mask/gt")), masks, w, h, 28)
	want := nntest.Golden(t, g, "mask/targets")
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Fatalf("targets %v, want %v", got.Shape(), want.Shape())
	}
	bad := 0
	for i, v := range got.Data() {
		if v != want.Data()[i] {
			t.Errorf("target %d pixel (%d, %d): %v, want %v", i/784, i%28, i%784/28, v, want.Data()[i])
			if bad++; bad == 10 {
				t.Fatal("stopping after 10 mismatches; more may follow")
			}
		}
	}
}

func goldenMaskHead(t *testing.T, g map[string]*tensor.Tensor) *MaskHead {
	o := DefaultMaskHeadOptions()
	o.InChannels, o.ConvOutChannels, o.NumConvs, o.NumClasses = 4, 6, 2, 3
	m, err := NewMaskHead(o)
	if err != nil {
		t.Fatal(err)
	}
	loadWeights(t, m, g, "mask/")
	return m
}

// TestGoldenMaskLoss compares the mask head's forward, loss and gradients.
func TestGoldenMaskLoss(t *testing.T) {
	g := loadGolden(t)
	m := goldenMaskHead(t, g)
	tp := nn.NewTape(nil, nil)
	defer tp.Release()
	x := tp.Leaf(nntest.Golden(t, g, "mask/x").Clone())
	l := m.Loss(m.Forward(x), nntest.Golden(t, g, "mask/targets"), intsOf(nntest.Golden(t, g, "mask/labels")))
	nntest.AssertClose(t, "loss_mask", l.Value.Reshape(1), nntest.Golden(t, g, "mask/loss"), 1e-5)
	tp.Backward(l)
	nntest.AssertClose(t, "grad x", x.Grad, nntest.Golden(t, g, "mask/grad/x"), 1e-4)
	for _, p := range nn.NamedParams(m) {
		nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, nntest.Golden(t, g, "mask/grad/"+p.Name), 1e-4)
	}
}

// TestGoldenPaste compares pasted probabilities with mmdet's
// _do_paste_mask (grid_sample) for boxes inside, across and beyond the
// image edge, and the thresholded masks pixel by pixel.
func TestGoldenPaste(t *testing.T) {
	g := loadGolden(t)
	sh := nntest.Golden(t, g, "paste/shape").Data()
	h, w := int(sh[0]), int(sh[1])
	probs := nntest.Golden(t, g, "paste/probs")
	boxes := boxesOf(nntest.Golden(t, g, "paste/boxes"))
	want := nntest.Golden(t, g, "paste/values")
	for i, b := range boxes {
		p := probs.Data()[i*784 : (i+1)*784]
		got := tensor.New(h, w)
		pasteValues(p, 28, b, h, w, func(k int, v float32) { got.Data()[k] = v })
		wv := tensor.FromData(want.Data()[i*h*w:(i+1)*h*w], h, w)
		nntest.AssertClose(t, fmt.Sprint("values ", i), got, wv, 1e-6)
		bits := PasteMask(p, 28, b, h, w, 0.5)
		for k, v := range bits {
			if exp := wv.Data()[k] >= 0.5; (v == 1) != exp {
				t.Errorf("box %d pixel (%d, %d): %d, want %v (value %v)", i, k%w, k/w, v, exp, wv.Data()[k])
			}
		}
	}
}

// TestLossGrads checks the box and mask losses, through the extractor's
// row scatter and the mask channel selection, by finite differences.
func TestLossGrads(t *testing.T) {
	e, err := NewExtractor(DefaultExtractorOptions(2), []int{4, 8}, 2, "bbox_roi_extractor")
	if err != nil {
		t.Fatal(err)
	}
	e.opts.FinestScale = 6 // send the larger RoI to the second level
	o := DefaultBBoxHeadOptions()
	o.InChannels, o.RoIFeatSize, o.FCOutChannels, o.NumClasses = 2, 2, 3, 2
	o.LossBBox.LossWeight = 0.5
	h, err := NewBBoxHead(o)
	if err != nil {
		t.Fatal(err)
	}
	gts := []GT{{Boxes: []detops.Box{{2, 2, 10, 9}}, Labels: []int{1}}}
	samples := []Sampled{{Boxes: []detops.Box{{3, 1, 12, 10}, {0, 0, 15, 15}, {1, 1, 5, 4}}, NumPos: 1, PosGT: []int{0}}}
	targets := h.Targets(samples, gts, -1)
	f0, f1 := tensor.New(1, 2, 4, 4), tensor.New(1, 2, 2, 2)
	rng := tensor.NewRNG(5)
	rng.FillUniform(f0, -1, 1)
	rng.FillUniform(f1, -1, 1)
	nntest.GradCheck{Params: nn.Params(h)}.Run(t, func(tp *nn.Tape, in []*nn.Var) *nn.Var {
		cls, reg := h.Forward(e.Extract(in, RoIs([][]detops.Box{samples[0].Boxes}, nil)))
		lc, lb := h.Loss(cls, reg, targets)
		return nn.Add(lc, lb)
	}, f0, f1)

	mo := DefaultMaskHeadOptions()
	mo.InChannels, mo.ConvOutChannels, mo.NumConvs, mo.NumClasses = 2, 2, 1, 3
	m, err := NewMaskHead(mo)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 2, 3, 3)
	rng.FillUniform(x, -1, 1)
	mt := tensor.New(2, 6, 6)
	for i := range mt.Data() {
		mt.Data()[i] = float32(i % 2)
	}
	nntest.GradCheck{}.Run(t, func(tp *nn.Tape, in []*nn.Var) *nn.Var {
		return m.Loss(m.Forward(in[0]), mt, []int{2, 0})
	}, x)
}

// TestSampleRoIs checks that gt boxes join the proposals as positives of
// themselves and that assignment follows the IoU thresholds.
func TestSampleRoIs(t *testing.T) {
	gt := GT{Boxes: []detops.Box{{0, 0, 10, 10}, {20, 20, 30, 30}}, Labels: []int{1, 0}}
	props := []detops.Box{
		{0, 0, 10, 9},    // IoU 0.9 with gt 0: positive
		{20, 20, 30, 34}, // IoU 0.71 with gt 1: positive
		{40, 40, 50, 50}, // no overlap: negative
		{5, 0, 15, 10},   // IoU 1/3: negative
	}
	cases := []struct {
		name    string
		addGT   bool
		num     int
		wantPos int
		wantNeg int
	}{
		{"with gt", true, 100, 4, 2},
		{"without gt", false, 100, 2, 2},
		{"capped", true, 8, 2, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultTrainOptions()
			o.Sampler.Num, o.Sampler.AddGTAsProposals = c.num, c.addGT
			s := SampleRoIs(props, gt, o, tensor.NewRNG(1))
			if s.NumPos != c.wantPos || len(s.Boxes)-s.NumPos != c.wantNeg {
				t.Fatalf("%d positives and %d negatives, want %d and %d", s.NumPos, len(s.Boxes)-s.NumPos, c.wantPos, c.wantNeg)
			}
			for k := 0; k < s.NumPos; k++ {
				if iou := detops.Overlaps([]detops.Box{s.Boxes[k]}, []detops.Box{gt.Boxes[s.PosGT[k]]}, detops.IoU)[0]; iou < 0.5 {
					t.Errorf("positive %v assigned to gt %d with IoU %v", s.Boxes[k], s.PosGT[k], iou)
				}
			}
		})
	}
}

func TestHeadOptionErrors(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*HeadOptions)
		want   string
	}{
		{"type", func(o *HeadOptions) { o.Type = "CascadeRoIHead" }, "StandardRoIHead"},
		{"mask without extractor", func(o *HeadOptions) { o.MaskRoIExtractor = nil }, "mask_roi_extractor"},
		{"bbox head type", func(o *HeadOptions) { o.BBoxHead.Type = "Shared4Conv1FCBBoxHead" }, "Shared2FCBBoxHead"},
		{"sigmoid cls", func(o *HeadOptions) { o.BBoxHead.LossCls.UseSigmoid = true }, "use_sigmoid"},
		{"roi layer", func(o *HeadOptions) { o.BBoxRoIExtractor.RoILayer.Type = "RoIPool" }, "RoIAlign"},
		{"strides", func(o *HeadOptions) { o.BBoxRoIExtractor.FeatmapStrides = []int{8, 16} }, "featmap_strides"},
		{"feat size", func(o *HeadOptions) { o.BBoxHead.RoIFeatSize = 5 }, "roi_feat_size"},
		{"mask loss", func(o *HeadOptions) { o.MaskHead.LossMask.UseMask = false }, "use_mask"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultHeadOptions(true)
			c.modify(&o)
			_, err := New(o, []int{4, 8, 16, 32, 64}, 8)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "roi: ") {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// TestPasteMaskRLE checks the windowed encoder against encoding the whole
// pasted bitmap, for boxes inside, across the edges of and outside the
// image, and masks that touch the window's first and last pixels.
func TestPasteMaskRLE(t *testing.T) {
	rng := tensor.NewRNG(9)
	prob := make([]float32, 28*28)
	for i := range prob {
		prob[i] = float32(rng.Float64())
	}
	ones := make([]float32, 28*28)
	for i := range ones {
		ones[i] = 1
	}
	boxes := []detops.Box{{3.2, 4.7, 30.9, 20.1}, {-5, -3, 12, 40}, {20, 10, 60, 45}, {0, 0, 47, 37}, {50, 50, 60, 60}, {10, 10, 10, 20}}
	for _, p := range [][]float32{prob, ones} {
		for _, b := range boxes {
			got := PasteMaskRLE(p, 28, b, 37, 47, 0.5)
			want := mask.Encode(PasteMask(p, 28, b, 37, 47, 0.5), 37, 47)
			if got.H != want.H || got.W != want.W || fmt.Sprint(got.Counts) != fmt.Sprint(want.Counts) {
				t.Errorf("box %v: RLE %v, want %v", b, got.Counts, want.Counts)
			}
		}
	}
}

func TestAccuracy(t *testing.T) {
	cls := nn.Constant(tensor.FromData([]float32{
		0, 2, 1,
		3, 3, 0, // tie: the first maximum wins
		0, 0, 1,
		5, 1, 2,
	}, 4, 3))
	cases := []struct {
		labels []int
		want   float64
	}{
		{[]int{1, 0, 2, 0}, 100},
		{[]int{1, 1, 2, 2}, 50},
		{[]int{0, 1, 0, 1}, 0},
	}
	for _, c := range cases {
		if got := Accuracy(cls, c.labels); got != c.want {
			t.Errorf("labels %v: accuracy %v, want %v", c.labels, got, c.want)
		}
	}
}
