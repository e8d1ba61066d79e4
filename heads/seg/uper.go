package seg

import (
	"fmt"
	"strconv"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
)

// UPerHeadOptions configure UPerHead: the shared HeadOptions plus the
// pyramid pooling scales.
type UPerHeadOptions struct {
	HeadOptions `yaml:",inline"`
	// PoolScales are the output sizes of the pyramid pooling module's
	// adaptive average pools. Default [1, 2, 3, 6].
	PoolScales []int `yaml:"pool_scales"`
}

// DefaultUPerHeadOptions returns the defaults documented on the options.
func DefaultUPerHeadOptions() UPerHeadOptions {
	return UPerHeadOptions{HeadOptions: DefaultHeadOptions(), PoolScales: []int{1, 2, 3, 6}}
}

// PPM is PSPNet's pyramid pooling module as mmseg's PPM: for each scale s
// an adaptive average pool to s×s, a 1×1 ConvModule, and a bilinear resize
// back to the input's size. Keys: "<i>.1.conv.weight", "<i>.1.bn.*" (index
// 0 of each branch is the parameter-free pool).
type PPM struct {
	nn.ModuleBase
	Scales       []int
	Convs        []*ConvModule
	alignCorners bool
}

// ppmBranch holds one branch's ConvModule under the key "1", as mmseg's
// nn.Sequential(AdaptiveAvgPool2d, ConvModule).
type ppmBranch struct{ nn.ModuleBase }

// Forward returns the upsampled pooled maps of x, one per scale.
func (p *PPM) Forward(x *nn.Var) []*nn.Var {
	h, w := x.Shape()[2], x.Shape()[3]
	outs := make([]*nn.Var, len(p.Scales))
	for i, s := range p.Scales {
		y := p.Convs[i].Forward(nn.AdaptiveAvgPool2d(x, s, s))
		outs[i] = Resize(y, h, w, p.alignCorners)
	}
	return outs
}

// UPerHead is UperNet's decode head (mmseg's UPerHead): PPM on the last
// input plus a 3×3 bottleneck form the top level; 1×1 lateral ConvModules
// on the other inputs; a top-down path adds each level's bilinearly resized
// upper neighbour; 3×3 FPN ConvModules on all but the top level; every
// level is resized to the finest one, concatenated, and fused by the 3×3
// fpn_bottleneck before cls_seg.
//
// Example: in_channels [96, 192, 384, 768] at strides 4..32 of a 512×512
// image, channels 512, 150 classes: inputs N×96×128×128 ... N×768×16×16
// give logits N×150×128×128.
type UPerHead struct {
	decodeBase
	PSP           *PPM
	Bottleneck    *ConvModule
	LateralConvs  []*ConvModule
	FPNConvs      []*ConvModule
	FPNBottleneck *ConvModule
}

// NewUPerHead builds a UPerHead; its inputs are a list (multiple_select).
func NewUPerHead(o UPerHeadOptions) (*UPerHead, error) {
	h := &UPerHead{}
	if err := h.initBase("UPerHead", o.HeadOptions, true); err != nil {
		return nil, err
	}
	if len(o.PoolScales) == 0 {
		return nil, fmt.Errorf("seg: UPerHead pool_scales empty")
	}
	for _, s := range o.PoolScales {
		if s < 1 {
			return nil, fmt.Errorf("seg: UPerHead pool_scales %v: want sizes >= 1", o.PoolScales)
		}
	}
	in, ch := h.inChannels, h.opts.Channels
	top := in[len(in)-1]
	h.PSP = &PPM{Scales: append([]int(nil), o.PoolScales...), alignCorners: h.opts.AlignCorners}
	for i := range o.PoolScales {
		c := h.convModule(top, ch, 1, 0)
		br := &ppmBranch{}
		br.RegisterModule("1", c)
		h.PSP.RegisterModule(strconv.Itoa(i), br)
		h.PSP.Convs = append(h.PSP.Convs, c)
	}
	h.RegisterModule("psp_modules", h.PSP)
	h.Bottleneck = h.convModule(top+len(o.PoolScales)*ch, ch, 3, 1)
	h.RegisterModule("bottleneck", h.Bottleneck)
	lat, fpn := nn.NewModuleList(), nn.NewModuleList()
	for _, c := range in[:len(in)-1] {
		l := h.convModule(c, ch, 1, 0)
		f := h.convModule(ch, ch, 3, 1)
		h.LateralConvs = append(h.LateralConvs, l)
		h.FPNConvs = append(h.FPNConvs, f)
		lat.Append(l)
		fpn.Append(f)
	}
	h.RegisterModule("lateral_convs", lat)
	h.RegisterModule("fpn_convs", fpn)
	h.FPNBottleneck = h.convModule(len(in)*ch, ch, 3, 1)
	h.RegisterModule("fpn_bottleneck", h.FPNBottleneck)
	return h, nil
}

// Features returns the fused N×channels map at the finest input's
// resolution (mmseg's _forward_feature), before cls_seg.
func (h *UPerHead) Features(feats []*nn.Var) *nn.Var {
	in := h.transformInputs(feats)
	top := in[len(in)-1]
	psp := append([]*nn.Var{top}, h.PSP.Forward(top)...)
	laterals := make([]*nn.Var, len(in))
	for i, l := range h.LateralConvs {
		laterals[i] = l.Forward(in[i])
	}
	laterals[len(in)-1] = h.Bottleneck.Forward(nn.Concat(1, psp...))
	for i := len(laterals) - 1; i > 0; i-- {
		s := laterals[i-1].Shape()
		laterals[i-1] = nn.Add(laterals[i-1], h.resize(laterals[i], s[2], s[3]))
	}
	outs := make([]*nn.Var, len(laterals))
	for i, f := range h.FPNConvs {
		outs[i] = f.Forward(laterals[i])
	}
	outs[len(outs)-1] = laterals[len(laterals)-1]
	s := outs[0].Shape()
	for i := 1; i < len(outs); i++ {
		outs[i] = h.resize(outs[i], s[2], s[3])
	}
	return h.FPNBottleneck.Forward(nn.Concat(1, outs...))
}

// Forward implements DecodeHead.
func (h *UPerHead) Forward(feats []*nn.Var) *nn.Var { return h.clsSeg(h.Features(feats)) }

func init() {
	config.RegisterOptions(Registry, "UPerHead", DefaultUPerHeadOptions(),
		func(o UPerHeadOptions) (DecodeHead, error) { return NewUPerHead(o) })
}
