package seg

import (
	"fmt"
	"strconv"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
)

// FCNHeadOptions configure FCNHead (mmseg's keys).
type FCNHeadOptions struct {
	HeadOptions `yaml:",inline"`
	// NumConvs is the number of ConvModules. Default 2; 0 needs
	// in_channels equal to channels.
	NumConvs int `yaml:"num_convs"`
	// KernelSize of the convolutions. Default 3.
	KernelSize int `yaml:"kernel_size"`
	// ConcatInput concatenates the input with the convolutions' output and
	// fuses them with one more ConvModule (conv_cat). Default true.
	ConcatInput bool `yaml:"concat_input"`
	// Dilation of the convolutions. Default 1.
	Dilation int `yaml:"dilation"`
}

// DefaultFCNHeadOptions returns the defaults documented on the options.
func DefaultFCNHeadOptions() FCNHeadOptions {
	return FCNHeadOptions{HeadOptions: DefaultHeadOptions(), NumConvs: 2, KernelSize: 3, ConcatInput: true, Dilation: 1}
}

// FCNHead is mmseg's FCNHead: NumConvs ConvModules (convs.0, convs.1, ...),
// optionally conv_cat over the concatenated input and features, then
// cls_seg. UperNet uses it as the auxiliary head on stage 3 with one conv,
// 256 channels, no concat and loss weight 0.4.
type FCNHead struct {
	decodeBase
	Convs   []*ConvModule
	ConvCat *ConvModule // nil without ConcatInput
}

// NewFCNHead builds an FCNHead.
func NewFCNHead(o FCNHeadOptions) (*FCNHead, error) {
	h := &FCNHead{}
	if err := h.initBase("FCNHead", o.HeadOptions, false); err != nil {
		return nil, err
	}
	switch {
	case o.NumConvs < 0:
		return nil, fmt.Errorf("seg: FCNHead num_convs %d: want >= 0", o.NumConvs)
	case o.KernelSize < 1 || o.Dilation < 1:
		return nil, fmt.Errorf("seg: FCNHead kernel_size %d, dilation %d: want >= 1", o.KernelSize, o.Dilation)
	case o.NumConvs == 0 && h.inChannels[0] != h.opts.Channels:
		return nil, fmt.Errorf("seg: FCNHead num_convs 0 needs in_channels (%d) equal to channels (%d)", h.inChannels[0], h.opts.Channels)
	}
	in, ch := h.inChannels[0], h.opts.Channels
	pad := o.KernelSize / 2 * o.Dilation
	if o.NumConvs > 0 {
		convs := &nn.ModuleBase{}
		for i := 0; i < o.NumConvs; i++ {
			c := in
			if i > 0 {
				c = ch
			}
			m := NewConvModule(c, ch, o.KernelSize, pad, o.Dilation, h.opts.NormCfg, h.rng)
			h.Convs = append(h.Convs, m)
			convs.RegisterModule(strconv.Itoa(i), m)
		}
		h.RegisterModule("convs", convs)
	}
	if o.ConcatInput {
		h.ConvCat = NewConvModule(in+ch, ch, o.KernelSize, o.KernelSize/2, 1, h.opts.NormCfg, h.rng)
		h.RegisterModule("conv_cat", h.ConvCat)
	}
	return h, nil
}

// Features returns the map before cls_seg.
func (h *FCNHead) Features(feats []*nn.Var) *nn.Var {
	x := h.transformInputs(feats)[0]
	y := x
	for _, c := range h.Convs {
		y = c.Forward(y)
	}
	if h.ConvCat != nil {
		y = h.ConvCat.Forward(nn.Concat(1, x, y))
	}
	return y
}

// Forward implements DecodeHead.
func (h *FCNHead) Forward(feats []*nn.Var) *nn.Var { return h.clsSeg(h.Features(feats)) }

func init() {
	config.RegisterOptions(Registry, "FCNHead", DefaultFCNHeadOptions(),
		func(o FCNHeadOptions) (DecodeHead, error) { return NewFCNHead(o) })
}
