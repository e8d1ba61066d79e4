package models

// Two-stage detectors: Faster R-CNN (Ren et al., "Faster R-CNN: Towards
// Real-Time Object Detection with Region Proposal Networks", NeurIPS 2015,
// https://arxiv.org/abs/1506.01497) and Mask R-CNN (He et al., "Mask R-CNN",
// ICCV 2017, https://arxiv.org/abs/1703.06870), assembled as mmdet 3.x's
// TwoStageDetector (mmdet/models/detectors/two_stage.py, Apache-2.0) from
// any registered backbone and neck, heads/rpn and heads/roi.

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/roi"
	"github.com/densepred/dp/heads/rpn"
	"github.com/densepred/dp/necks"
	"github.com/densepred/dp/nn"
)

// TwoStageOptions configures MaskRCNN and FasterRCNN; the yaml keys are
// those of mmdet's model mapping (configs/_base_/models/mask-rcnn_r50_fpn.py),
// architecture first, then train_cfg and test_cfg.
type TwoStageOptions struct {
	// Backbone is built from backbone.Registry.
	Backbone config.Node `yaml:"backbone"`
	// Neck is built from necks.Registry; in_channels and in_strides default
	// to the backbone's OutChannels and OutStrides.
	Neck config.Node `yaml:"neck"`
	// RPNHead is the region proposal network; its type must be one of
	// rpn.HeadRegistry (RPNHead), in_channels defaults to the neck's width
	// and the anchor strides to the neck's strides.
	RPNHead rpn.HeadOptions `yaml:"rpn_head"`
	// RoIHead is the second stage; its type must be one of roi.HeadRegistry
	// (StandardRoIHead). FasterRCNN's defaults have no mask branch.
	RoIHead roi.HeadOptions `yaml:"roi_head"`
	// TrainCfg holds the target assignment and sampling settings.
	TrainCfg TwoStageTrainOptions `yaml:"train_cfg"`
	// TestCfg holds the proposal and detection settings used by Predict.
	TestCfg TwoStageTestOptions `yaml:"test_cfg"`
}

// TwoStageTrainOptions is mmdet's train_cfg of a two-stage detector.
type TwoStageTrainOptions struct {
	RPN         rpn.TrainOptions    `yaml:"rpn"`
	RPNProposal rpn.ProposalOptions `yaml:"rpn_proposal"`
	RCNN        roi.TrainOptions    `yaml:"rcnn"`
}

// TwoStageTestOptions is mmdet's test_cfg of a two-stage detector.
type TwoStageTestOptions struct {
	RPN  rpn.ProposalOptions `yaml:"rpn"`
	RCNN roi.TestOptions     `yaml:"rcnn"`
}

// DefaultMaskRCNNOptions returns mmdet's Mask R-CNN R50-FPN 1x settings
// for the heads (80 classes); backbone and neck come from the config.
func DefaultMaskRCNNOptions() TwoStageOptions {
	return TwoStageOptions{
		RPNHead: rpn.DefaultHeadOptions(),
		RoIHead: roi.DefaultHeadOptions(true),
		TrainCfg: TwoStageTrainOptions{
			RPN:         rpn.DefaultTrainOptions(),
			RPNProposal: rpn.DefaultTrainProposalOptions(),
			RCNN:        roi.DefaultTrainOptions(),
		},
		TestCfg: TwoStageTestOptions{RPN: rpn.DefaultTestProposalOptions(), RCNN: roi.DefaultTestOptions()},
	}
}

// DefaultFasterRCNNOptions is DefaultMaskRCNNOptions without the mask
// branch.
func DefaultFasterRCNNOptions() TwoStageOptions {
	o := DefaultMaskRCNNOptions()
	o.RoIHead = roi.DefaultHeadOptions(false)
	return o
}

// TwoStage is a Faster or Mask R-CNN: backbone, neck, RPN and RoI head,
// registered as "backbone", "neck", "rpn_head" and "roi_head" so parameter
// names equal mmdet's state-dict keys (rpn_head.rpn_conv.weight,
// roi_head.bbox_head.fc_cls.weight, roi_head.mask_head.convs.0.conv.weight).
//
// Loss returns loss_rpn_cls, loss_rpn_bbox, loss_cls, loss_bbox and, with
// masks, loss_mask, and their sum; the parts also hold the box head's
// accuracy on its sampled RoIs (acc, percent), as mmdet logs it. Predict returns boxes, scores, labels
// and (with masks) RLE masks in original-image coordinates.
type TwoStage struct {
	nn.ModuleBase
	Backbone backbone.Backbone
	Neck     necks.Neck
	RPN      *rpn.Head
	RoI      *roi.Head
	opts     TwoStageOptions
}

// NewMaskRCNN builds a Mask R-CNN.
func NewMaskRCNN(o TwoStageOptions) (*TwoStage, error) {
	if o.RoIHead.MaskHead == nil {
		return nil, fmt.Errorf("models: MaskRCNN needs roi_head.mask_head (use FasterRCNN for boxes only)")
	}
	return newTwoStage(o)
}

// NewFasterRCNN builds a Faster R-CNN.
func NewFasterRCNN(o TwoStageOptions) (*TwoStage, error) {
	if o.RoIHead.MaskHead != nil || o.RoIHead.MaskRoIExtractor != nil {
		return nil, fmt.Errorf("models: FasterRCNN has no mask branch: remove roi_head.mask_head and mask_roi_extractor, or use MaskRCNN")
	}
	return newTwoStage(o)
}

func newTwoStage(o TwoStageOptions) (*TwoStage, error) {
	bb, err := backbone.Build(o.Backbone)
	if err != nil {
		return nil, err
	}
	neck, err := necks.Registry.BuildWithDefaults(o.Neck, map[string]any{
		"in_channels": bb.OutChannels(), "in_strides": bb.OutStrides()})
	if err != nil {
		return nil, err
	}
	return NewTwoStageFrom(bb, neck, o)
}

// NewTwoStageFrom assembles a detector from a built backbone and neck (the
// Backbone and Neck nodes of o are not read); it is FasterRCNN when
// o.RoIHead has no mask head.
func NewTwoStageFrom(bb backbone.Backbone, neck necks.Neck, o TwoStageOptions) (*TwoStage, error) {
	chans, strides := neck.OutChannels(), neck.OutStrides()
	if len(chans) == 0 {
		return nil, fmt.Errorf("models: the neck has no outputs")
	}
	for _, c := range chans {
		if c != chans[0] {
			return nil, fmt.Errorf("models: the neck's outputs have %v channels; the heads need one width", chans)
		}
	}
	ro := o.RPNHead
	if ro.InChannels == 0 {
		ro.InChannels = chans[0]
	}
	if ro.InChannels != chans[0] {
		return nil, fmt.Errorf("models: rpn_head in_channels %d, but the neck gives %d", ro.InChannels, chans[0])
	}
	if ro.AnchorGenerator.Strides == nil {
		ro.AnchorGenerator.Strides = strides
	}
	if len(ro.AnchorGenerator.Strides) != len(strides) {
		return nil, fmt.Errorf("models: rpn_head anchor_generator has %d strides %v for %d neck outputs (strides %v)",
			len(ro.AnchorGenerator.Strides), ro.AnchorGenerator.Strides, len(strides), strides)
	}
	for _, err := range []error{
		o.TrainCfg.RPN.Validate("rpn"), o.TrainCfg.RPNProposal.Validate("train_cfg.rpn_proposal"),
		o.TestCfg.RPN.Validate("test_cfg.rpn"), o.TestCfg.RCNN.Validate(),
		rpn.TrainOptions{Assigner: o.TrainCfg.RCNN.Assigner, Sampler: o.TrainCfg.RCNN.Sampler}.Validate("roi"),
	} {
		if err != nil {
			return nil, fmt.Errorf("models: %w", err)
		}
	}
	rh, err := rpn.New(ro)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	rr, err := roi.New(o.RoIHead, strides, chans[0])
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	m := &TwoStage{Backbone: bb, Neck: neck, RPN: rh, RoI: rr, opts: o}
	m.RegisterModule("backbone", bb)
	m.RegisterModule("neck", neck)
	m.RegisterModule("rpn_head", rh)
	m.RegisterModule("roi_head", rr)
	return m, nil
}

// Features returns the neck's maps of an input batch.
func (m *TwoStage) Features(x *nn.Var) []*nn.Var {
	return m.Neck.Forward(m.Backbone.Forward(x))
}

// imgShapes returns each sample's unpadded (height, width), falling back to
// the batch's size when the meta has none.
func imgShapes(b *datasets.Batch) [][2]int {
	h, w := b.Inputs.Dim(2), b.Inputs.Dim(3)
	out := make([][2]int, len(b.Samples))
	for i, s := range b.Samples {
		out[i] = s.Meta.ImgShape
		if out[i][0] <= 0 || out[i][1] <= 0 {
			out[i] = [2]int{h, w}
		}
	}
	return out
}

// groundTruth splits each sample's instances into targets and ignored
// (crowd) regions, as mmdet's PackDetInputs does with ignore_flag.
func groundTruth(b *datasets.Batch, withMasks bool) ([]rpn.GT, []roi.GT, error) {
	rg, tg := make([]rpn.GT, len(b.Samples)), make([]roi.GT, len(b.Samples))
	for i, s := range b.Samples {
		if len(s.Labels) != len(s.Boxes) || (s.Ignore != nil && len(s.Ignore) != len(s.Boxes)) {
			return nil, nil, fmt.Errorf("models: sample %d (%s): %d boxes, %d labels, %d ignore flags", i, s.Meta.File, len(s.Boxes), len(s.Labels), len(s.Ignore))
		}
		if withMasks && len(s.Masks) != len(s.Boxes) {
			return nil, nil, fmt.Errorf("models: sample %d (%s): %d masks for %d boxes; Mask R-CNN needs LoadAnnotations with_mask", i, s.Meta.File, len(s.Masks), len(s.Boxes))
		}
		w, h := s.Size()
		for k, box := range s.Boxes {
			bx := detops.Box(box)
			if s.Ignore != nil && s.Ignore[k] {
				rg[i].Ignore = append(rg[i].Ignore, bx)
				tg[i].Ignore = append(tg[i].Ignore, bx)
				continue
			}
			rg[i].Boxes = append(rg[i].Boxes, bx)
			tg[i].Boxes = append(tg[i].Boxes, bx)
			tg[i].Labels = append(tg[i].Labels, s.Labels[k])
			if withMasks {
				tg[i].Masks = append(tg[i].Masks, instanceMask(s.Masks[k], w, h))
			}
		}
	}
	return rg, tg, nil
}

// instanceMask converts a dataset mask for the mask head: polygons with an
// even number of at least 6 coordinates (an all-zero triangle when none is
// left, as mmdet's LoadAnnotations), other forms as a bitmap.
func instanceMask(m datasets.Mask, w, h int) roi.InstanceMask {
	if m.Polygons != nil {
		var polys [][]float64
		for _, p := range m.Polygons {
			if len(p)%2 == 0 && len(p) >= 6 {
				polys = append(polys, p)
			}
		}
		if len(polys) == 0 {
			polys = [][]float64{make([]float64, 6)}
		}
		return roi.InstanceMask{Polygons: polys, W: w, H: h}
	}
	p := m.ToBitmap(w, h)
	return roi.InstanceMask{Bitmap: p.Pix, W: p.W, H: p.H}
}

// Loss implements Model.
func (m *TwoStage) Loss(tp *nn.Tape, b *datasets.Batch) (*nn.Var, map[string]float64, error) {
	if len(b.Samples) != b.Inputs.Dim(0) {
		return nil, nil, fmt.Errorf("models: %d samples for a batch of %d images", len(b.Samples), b.Inputs.Dim(0))
	}
	rg, tg, err := groundTruth(b, m.RoI.Mask != nil)
	if err != nil {
		return nil, nil, err
	}
	shapes := imgShapes(b)
	feats := m.Features(tp.Input(b.Inputs))
	cls, reg := m.RPN.Forward(feats)
	t := m.RPN.Targets(cls, shapes, rg, m.opts.TrainCfg.RPN, tp.RNG())
	rpnCls, rpnBox := m.RPN.Loss(cls, reg, t)
	props := m.RPN.Proposals(cls, reg, shapes, m.opts.TrainCfg.RPNProposal)
	boxes := make([][]detops.Box, len(props))
	for i, p := range props {
		boxes[i] = p.Boxes
	}
	l := m.RoI.Loss(feats, boxes, tg, b.Inputs.Dim(3), b.Inputs.Dim(2), m.opts.TrainCfg.RCNN, tp.RNG())
	terms := []*nn.Var{rpnCls, rpnBox, l.Cls, l.BBox}
	names := []string{"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"}
	if l.Mask != nil {
		terms, names = append(terms, l.Mask), append(names, "loss_mask")
	}
	parts := make(map[string]float64, len(terms))
	for i, v := range terms {
		parts[names[i]] = float64(v.Data()[0])
	}
	parts["acc"] = l.Acc
	return nn.AddN(terms...), parts, nil
}

// Predict implements Model: detections rescaled to the original image
// (divided by Meta.ScaleFactor) and, if the sample was flipped, flipped
// back; masks pasted at the original size.
func (m *TwoStage) Predict(tp *nn.Tape, b *datasets.Batch) ([]Result, error) {
	if len(b.Samples) != b.Inputs.Dim(0) {
		return nil, fmt.Errorf("models: %d samples for a batch of %d images", len(b.Samples), b.Inputs.Dim(0))
	}
	shapes := imgShapes(b)
	metas := make([]roi.ImageMeta, len(b.Samples))
	for i, s := range b.Samples {
		metas[i] = roi.ImageMeta{ImgShape: shapes[i], OriShape: s.Meta.OriShape, ScaleFactor: s.Meta.ScaleFactor}
		if metas[i].OriShape[0] <= 0 || metas[i].OriShape[1] <= 0 {
			metas[i].OriShape = shapes[i]
		}
		if sf := metas[i].ScaleFactor; sf[0] <= 0 || sf[1] <= 0 {
			metas[i].ScaleFactor = [2]float64{1, 1}
		}
	}
	feats := m.Features(tp.Input(b.Inputs))
	cls, reg := m.RPN.Forward(feats)
	props := m.RPN.Proposals(cls, reg, shapes, m.opts.TestCfg.RPN)
	boxes := make([][]detops.Box, len(props))
	for i, p := range props {
		boxes[i] = p.Boxes
	}
	dets := m.RoI.Predict(feats, boxes, metas, m.opts.TestCfg.RCNN)
	res := make([]Result, len(dets))
	for i, d := range dets {
		r := Result{Boxes: make([][4]float32, len(d.Boxes)), Scores: d.Scores, Labels: d.Labels, Masks: d.Masks}
		for k, bx := range d.Boxes {
			r.Boxes[k] = [4]float32(bx)
		}
		if s := b.Samples[i]; s.Meta.Flip {
			if err := unflipDetections(&r, s.Meta.FlipDirection, metas[i].OriShape); err != nil {
				return nil, fmt.Errorf("models: sample %d (%s): %w", i, s.Meta.File, err)
			}
		}
		res[i] = r
	}
	return res, nil
}

// unflipDetections undoes a flip of the input on results in original coordinates of
// shape (height, width).
func unflipDetections(r *Result, dir string, shape [2]int) error {
	h, w := float32(shape[0]), float32(shape[1])
	hor, ver := false, false
	switch dir {
	case "horizontal", "":
		hor = true
	case "vertical":
		ver = true
	case "diagonal":
		hor, ver = true, true
	default:
		return fmt.Errorf("unknown flip direction %q", dir)
	}
	for k, b := range r.Boxes {
		if hor {
			b[0], b[2] = w-b[2], w-b[0]
		}
		if ver {
			b[1], b[3] = h-b[3], h-b[1]
		}
		r.Boxes[k] = b
	}
	for k, rle := range r.Masks {
		src := rle.Decode()
		dst := make([]uint8, len(src))
		for y := 0; y < rle.H; y++ {
			for x := 0; x < rle.W; x++ {
				sx, sy := x, y
				if hor {
					sx = rle.W - 1 - x
				}
				if ver {
					sy = rle.H - 1 - y
				}
				dst[y*rle.W+x] = src[sy*rle.W+sx]
			}
		}
		r.Masks[k] = mask.Encode(dst, rle.H, rle.W)
	}
	return nil
}

func init() {
	config.RegisterOptions(Registry, "MaskRCNN", DefaultMaskRCNNOptions(),
		func(o TwoStageOptions) (Model, error) { return NewMaskRCNN(o) })
	config.RegisterOptions(Registry, "FasterRCNN", DefaultFasterRCNNOptions(),
		func(o TwoStageOptions) (Model, error) { return NewFasterRCNN(o) })
}
