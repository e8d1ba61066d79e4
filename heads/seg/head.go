package seg

import (
	"fmt"
	"strconv"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// DecodeHead is a segmentation head: it maps the feature maps of a backbone
// (or neck) to class logits and scores them against label maps.
type DecodeHead interface {
	nn.Module
	// Forward returns the N×NumClasses×h×w logits at the head's own
	// resolution (that of its finest input) from all the feature maps the
	// model produced; the head picks its inputs by in_index.
	Forward(feats []*nn.Var) *nn.Var
	// Loss resizes logits to the labels' h×w and returns the weighted loss
	// and the logged values (loss_ce, acc_seg in percent). labels is
	// N×h×w, row-major, 255 (the ignore index) on padding.
	Loss(logits *nn.Var, labels []uint8, h, w int) (*nn.Var, map[string]float64)
	// NumClasses is the number of output channels.
	NumClasses() int
	// AlignCorners is the align_corners of every bilinear resize of the
	// head, which the model's inference also uses for the logits.
	AlignCorners() bool
}

// Registry holds the segmentation head types configs name under
// model.decode_head.type and model.auxiliary_head.type: the segmentation
// part of the heads registry (config.Heads), whose RPN and RoI parts hold
// detection heads of other Go types (see config.NewPartRegistry).
var Registry = config.NewPartRegistry[DecodeHead](config.Heads, "segmentation decode heads")

// Ints is a config value that is either one integer or a list of them
// (mmseg's in_index and in_channels). Scalar records which form was given:
// a scalar in_index selects a single input.
type Ints struct {
	Values []int
	Scalar bool
}

// UnmarshalConfig implements config.Unmarshaler.
func (v *Ints) UnmarshalConfig(n config.Node) error {
	if s, ok := n.Scalar(); ok {
		i, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("seg: %q is not an integer or a list of integers", s)
		}
		*v = Ints{Values: []int{i}, Scalar: true}
		return nil
	}
	var list []int
	if err := n.Decode(&list); err != nil {
		return err
	}
	*v = Ints{Values: list}
	return nil
}

// LossOptions is mmseg's loss_decode: a CrossEntropyLoss.
type LossOptions struct {
	// Type must be "CrossEntropyLoss".
	Type string `yaml:"type"`
	// UseSigmoid must be false (softmax cross-entropy).
	UseSigmoid bool `yaml:"use_sigmoid"`
	// LossWeight scales the loss. Default 1; UperNet's auxiliary FCNHead
	// uses 0.4.
	LossWeight float64 `yaml:"loss_weight"`
	// ClassWeight holds one weight per class; nil weighs all classes 1.
	ClassWeight []float32 `yaml:"class_weight"`
	// AvgNonIgnore divides by the number of pixels not ignored instead of
	// all pixels. Default false, as mmseg.
	AvgNonIgnore bool `yaml:"avg_non_ignore"`
	// LossName is the key of the loss in the logged parts. Default "loss_ce".
	LossName string `yaml:"loss_name"`
}

// HeadOptions are the options every head shares (mmseg BaseDecodeHead's
// arguments); the yaml tags are mmseg's keys.
type HeadOptions struct {
	// InChannels are the channels of the selected inputs (one per
	// in_index). Filled by the model from its backbone or neck when the
	// config leaves them out.
	InChannels Ints `yaml:"in_channels"`
	// InIndex selects the inputs among the feature maps. A single integer
	// selects one map; a list needs input_transform multiple_select or
	// resize_concat. Default: every map (the model fills it).
	InIndex Ints `yaml:"in_index"`
	// InputTransform is "" (one input), "multiple_select" (a list of
	// inputs, forced by UPerHead and FPNHead) or "resize_concat" (inputs
	// resized to the first one's size and concatenated).
	InputTransform string `yaml:"input_transform"`
	// Channels is the width of the head's convolutions. Required.
	Channels int `yaml:"channels"`
	// NumClasses is the number of classes. Required.
	NumClasses int `yaml:"num_classes"`
	// DropoutRatio is the Dropout2d probability before conv_seg. Default 0.1.
	DropoutRatio float64 `yaml:"dropout_ratio"`
	// NormCfg configures the ConvModules' norm; null means none (and conv
	// biases). Default SyncBN (= BatchNorm2d).
	NormCfg *NormConfig `yaml:"norm_cfg"`
	// AlignCorners of the bilinear resizes. Default false.
	AlignCorners bool `yaml:"align_corners"`
	// IgnoreIndex is the label value that contributes no loss. Default 255.
	IgnoreIndex int `yaml:"ignore_index"`
	// LossDecode is the loss.
	LossDecode LossOptions `yaml:"loss_decode"`
	// Seed seeds the random initialisation of the head. Default 0.
	Seed uint64 `yaml:"seed"`
}

// DefaultHeadOptions returns the defaults documented on HeadOptions.
func DefaultHeadOptions() HeadOptions {
	n := DefaultNormConfig()
	return HeadOptions{
		DropoutRatio: 0.1,
		NormCfg:      &n,
		IgnoreIndex:  255,
		LossDecode:   LossOptions{Type: "CrossEntropyLoss", LossWeight: 1, LossName: "loss_ce"},
	}
}

// decodeBase is what every head has: the input selection, cls_seg
// (Dropout2d + conv_seg) and the loss. Its ModuleBase is the head's root.
type decodeBase struct {
	nn.ModuleBase
	opts HeadOptions
	// inChannels is the width of each input the head's layers see: one
	// entry per selected map, or one entry (the sum) for resize_concat.
	inChannels []int
	ConvSeg    *nn.Conv2d
	rng        *tensor.RNG
}

// initBase checks the shared options and creates conv_seg. multiple says
// the head needs a list of inputs (UPerHead, FPNHead).
func (b *decodeBase) initBase(name string, o HeadOptions, multiple bool) error {
	if multiple {
		if o.InputTransform == "" {
			o.InputTransform = "multiple_select"
		}
		if o.InputTransform != "multiple_select" {
			return fmt.Errorf("seg: %s input_transform %q: it takes multiple_select only", name, o.InputTransform)
		}
	}
	in, idx := o.InChannels.Values, o.InIndex.Values
	switch {
	case o.NumClasses < 1:
		return fmt.Errorf("seg: %s num_classes %d: want >= 1", name, o.NumClasses)
	case o.Channels < 1:
		return fmt.Errorf("seg: %s channels %d: want >= 1", name, o.Channels)
	case len(in) == 0:
		return fmt.Errorf("seg: %s in_channels missing", name)
	case len(idx) == 0:
		return fmt.Errorf("seg: %s in_index missing", name)
	case len(in) != len(idx):
		return fmt.Errorf("seg: %s has %d in_channels for %d in_index entries", name, len(in), len(idx))
	case !(o.DropoutRatio >= 0 && o.DropoutRatio < 1):
		return fmt.Errorf("seg: %s dropout_ratio %v outside [0, 1)", name, o.DropoutRatio)
	case o.LossDecode.Type != "CrossEntropyLoss":
		return fmt.Errorf("seg: %s loss_decode type %q: want CrossEntropyLoss", name, o.LossDecode.Type)
	case o.LossDecode.UseSigmoid:
		return fmt.Errorf("seg: %s loss_decode use_sigmoid: only softmax cross-entropy is supported", name)
	case o.LossDecode.ClassWeight != nil && len(o.LossDecode.ClassWeight) != o.NumClasses:
		return fmt.Errorf("seg: %s class_weight has %d entries for %d classes", name, len(o.LossDecode.ClassWeight), o.NumClasses)
	}
	if o.LossDecode.LossName == "" {
		o.LossDecode.LossName = "loss_ce"
	}
	for _, c := range in {
		if c < 1 {
			return fmt.Errorf("seg: %s in_channels %v: want positive widths", name, in)
		}
	}
	switch o.InputTransform {
	case "":
		if len(idx) != 1 {
			return fmt.Errorf("seg: %s in_index %v selects several inputs: set input_transform to multiple_select or resize_concat", name, idx)
		}
		b.inChannels = []int{in[0]}
	case "multiple_select":
		b.inChannels = append([]int(nil), in...)
	case "resize_concat":
		sum := 0
		for _, c := range in {
			sum += c
		}
		b.inChannels = []int{sum}
	default:
		return fmt.Errorf("seg: %s input_transform %q: want multiple_select, resize_concat or none", name, o.InputTransform)
	}
	b.opts = o
	b.rng = tensor.NewRNG(o.Seed)
	b.ConvSeg = nn.NewConv2d(o.Channels, o.NumClasses, [2]int{1, 1}, b.rng, nn.Conv2dOptions{})
	initConvSeg(b.ConvSeg, b.rng)
	b.RegisterModule("conv_seg", b.ConvSeg)
	return nil
}

// convModule builds a ConvModule with the head's norm and generator.
func (b *decodeBase) convModule(in, out, kernel, padding int) *ConvModule {
	return NewConvModule(in, out, kernel, padding, 1, b.opts.NormCfg, b.rng)
}

// NumClasses implements DecodeHead.
func (b *decodeBase) NumClasses() int { return b.opts.NumClasses }

// AlignCorners implements DecodeHead.
func (b *decodeBase) AlignCorners() bool { return b.opts.AlignCorners }

// Options returns the head's options after defaults and checks.
func (b *decodeBase) Options() HeadOptions { return b.opts }

// resize resizes x bilinearly to h×w with the head's align_corners; it
// returns x when the size already matches (an identity in PyTorch too).
func (b *decodeBase) resize(x *nn.Var, h, w int) *nn.Var {
	return Resize(x, h, w, b.opts.AlignCorners)
}

// Resize resizes x (N×C×H×W) bilinearly to h×w, as mmseg's resize; it
// returns x itself when the size already matches, which is what
// F.interpolate computes then.
func Resize(x *nn.Var, h, w int, alignCorners bool) *nn.Var {
	s := x.Shape()
	if s[2] == h && s[3] == w {
		return x
	}
	return nn.Interpolate(x, nn.InterpolateOptions{Size: [2]int{h, w}, Mode: nn.Bilinear, AlignCorners: alignCorners})
}

// transformInputs picks the head's inputs from feats (mmseg's
// _transform_inputs). It panics if an index is out of range or a map's
// width differs from in_channels, which the model's checks rule out.
func (b *decodeBase) transformInputs(feats []*nn.Var) []*nn.Var {
	idx := b.opts.InIndex.Values
	sel := make([]*nn.Var, len(idx))
	for i, k := range idx {
		if k < 0 {
			k += len(feats)
		}
		if k < 0 || k >= len(feats) {
			panic(fmt.Sprintf("seg: in_index %d outside the %d feature maps", idx[i], len(feats)))
		}
		sel[i] = feats[k]
		if c := sel[i].Shape()[1]; c != b.opts.InChannels.Values[i] {
			panic(fmt.Sprintf("seg: feature map %d has %d channels, in_channels says %d", k, c, b.opts.InChannels.Values[i]))
		}
	}
	if b.opts.InputTransform == "resize_concat" {
		h, w := sel[0].Shape()[2], sel[0].Shape()[3]
		for i := range sel {
			sel[i] = b.resize(sel[i], h, w)
		}
		return []*nn.Var{nn.Concat(1, sel...)}
	}
	return sel
}

// clsSeg applies Dropout2d and conv_seg (mmseg's cls_seg).
func (b *decodeBase) clsSeg(x *nn.Var) *nn.Var {
	x = Dropout2d(x, b.opts.DropoutRatio, b.Training())
	return b.ConvSeg.Forward(x)
}

// Loss implements DecodeHead as mmseg's loss_by_feat with a
// CrossEntropyLoss: the logits resized to h×w, the per-pixel cross-entropy
// w[y]·(−log p_y) summed and divided by N·h·w (or by the pixels not
// ignored with avg_non_ignore), times loss_weight. acc_seg is the top-1
// accuracy in percent over the pixels not ignored.
func (b *decodeBase) Loss(logits *nn.Var, labels []uint8, h, w int) (*nn.Var, map[string]float64) {
	n := logits.Shape()[0]
	if len(labels) != n*h*w {
		panic(fmt.Sprintf("seg: %d labels for %d maps of %dx%d", len(labels), n, h, w))
	}
	logits = b.resize(logits, h, w)
	ign := b.opts.IgnoreIndex
	sum := nn.CrossEntropy(logits, labels, nn.CrossEntropyOptions{
		IgnoreIndex: &ign,
		Weight:      b.opts.LossDecode.ClassWeight,
		Reduction:   nn.ReductionSum,
	})
	valid, correct := accuracy(logits.Value, labels, ign)
	denom := len(labels)
	if b.opts.LossDecode.AvgNonIgnore {
		denom = valid
	}
	scale := b.opts.LossDecode.LossWeight
	if denom > 0 {
		scale /= float64(denom)
	}
	loss := nn.Scale(sum, float32(scale))
	acc := 0.0
	if valid > 0 {
		acc = 100 * float64(correct) / float64(valid)
	}
	return loss, map[string]float64{b.opts.LossDecode.LossName: float64(loss.Data()[0]), "acc_seg": acc}
}

// accuracy counts the labelled pixels and those whose arg-max class equals
// the label (ties go to the lowest class, as torch.topk's first index).
func accuracy(logits *tensor.Tensor, labels []uint8, ignore int) (valid, correct int) {
	s := logits.Shape()
	n, c, hw := s[0], s[1], s[2]*s[3]
	d := logits.Data()
	for i := 0; i < n; i++ {
		plane := d[i*c*hw:]
		for p := 0; p < hw; p++ {
			y := int(labels[i*hw+p])
			if y == ignore {
				continue
			}
			valid++
			best, arg := plane[p], 0
			for k := 1; k < c; k++ {
				if v := plane[k*hw+p]; v > best {
					best, arg = v, k
				}
			}
			if arg == y {
				correct++
			}
		}
	}
	return valid, correct
}
