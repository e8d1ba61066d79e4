package seg

import (
	"fmt"
	"strconv"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
)

// FPNHeadOptions configure FPNHead (mmseg's keys).
type FPNHeadOptions struct {
	HeadOptions `yaml:",inline"`
	// FeatureStrides are the strides of the inputs, finest first
	// (e.g. [4, 8, 16, 32]). Required, one per input.
	FeatureStrides []int `yaml:"feature_strides"`
}

// DefaultFPNHeadOptions returns the defaults documented on the options.
func DefaultFPNHeadOptions() FPNHeadOptions {
	return FPNHeadOptions{HeadOptions: DefaultHeadOptions()}
}

// FPNHead is the Semantic FPN head (mmseg's FPNHead): input i, at stride
// s_i, passes through max(1, log2(s_i/s_0)) 3×3 ConvModules, each followed,
// for i > 0, by a ×2 bilinear upsampling, so every level reaches the finest
// stride; the levels are summed (each resized to level 0's size) and go
// through cls_seg.
//
// Keys are those of mmseg's nn.Sequential per level, where the upsampling
// layers take indices too: scale_heads.0.0.conv.weight;
// scale_heads.1.0.conv.weight; scale_heads.2.0 and scale_heads.2.2; ...
//
// Example: four 256-channel FPN maps at strides 4..32 of a 512×512 image,
// channels 128, 21 classes: logits N×21×128×128.
type FPNHead struct {
	decodeBase
	FeatureStrides []int
	ScaleHeads     [][]*ConvModule
}

// NewFPNHead builds an FPNHead; its inputs are a list (multiple_select).
func NewFPNHead(o FPNHeadOptions) (*FPNHead, error) {
	h := &FPNHead{}
	if err := h.initBase("FPNHead", o.HeadOptions, true); err != nil {
		return nil, err
	}
	fs := o.FeatureStrides
	if len(fs) != len(h.inChannels) {
		return nil, fmt.Errorf("seg: FPNHead has %d feature_strides for %d inputs", len(fs), len(h.inChannels))
	}
	for _, s := range fs {
		if s < fs[0] {
			return nil, fmt.Errorf("seg: FPNHead feature_strides %v: the first must be the smallest", fs)
		}
	}
	h.FeatureStrides = append([]int(nil), fs...)
	heads := nn.NewModuleList()
	for i, s := range fs {
		n := max(1, int(log2(s)-log2(fs[0])))
		seq := &nn.ModuleBase{}
		var convs []*ConvModule
		for k := 0; k < n; k++ {
			in := h.opts.Channels
			if k == 0 {
				in = h.inChannels[i]
			}
			c := h.convModule(in, h.opts.Channels, 3, 1)
			idx := k
			if s != fs[0] {
				idx = 2 * k // the Upsample after each conv takes an index
			}
			seq.RegisterModule(strconv.Itoa(idx), c)
			convs = append(convs, c)
		}
		h.ScaleHeads = append(h.ScaleHeads, convs)
		heads.Append(seq)
	}
	h.RegisterModule("scale_heads", heads)
	return h, nil
}

// scaleHead runs level i's convolutions and upsamplings.
func (h *FPNHead) scaleHead(i int, x *nn.Var) *nn.Var {
	up := h.FeatureStrides[i] != h.FeatureStrides[0]
	for _, c := range h.ScaleHeads[i] {
		x = c.Forward(x)
		if up {
			s := x.Shape()
			x = h.resize(x, 2*s[2], 2*s[3])
		}
	}
	return x
}

// Features returns the summed map before cls_seg.
func (h *FPNHead) Features(feats []*nn.Var) *nn.Var {
	x := h.transformInputs(feats)
	out := h.scaleHead(0, x[0])
	s := out.Shape()
	for i := 1; i < len(x); i++ {
		out = nn.Add(out, h.resize(h.scaleHead(i, x[i]), s[2], s[3]))
	}
	return out
}

// Forward implements DecodeHead.
func (h *FPNHead) Forward(feats []*nn.Var) *nn.Var { return h.clsSeg(h.Features(feats)) }

func init() {
	config.RegisterOptions(Registry, "FPNHead", DefaultFPNHeadOptions(),
		func(o FPNHeadOptions) (DecodeHead, error) { return NewFPNHead(o) })
}
