package roi

import (
	"fmt"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/rpn"
)

// HeadRegistry is the RoI part of the heads registry (config.Heads): the
// types a detector's roi_head may name (see rpn.HeadRegistry for why the
// heads registry has typed parts). It builds options, with the mask branch
// by default; a detector decodes its roi_head onto its own defaults (Faster
// R-CNN's have no mask branch) and checks the type here.
var HeadRegistry = config.NewPartRegistry[HeadOptions](config.Heads, "RoI heads")

func init() {
	config.RegisterOptions(HeadRegistry, "StandardRoIHead", DefaultHeadOptions(true), func(o HeadOptions) (HeadOptions, error) { return o, nil })
}

// UnmarshalConfig implements config.Unmarshaler: the roi_head mapping's
// type is checked against HeadRegistry, then its keys are decoded strictly
// onto o (whose values are the defaults).
func (o *HeadOptions) UnmarshalConfig(n config.Node) error {
	if err := HeadRegistry.CheckType(n); err != nil {
		return err
	}
	type plain HeadOptions // without this method, for Decode
	return n.Decode((*plain)(o))
}

// HeadOptions configure the RoI head; the yaml keys are those of mmdet's
// model.roi_head mapping (beside type: StandardRoIHead).
type HeadOptions struct {
	// Type must be "StandardRoIHead".
	Type string `yaml:"type"`
	// BBoxRoIExtractor pools box features: RoIAlign 7×7.
	BBoxRoIExtractor ExtractorOptions `yaml:"bbox_roi_extractor"`
	// BBoxHead classifies and refines the RoIs.
	BBoxHead BBoxHeadOptions `yaml:"bbox_head"`
	// MaskRoIExtractor pools mask features: RoIAlign 14×14. Nil without a
	// mask branch (Faster R-CNN).
	MaskRoIExtractor *ExtractorOptions `yaml:"mask_roi_extractor"`
	// MaskHead predicts instance masks; nil without a mask branch.
	MaskHead *MaskHeadOptions `yaml:"mask_head"`
}

// ExtractorOptions configure SingleRoIExtractor.
type ExtractorOptions struct {
	// Type must be "SingleRoIExtractor".
	Type string `yaml:"type"`
	// RoILayer is the pooling op: RoIAlign with output_size (7 for boxes,
	// 14 for masks), sampling_ratio 0 (adaptive) and aligned true.
	RoILayer RoILayerOptions `yaml:"roi_layer"`
	// OutChannels is the feature width; 0 (the default) takes the neck's.
	OutChannels int `yaml:"out_channels"`
	// FeatmapStrides are the strides of the levels pooled from, which are
	// the first len(FeatmapStrides) neck outputs; empty (the default) takes
	// the neck's first four (P2–P5 of an FPN).
	FeatmapStrides []int `yaml:"featmap_strides"`
	// FinestScale is the RoI scale mapped to level 0; default 56.
	FinestScale float64 `yaml:"finest_scale"`
}

// RoILayerOptions configure the RoIAlign of an extractor.
type RoILayerOptions struct {
	// Type must be "RoIAlign".
	Type          string `yaml:"type"`
	OutputSize    int    `yaml:"output_size"`
	SamplingRatio int    `yaml:"sampling_ratio"`
	Aligned       bool   `yaml:"aligned"`
}

// BBoxHeadOptions configure Shared2FCBBoxHead.
type BBoxHeadOptions struct {
	// Type must be "Shared2FCBBoxHead".
	Type string `yaml:"type"`
	// InChannels is the RoI feature width; 0 (the default) takes the
	// extractor's.
	InChannels int `yaml:"in_channels"`
	// FCOutChannels is the width of the shared layers; default 1024.
	FCOutChannels int `yaml:"fc_out_channels"`
	// RoIFeatSize is the pooled size; 0 (the default) takes the
	// extractor's output_size.
	RoIFeatSize int `yaml:"roi_feat_size"`
	// NumClasses excludes the background; default 80.
	NumClasses int `yaml:"num_classes"`
	// BBoxCoder: delta-xywh, means 0, stds [0.1, 0.1, 0.2, 0.2].
	BBoxCoder rpn.CoderOptions `yaml:"bbox_coder"`
	// RegClassAgnostic regresses one box for all classes; default false.
	RegClassAgnostic bool `yaml:"reg_class_agnostic"`
	// LossCls: CrossEntropyLoss with use_sigmoid false, loss_weight 1.
	LossCls rpn.LossOptions `yaml:"loss_cls"`
	// LossBBox: L1Loss (or SmoothL1Loss), loss_weight 1.
	LossBBox rpn.LossOptions `yaml:"loss_bbox"`
	// Seed seeds the initialisation (Xavier-uniform shared_fcs, normal
	// fc_cls std 0.01 and fc_reg std 0.001, zero biases). Default 0.
	Seed uint64 `yaml:"seed"`
}

// MaskHeadOptions configure FCNMaskHead.
type MaskHeadOptions struct {
	// Type must be "FCNMaskHead".
	Type string `yaml:"type"`
	// NumConvs is the number of 3×3 convs; default 4.
	NumConvs int `yaml:"num_convs"`
	// InChannels is the RoI feature width; 0 (the default) takes the
	// extractor's.
	InChannels int `yaml:"in_channels"`
	// ConvOutChannels is the width of the convs and the deconv; default 256.
	ConvOutChannels int `yaml:"conv_out_channels"`
	// NumClasses is the number of class-specific masks; default 80.
	NumClasses int `yaml:"num_classes"`
	// ClassAgnostic predicts one mask for all classes; default false.
	ClassAgnostic bool `yaml:"class_agnostic"`
	// LossMask: CrossEntropyLoss with use_mask true, loss_weight 1.
	LossMask MaskLossOptions `yaml:"loss_mask"`
	// Seed seeds the initialisation (Kaiming-normal fan_out, zero
	// biases). Default 0.
	Seed uint64 `yaml:"seed"`
}

// MaskLossOptions is mmdet's CrossEntropyLoss with use_mask.
type MaskLossOptions struct {
	// Type must be "CrossEntropyLoss".
	Type string `yaml:"type"`
	// UseMask must be true.
	UseMask bool `yaml:"use_mask"`
	// LossWeight scales the loss; default 1.
	LossWeight float64 `yaml:"loss_weight"`
}

// TrainOptions are mmdet's train_cfg.rcnn.
type TrainOptions struct {
	// Assigner: MaxIoUAssigner 0.5 / 0.5 / 0.5 with low-quality matches.
	Assigner rpn.AssignerOptions `yaml:"assigner"`
	// Sampler: RandomSampler of 512 RoIs, pos_fraction 0.25, gt boxes added
	// as proposals.
	Sampler rpn.SamplerOptions `yaml:"sampler"`
	// MaskSize is the side of the mask targets; default 28.
	MaskSize int `yaml:"mask_size"`
	// PosWeight weighs positive RoIs in the classification loss; <= 0 (the
	// default, -1) means 1.
	PosWeight float64 `yaml:"pos_weight"`
	// Debug is accepted for mmdet configs and ignored.
	Debug bool `yaml:"debug"`
}

// TestOptions are mmdet's test_cfg.rcnn.
type TestOptions struct {
	// ScoreThr drops class scores not above it; default 0.05.
	ScoreThr float64 `yaml:"score_thr"`
	// NMS is per class: iou_threshold 0.5.
	NMS rpn.NMSOptions `yaml:"nms"`
	// MaxPerImg is the number of detections kept; default 100.
	MaxPerImg int `yaml:"max_per_img"`
	// MaskThrBinary binarises the pasted mask probabilities; default 0.5.
	MaskThrBinary float64 `yaml:"mask_thr_binary"`
}

// DefaultExtractorOptions returns SingleRoIExtractor with RoIAlign of the
// given output size (7 for boxes, 14 for masks).
func DefaultExtractorOptions(size int) ExtractorOptions {
	return ExtractorOptions{Type: "SingleRoIExtractor", FinestScale: 56,
		RoILayer: RoILayerOptions{Type: "RoIAlign", OutputSize: size, Aligned: true}}
}

// DefaultBBoxHeadOptions returns mmdet's Shared2FCBBoxHead for COCO.
func DefaultBBoxHeadOptions() BBoxHeadOptions {
	return BBoxHeadOptions{
		Type:          "Shared2FCBBoxHead",
		FCOutChannels: 1024,
		NumClasses:    80,
		BBoxCoder:     rpn.CoderOptions{Type: "DeltaXYWHBBoxCoder", DeltaXYWHCoder: detops.NewDeltaXYWHCoder([4]float64{0.1, 0.1, 0.2, 0.2})},
		LossCls:       rpn.LossOptions{Type: "CrossEntropyLoss", LossWeight: 1},
		LossBBox:      rpn.LossOptions{Type: "L1Loss", Beta: 1, LossWeight: 1},
	}
}

// DefaultMaskHeadOptions returns mmdet's FCNMaskHead for COCO.
func DefaultMaskHeadOptions() MaskHeadOptions {
	return MaskHeadOptions{Type: "FCNMaskHead", NumConvs: 4, ConvOutChannels: 256, NumClasses: 80,
		LossMask: MaskLossOptions{Type: "CrossEntropyLoss", UseMask: true, LossWeight: 1}}
}

// DefaultHeadOptions returns mmdet's Mask R-CNN RoI head; withMask false
// leaves out the mask branch (Faster R-CNN).
func DefaultHeadOptions(withMask bool) HeadOptions {
	o := HeadOptions{Type: "StandardRoIHead", BBoxRoIExtractor: DefaultExtractorOptions(7), BBoxHead: DefaultBBoxHeadOptions()}
	if withMask {
		e, m := DefaultExtractorOptions(14), DefaultMaskHeadOptions()
		o.MaskRoIExtractor, o.MaskHead = &e, &m
	}
	return o
}

// DefaultTrainOptions returns mmdet's train_cfg.rcnn.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Assigner: rpn.AssignerOptions{Type: "MaxIoUAssigner", MaxIoUOptions: detops.MaxIoUOptions{
			PosIoUThr: 0.5, NegIoUThr: 0.5, MinPosIoU: 0.5, MatchLowQuality: true, GTMaxAssignAll: true, IgnoreIoFThr: -1}},
		Sampler: rpn.SamplerOptions{Type: "RandomSampler", SamplerOptions: detops.SamplerOptions{
			Num: 512, PosFraction: 0.25, NegPosUB: -1, AddGTAsProposals: true}},
		MaskSize:  28,
		PosWeight: -1,
	}
}

// DefaultTestOptions returns mmdet's test_cfg.rcnn.
func DefaultTestOptions() TestOptions {
	return TestOptions{ScoreThr: 0.05, NMS: rpn.NMSOptions{Type: "nms", IoUThreshold: 0.5}, MaxPerImg: 100, MaskThrBinary: 0.5}
}

func (o ExtractorOptions) validate(key string) error {
	switch {
	case o.Type != "SingleRoIExtractor":
		return fmt.Errorf("roi: %s type %q (want SingleRoIExtractor)", key, o.Type)
	case o.RoILayer.Type != "RoIAlign":
		return fmt.Errorf("roi: %s.roi_layer type %q (want RoIAlign)", key, o.RoILayer.Type)
	case o.RoILayer.OutputSize < 1:
		return fmt.Errorf("roi: %s.roi_layer output_size %d (want >= 1)", key, o.RoILayer.OutputSize)
	case o.RoILayer.SamplingRatio < 0:
		return fmt.Errorf("roi: %s.roi_layer sampling_ratio %d (want >= 0)", key, o.RoILayer.SamplingRatio)
	case o.FinestScale <= 0:
		return fmt.Errorf("roi: %s finest_scale %v (want > 0)", key, o.FinestScale)
	}
	return nil
}

// Validate checks TestOptions.
func (o TestOptions) Validate() error {
	switch {
	case o.NMS.Type != "nms":
		return fmt.Errorf("roi: test_cfg.rcnn nms type %q (want nms)", o.NMS.Type)
	case o.MaxPerImg < 1:
		return fmt.Errorf("roi: test_cfg.rcnn max_per_img %d (want >= 1)", o.MaxPerImg)
	}
	return nil
}
