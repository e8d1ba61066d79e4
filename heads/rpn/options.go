package rpn

import (
	"fmt"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/heads/detops"
)

// HeadRegistry is the RPN part of the heads registry (config.Heads): the
// types a detector's rpn_head may name. It builds a head's options rather
// than the head, because the detector sizes the head from its neck (in
// channels, anchor strides) before calling New.
//
// NOTE: the heads registry is split into typed parts (RPN heads, RoI heads,
// segmentation decode heads) with config.NewPartRegistry instead of one
// registry of any: each slot keeps its Go type, `dp config registries`
// still lists one "heads" registry, and a head of another part in this
// slot is an error naming the part it belongs to and the types allowed
// here.
var HeadRegistry = config.NewPartRegistry[HeadOptions](config.Heads, "RPN heads")

func init() {
	config.RegisterOptions(HeadRegistry, "RPNHead", DefaultHeadOptions(), func(o HeadOptions) (HeadOptions, error) { return o, nil })
}

// UnmarshalConfig implements config.Unmarshaler: the rpn_head mapping's
// type is checked against HeadRegistry, then its keys are decoded strictly
// onto o (whose values are the defaults).
func (o *HeadOptions) UnmarshalConfig(n config.Node) error {
	if err := HeadRegistry.CheckType(n); err != nil {
		return err
	}
	type plain HeadOptions // without this method, for Decode
	return n.Decode((*plain)(o))
}

// HeadOptions configure the RPN head; the yaml keys are those of mmdet's
// model.rpn_head mapping (beside type: RPNHead).
type HeadOptions struct {
	// Type must be "RPNHead".
	Type string `yaml:"type"`
	// InChannels is the width of the neck's maps; 0 (the default) takes it
	// from the neck.
	InChannels int `yaml:"in_channels"`
	// FeatChannels is the width of rpn_conv; default 256.
	FeatChannels int `yaml:"feat_channels"`
	// AnchorGenerator places the anchors; default scales [8], ratios
	// [0.5, 1, 2], strides [4, 8, 16, 32, 64].
	AnchorGenerator AnchorOptions `yaml:"anchor_generator"`
	// BBoxCoder encodes regression targets; default means 0, stds 1.
	BBoxCoder CoderOptions `yaml:"bbox_coder"`
	// LossCls is the objectness loss: CrossEntropyLoss with use_sigmoid
	// true (the only form supported), loss_weight 1.
	LossCls LossOptions `yaml:"loss_cls"`
	// LossBBox is the regression loss: L1Loss (default) or SmoothL1Loss
	// with beta, loss_weight 1.
	LossBBox LossOptions `yaml:"loss_bbox"`
	// Seed seeds the initialisation (normal, std 0.01, bias 0). Default 0.
	Seed uint64 `yaml:"seed"`
}

// AnchorOptions is detops.AnchorOptions with mmdet's type key.
type AnchorOptions struct {
	// Type must be "AnchorGenerator".
	Type                 string `yaml:"type"`
	detops.AnchorOptions `yaml:",inline"`
}

// CoderOptions is detops.DeltaXYWHCoder with mmdet's type key.
type CoderOptions struct {
	// Type must be "DeltaXYWHBBoxCoder".
	Type                  string `yaml:"type"`
	detops.DeltaXYWHCoder `yaml:",inline"`
}

// LossOptions configure a loss term as mmdet's loss dicts do.
type LossOptions struct {
	// Type is "CrossEntropyLoss", "L1Loss" or "SmoothL1Loss".
	Type string `yaml:"type"`
	// UseSigmoid selects the sigmoid (binary) form of CrossEntropyLoss.
	UseSigmoid bool `yaml:"use_sigmoid"`
	// Beta is SmoothL1Loss's threshold; default 1.
	Beta float64 `yaml:"beta"`
	// LossWeight scales the term; default 1.
	LossWeight float64 `yaml:"loss_weight"`
}

// TrainOptions are mmdet's train_cfg.rpn: how anchors become targets.
type TrainOptions struct {
	// Assigner: MaxIoUAssigner 0.7 / 0.3 / 0.3, low-quality matches on.
	Assigner AssignerOptions `yaml:"assigner"`
	// Sampler: RandomSampler of 256 anchors, half positive.
	Sampler SamplerOptions `yaml:"sampler"`
	// AllowedBorder is how far (pixels) an anchor may cross the image
	// border and still be a target; negative (the default, -1) keeps every
	// anchor whose position is inside the unpadded image.
	AllowedBorder float64 `yaml:"allowed_border"`
	// PosWeight weighs positive anchors in the objectness loss; <= 0 (the
	// default, -1) means 1.
	PosWeight float64 `yaml:"pos_weight"`
	// Debug is accepted for mmdet configs and ignored.
	Debug bool `yaml:"debug"`
}

// AssignerOptions is detops.MaxIoUOptions with mmdet's type key.
type AssignerOptions struct {
	// Type must be "MaxIoUAssigner".
	Type                 string `yaml:"type"`
	detops.MaxIoUOptions `yaml:",inline"`
}

// SamplerOptions is detops.SamplerOptions with mmdet's type key.
type SamplerOptions struct {
	// Type must be "RandomSampler".
	Type                  string `yaml:"type"`
	detops.SamplerOptions `yaml:",inline"`
}

// NMSOptions configure NMS as mmdet's nms dicts do.
type NMSOptions struct {
	// Type must be "nms".
	Type string `yaml:"type"`
	// IoUThreshold drops a box whose IoU with a kept one exceeds it.
	IoUThreshold float64 `yaml:"iou_threshold"`
}

// ProposalOptions are mmdet's train_cfg.rpn_proposal and test_cfg.rpn.
type ProposalOptions struct {
	// NMSPre is the number of top-scoring anchors kept per level before
	// NMS; default 1000 (test; 2000 in training). <= 0 keeps all.
	NMSPre int `yaml:"nms_pre"`
	// MaxPerImg is the number of proposals kept after NMS; default 1000.
	MaxPerImg int `yaml:"max_per_img"`
	// NMS: iou_threshold 0.7.
	NMS NMSOptions `yaml:"nms"`
	// MinBBoxSize drops proposals whose width or height is not above it;
	// default 0 (negative keeps all).
	MinBBoxSize float64 `yaml:"min_bbox_size"`
}

// DefaultHeadOptions returns mmdet's Mask R-CNN R50-FPN RPN head.
func DefaultHeadOptions() HeadOptions {
	return HeadOptions{
		Type:            "RPNHead",
		FeatChannels:    256,
		AnchorGenerator: AnchorOptions{Type: "AnchorGenerator", AnchorOptions: detops.DefaultAnchorOptions()},
		BBoxCoder:       CoderOptions{Type: "DeltaXYWHBBoxCoder", DeltaXYWHCoder: detops.NewDeltaXYWHCoder([4]float64{1, 1, 1, 1})},
		LossCls:         LossOptions{Type: "CrossEntropyLoss", UseSigmoid: true, LossWeight: 1},
		LossBBox:        LossOptions{Type: "L1Loss", Beta: 1, LossWeight: 1},
	}
}

// DefaultTrainOptions returns mmdet's train_cfg.rpn.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Assigner: AssignerOptions{Type: "MaxIoUAssigner", MaxIoUOptions: detops.MaxIoUOptions{
			PosIoUThr: 0.7, NegIoUThr: 0.3, MinPosIoU: 0.3, MatchLowQuality: true, GTMaxAssignAll: true, IgnoreIoFThr: -1}},
		Sampler: SamplerOptions{Type: "RandomSampler", SamplerOptions: detops.SamplerOptions{
			Num: 256, PosFraction: 0.5, NegPosUB: -1}},
		AllowedBorder: -1,
		PosWeight:     -1,
	}
}

// DefaultTrainProposalOptions returns mmdet's train_cfg.rpn_proposal.
func DefaultTrainProposalOptions() ProposalOptions {
	return ProposalOptions{NMSPre: 2000, MaxPerImg: 1000, NMS: NMSOptions{Type: "nms", IoUThreshold: 0.7}}
}

// DefaultTestProposalOptions returns mmdet's test_cfg.rpn.
func DefaultTestProposalOptions() ProposalOptions {
	return ProposalOptions{NMSPre: 1000, MaxPerImg: 1000, NMS: NMSOptions{Type: "nms", IoUThreshold: 0.7}}
}

// Validate checks the loss and box settings a head can run with.
func (o HeadOptions) Validate() error {
	switch {
	case o.Type != "RPNHead":
		return fmt.Errorf("rpn: head type %q (want RPNHead)", o.Type)
	case o.FeatChannels < 1:
		return fmt.Errorf("rpn: feat_channels %d (want >= 1)", o.FeatChannels)
	case o.AnchorGenerator.Type != "AnchorGenerator":
		return fmt.Errorf("rpn: anchor_generator type %q (want AnchorGenerator)", o.AnchorGenerator.Type)
	case o.BBoxCoder.Type != "DeltaXYWHBBoxCoder":
		return fmt.Errorf("rpn: bbox_coder type %q (want DeltaXYWHBBoxCoder)", o.BBoxCoder.Type)
	case o.LossCls.Type != "CrossEntropyLoss" || !o.LossCls.UseSigmoid:
		return fmt.Errorf("rpn: loss_cls %s with use_sigmoid %v (want CrossEntropyLoss with use_sigmoid true)", o.LossCls.Type, o.LossCls.UseSigmoid)
	}
	for i, s := range o.BBoxCoder.Stds {
		if s <= 0 {
			return fmt.Errorf("rpn: bbox_coder target_stds[%d] = %v (want > 0)", i, s)
		}
	}
	return CheckRegLoss("rpn", "loss_bbox", o.LossBBox)
}

// CheckRegLoss reports whether o is a regression loss the heads support
// (L1Loss, or SmoothL1Loss with beta >= 0); pkg and key name it in errors.
func CheckRegLoss(pkg, key string, o LossOptions) error {
	switch o.Type {
	case "L1Loss":
	case "SmoothL1Loss":
		if o.Beta < 0 {
			return fmt.Errorf("%s: %s beta %v (want >= 0)", pkg, key, o.Beta)
		}
	default:
		return fmt.Errorf("%s: %s type %q (want L1Loss or SmoothL1Loss)", pkg, key, o.Type)
	}
	return nil
}

// Validate checks the assigner and sampler types and numbers.
func (o TrainOptions) Validate(pkg string) error {
	switch {
	case o.Assigner.Type != "MaxIoUAssigner":
		return fmt.Errorf("%s: assigner type %q (want MaxIoUAssigner)", pkg, o.Assigner.Type)
	case o.Sampler.Type != "RandomSampler":
		return fmt.Errorf("%s: sampler type %q (want RandomSampler)", pkg, o.Sampler.Type)
	case o.Sampler.Num < 1:
		return fmt.Errorf("%s: sampler num %d (want >= 1)", pkg, o.Sampler.Num)
	case o.Sampler.PosFraction < 0 || o.Sampler.PosFraction > 1:
		return fmt.Errorf("%s: sampler pos_fraction %v outside [0, 1]", pkg, o.Sampler.PosFraction)
	}
	return nil
}

// Validate checks the NMS type and counts.
func (o ProposalOptions) Validate(key string) error {
	switch {
	case o.NMS.Type != "nms":
		return fmt.Errorf("rpn: %s nms type %q (want nms)", key, o.NMS.Type)
	case o.MaxPerImg < 1:
		return fmt.Errorf("rpn: %s max_per_img %d (want >= 1)", key, o.MaxPerImg)
	}
	return nil
}
