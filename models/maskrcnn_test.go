package models_test

import (
	"math"
	"strings"
	"testing"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// tinyBackbone is a five-conv feature extractor with outputs at strides 4,
// 8, 16 and 32, small enough to train a detector in a test.
type tinyBackbone struct {
	nn.ModuleBase
	convs []*nn.Conv2d
	width int
}

type tinyBackboneOptions struct {
	Width int    `yaml:"width"`
	Seed  uint64 `yaml:"seed"`
}

func newTinyBackbone(o tinyBackboneOptions) (backbone.Backbone, error) {
	b := &tinyBackbone{width: o.Width}
	rng := tensor.NewRNG(o.Seed)
	list := nn.NewModuleList()
	in := 3
	for i := 0; i < 5; i++ {
		c := nn.NewConv2d(in, o.Width, [2]int{3, 3}, rng, nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
		nn.KaimingNormal(c.Weight.Value, rng, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"})
		c.Bias.Value.Zero()
		list.Append(c)
		b.convs = append(b.convs, c)
		in = o.Width
	}
	b.RegisterModule("convs", list)
	return b, nil
}

func (b *tinyBackbone) Forward(x *nn.Var) []*nn.Var {
	var out []*nn.Var
	for i, c := range b.convs {
		x = nn.ReLU(c.Forward(x))
		if i >= 1 {
			out = append(out, x)
		}
	}
	return out
}

func (b *tinyBackbone) OutChannels() []int { return []int{b.width, b.width, b.width, b.width} }
func (b *tinyBackbone) OutStrides() []int  { return []int{4, 8, 16, 32} }

func init() {
	config.RegisterOptions(backbone.Registry, "TinyTestBackbone", tinyBackboneOptions{Width: 16}, newTinyBackbone)
}

// tinyDetectorYAML is a Mask R-CNN over the tiny backbone with narrow heads
// and smaller samples, for two classes.
const tinyDetectorYAML = `
model:
  type: MaskRCNN
  backbone: {type: TinyTestBackbone, width: 16, seed: 1}
  neck: {type: FPN, out_channels: 32, num_outs: 5}
  rpn_head: {feat_channels: 32, seed: 2}
  roi_head:
    bbox_head: {fc_out_channels: 64, num_classes: 2, seed: 3}
    mask_head: {num_convs: 2, conv_out_channels: 32, num_classes: 2, seed: 4}
  train_cfg:
    rpn_proposal: {nms_pre: 300, max_per_img: 100}
    rcnn:
      sampler: {num: 64}
  test_cfg:
    rpn: {nms_pre: 300, max_per_img: 100}
`

func buildDetector(t *testing.T, yaml string) *models.TwoStage {
	t.Helper()
	n, err := config.Parse("tiny.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Registry.Build(n.Field("model"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*models.TwoStage)
}

// syntheticBatch draws n size×size images, each with two filled rectangles
// (class 0 red, class 1 green) on grey, as a normalised batch with polygon
// masks.
func syntheticBatch(n, size int, seed uint64) *datasets.Batch {
	rng := tensor.NewRNG(seed)
	b := &datasets.Batch{Inputs: tensor.New(n, 3, size, size)}
	colors := [2][3]float32{{1, -0.5, -0.5}, {-0.5, 1, -0.5}}
	for i := 0; i < n; i++ {
		s := &datasets.Sample{Meta: datasets.Meta{ImgShape: [2]int{size, size}, OriShape: [2]int{size, size}, PadShape: [2]int{size, size}, ScaleFactor: [2]float64{1, 1}}}
		img := b.Inputs.Data()[i*3*size*size : (i+1)*3*size*size]
		for c := 0; c < 2; c++ {
			w, h := 22+rng.Intn(20), 22+rng.Intn(20)
			// class 0 in the left half, class 1 in the right half: no overlap
			x0 := c*size/2 + rng.Intn(max(size/2-w, 1))
			y0 := rng.Intn(size - h)
			x1, y1 := x0+w, y0+h
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					for ch := 0; ch < 3; ch++ {
						img[(ch*size+y)*size+x] = colors[c][ch]
					}
				}
			}
			fx0, fy0, fx1, fy1 := float64(x0), float64(y0), float64(x1), float64(y1)
			s.Boxes = append(s.Boxes, [4]float32{float32(fx0), float32(fy0), float32(fx1), float32(fy1)})
			s.Labels = append(s.Labels, c)
			s.Ignore = append(s.Ignore, false)
			s.Masks = append(s.Masks, datasets.Mask{Polygons: [][]float64{{fx0, fy0, fx1, fy0, fx1, fy1, fx0, fy1}}})
		}
		b.Samples = append(b.Samples, s)
	}
	return b
}

func TestMaskRCNNStateDictNames(t *testing.T) {
	m := buildDetector(t, tinyDetectorYAML)
	keys := nn.StateKeys(m)
	want := []string{
		"rpn_head.rpn_conv.weight", "rpn_head.rpn_cls.weight", "rpn_head.rpn_reg.bias",
		"roi_head.bbox_head.shared_fcs.0.weight", "roi_head.bbox_head.shared_fcs.1.bias",
		"roi_head.bbox_head.fc_cls.weight", "roi_head.bbox_head.fc_reg.weight",
		"roi_head.mask_head.convs.0.conv.weight", "roi_head.mask_head.convs.1.conv.bias",
		"roi_head.mask_head.upsample.weight", "roi_head.mask_head.conv_logits.weight",
		"neck.lateral_convs.0.conv.weight", "backbone.convs.0.weight",
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for _, k := range want {
		if !have[k] {
			t.Errorf("no parameter %q", k)
		}
	}
	sd := nn.StateDict(m)
	shapes := map[string][]int{
		"rpn_head.rpn_cls.weight":               {3, 32, 1, 1},
		"rpn_head.rpn_reg.weight":               {12, 32, 1, 1},
		"roi_head.bbox_head.fc_cls.weight":      {3, 64},
		"roi_head.bbox_head.fc_reg.weight":      {8, 64},
		"roi_head.mask_head.upsample.weight":    {32, 32, 2, 2},
		"roi_head.mask_head.conv_logits.weight": {2, 32, 1, 1},
	}
	for k, s := range shapes {
		if got := sd[k].Shape(); !tensor.SameShape(got, s) {
			t.Errorf("%s: shape %v, want %v", k, got, s)
		}
	}
}

func TestTwoStageConfigErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown head key", strings.Replace(tinyDetectorYAML, "feat_channels: 32", "feat_chanels: 32", 1), "feat_chanels"},
		{"faster with masks", strings.Replace(tinyDetectorYAML, "type: MaskRCNN", "type: FasterRCNN", 1), "mask"},
		{"mask classes", strings.Replace(tinyDetectorYAML, "conv_out_channels: 32, num_classes: 2", "conv_out_channels: 32, num_classes: 3", 1), "num_classes"},
		{"anchor strides", strings.Replace(tinyDetectorYAML, "feat_channels: 32,", "feat_channels: 32, anchor_generator: {strides: [4, 8]},", 1), "strides"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := config.Parse("tiny.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = models.Registry.Build(n.Field("model"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// TestMaskRCNNTrains overfits a tiny Mask R-CNN to synthetic rectangles:
// every loss term is finite, the total falls, and Predict then finds each
// rectangle with the right class and a mask covering it. The second stage's
// box and mask losses rise for a while once the RPN's proposals start to
// overlap the objects (more positives), so the run is 40 iterations long.
func TestMaskRCNNTrains(t *testing.T) {
	const size, iters = 96, 40
	m := buildDetector(t, tinyDetectorYAML)
	batch := syntheticBatch(2, size, 7)
	groups := optim.BuildGroups(m, 2e-3, 1e-4, optim.ParamwiseOptions{})
	for _, g := range groups {
		g.LR = g.BaseLR
	}
	opt := optim.NewAdamW(groups, optim.DefaultAdamWOptions())
	pool := tensor.NewPool()
	var losses []float64
	nn.SetTraining(m, true)
	for it := 0; it < iters; it++ {
		tp := nn.NewTape(pool, tensor.NewRNG(uint64(it)))
		loss, parts, err := m.Loss(tp, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox", "loss_mask"} {
			v, ok := parts[k]
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("iteration %d: part %s = %v (present %v)", it, k, v, ok)
			}
		}
		losses = append(losses, float64(loss.Data()[0]))
		tp.Backward(loss)
		if it == 0 {
			// Backward reaches every parameter of the detector.
			for _, p := range nn.NamedParams(m) {
				if p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0 {
					t.Errorf("no gradient reached %s", p.Name)
				}
			}
		}
		opt.Step()
		optim.ZeroGrad(groups)
		tp.Release()
	}
	first := (losses[0] + losses[1] + losses[2]) / 3
	last := (losses[iters-1] + losses[iters-2] + losses[iters-3]) / 3
	t.Logf("loss %.4f → %.4f", first, last)
	if !(last < 0.6*first) {
		t.Fatalf("loss did not fall: first %.4f, last %.4f (%v)", first, last, losses)
	}

	nn.SetTraining(m, false)
	tp := nn.NewInferenceTape(pool)
	defer tp.Release()
	res, err := m.Predict(tp, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range batch.Samples {
		r := res[i]
		if len(r.Masks) != len(r.Boxes) || len(r.Scores) != len(r.Boxes) || len(r.Labels) != len(r.Boxes) {
			t.Fatalf("image %d: %d boxes, %d scores, %d labels, %d masks", i, len(r.Boxes), len(r.Scores), len(r.Labels), len(r.Masks))
		}
		for g, gb := range s.Boxes {
			best, bestK := 0.0, -1
			for k, b := range r.Boxes {
				if r.Labels[k] != s.Labels[g] {
					continue
				}
				if iou := float64(detops.Overlaps([]detops.Box{b}, []detops.Box{gb}, detops.IoU)[0]); iou > best {
					best, bestK = iou, k
				}
			}
			if best < 0.5 {
				t.Errorf("image %d gt %d (%v, class %d): best same-class IoU %.2f among %d detections", i, g, gb, s.Labels[g], best, len(r.Boxes))
				continue
			}
			// The mask of the best match covers most of the rectangle.
			area := float64((gb[2] - gb[0]) * (gb[3] - gb[1]))
			bits := r.Masks[bestK].Decode()
			in := 0
			for y := int(gb[1]); y < int(gb[3]); y++ {
				for x := int(gb[0]); x < int(gb[2]); x++ {
					in += int(bits[y*size+x])
				}
			}
			if float64(in) < 0.5*area {
				t.Errorf("image %d gt %d: mask covers %d of %.0f box pixels", i, g, in, area)
			}
		}
	}
}

// TestFasterRCNN builds the box-only detector from the same config and runs
// a training step and a prediction: no mask loss, no masks.
func TestFasterRCNN(t *testing.T) {
	yaml := strings.Replace(tinyDetectorYAML, "type: MaskRCNN", "type: FasterRCNN", 1)
	yaml = strings.Replace(yaml, "    mask_head: {num_convs: 2, conv_out_channels: 32, num_classes: 2, seed: 4}\n", "", 1)
	m := buildDetector(t, yaml)
	if m.RoI.Mask != nil {
		t.Fatal("FasterRCNN built a mask head")
	}
	batch := syntheticBatch(1, 64, 3)
	tp := nn.NewTape(nil, tensor.NewRNG(1))
	loss, parts, err := m.Loss(tp, batch)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parts["loss_mask"]; ok || len(parts) != 5 {
		t.Errorf("parts %v, want the four box losses and acc", parts)
	}
	if acc := parts["acc"]; !(acc >= 0 && acc <= 100) {
		t.Errorf("acc %v outside [0, 100]", acc)
	}
	sum := parts["loss_rpn_cls"] + parts["loss_rpn_bbox"] + parts["loss_cls"] + parts["loss_bbox"]
	if d := math.Abs(sum - float64(loss.Data()[0])); d > 1e-5*math.Abs(sum) {
		t.Errorf("loss %v is not the sum of its parts %v", loss.Data()[0], sum)
	}
	tp.Release()
	res, err := m.Predict(nn.NewInferenceTape(nil), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Boxes) == 0 || res[0].Masks != nil {
		t.Fatalf("results %d, boxes %d, masks %v", len(res), len(res[0].Boxes), res[0].Masks)
	}
}

// TestPredictOriginalCoordinates checks that Predict undoes the resize and
// the flip recorded in each sample's meta: the same input with a scale
// factor of 2 gives boxes halved and masks of the original size, and with a
// horizontal flip gives boxes mirrored in the original image.
func TestPredictOriginalCoordinates(t *testing.T) {
	const size = 64
	m := buildDetector(t, tinyDetectorYAML)
	nn.SetTraining(m, false)
	batch := syntheticBatch(1, size, 5)
	predict := func(meta datasets.Meta) models.Result {
		batch.Samples[0].Meta = meta
		res, err := m.Predict(nn.NewInferenceTape(nil), batch)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	base := predict(datasets.Meta{ImgShape: [2]int{size, size}, OriShape: [2]int{size, size}, ScaleFactor: [2]float64{1, 1}})
	if len(base.Boxes) == 0 {
		t.Fatal("no detections to compare")
	}
	half := predict(datasets.Meta{ImgShape: [2]int{size, size}, OriShape: [2]int{size / 2, size / 2}, ScaleFactor: [2]float64{2, 2}})
	flip := predict(datasets.Meta{ImgShape: [2]int{size, size}, OriShape: [2]int{size, size}, ScaleFactor: [2]float64{1, 1}, Flip: true, FlipDirection: "horizontal"})
	if len(half.Boxes) != len(base.Boxes) || len(flip.Boxes) != len(base.Boxes) {
		t.Fatalf("%d, %d and %d detections", len(base.Boxes), len(half.Boxes), len(flip.Boxes))
	}
	for k, b := range base.Boxes {
		for c := 0; c < 4; c++ {
			if d := math.Abs(float64(half.Boxes[k][c] - b[c]/2)); d > 1e-4 {
				t.Errorf("box %d: rescaled %v, want %v / 2", k, half.Boxes[k], b)
				break
			}
		}
		want := [4]float32{size - b[2], b[1], size - b[0], b[3]}
		if flip.Boxes[k] != want {
			t.Errorf("box %d: unflipped %v, want %v", k, flip.Boxes[k], want)
		}
		if hm := half.Masks[k]; hm.H != size/2 || hm.W != size/2 {
			t.Errorf("mask %d of the rescaled image is %dx%d, want %dx%d", k, hm.W, hm.H, size/2, size/2)
		}
		// The flipped mask is the mirror image of the unflipped one.
		bm, fm := base.Masks[k].Decode(), flip.Masks[k].Decode()
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				if bm[y*size+x] != fm[y*size+size-1-x] {
					t.Fatalf("mask %d is not mirrored at (%d, %d)", k, x, y)
				}
			}
		}
	}
}
