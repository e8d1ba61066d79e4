package rpn

import (
	"fmt"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Head is mmdet's RPNHead: rpn_conv (3×3, ReLU) shared by every level, then
// rpn_cls (1×1, one logit per anchor) and rpn_reg (1×1, four deltas per
// anchor).
//
// For a neck of 256 channels with 3 anchors per position, Forward maps
// level maps [N, 256, H, W] to objectness [N, 3, H, W] and deltas
// [N, 12, H, W]; channel a of the objectness and channels 4a..4a+3 of the
// deltas belong to base anchor a.
type Head struct {
	nn.ModuleBase
	Conv *nn.Conv2d // rpn_conv
	Cls  *nn.Conv2d // rpn_cls
	Reg  *nn.Conv2d // rpn_reg

	Anchors *detops.AnchorGenerator
	Coder   detops.DeltaXYWHCoder
	opts    HeadOptions
}

// New builds a head for maps of o.InChannels channels, initialised as mmdet
// does (normal, std 0.01, bias 0).
func New(o HeadOptions) (*Head, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.InChannels < 1 {
		return nil, fmt.Errorf("rpn: in_channels %d (want >= 1, or 0 to take the neck's)", o.InChannels)
	}
	ag, err := detops.NewAnchorGenerator(o.AnchorGenerator.AnchorOptions)
	if err != nil {
		return nil, fmt.Errorf("rpn: anchor_generator: %w", err)
	}
	na := ag.NumBaseAnchors()
	rng := tensor.NewRNG(o.Seed)
	h := &Head{Anchors: ag, Coder: o.BBoxCoder.DeltaXYWHCoder, opts: o}
	h.Conv = nn.NewConv2d(o.InChannels, o.FeatChannels, [2]int{3, 3}, rng, nn.Conv2dOptions{Padding: [2]int{1, 1}})
	h.Cls = nn.NewConv2d(o.FeatChannels, na, [2]int{1, 1}, rng, nn.Conv2dOptions{})
	h.Reg = nn.NewConv2d(o.FeatChannels, 4*na, [2]int{1, 1}, rng, nn.Conv2dOptions{})
	for _, c := range []*nn.Conv2d{h.Conv, h.Cls, h.Reg} {
		rng.FillNormal(c.Weight.Value, 0, 0.01)
		c.Bias.Value.Zero()
	}
	h.RegisterModule("rpn_conv", h.Conv)
	h.RegisterModule("rpn_cls", h.Cls)
	h.RegisterModule("rpn_reg", h.Reg)
	return h, nil
}

// Options returns the options the head was built with.
func (h *Head) Options() HeadOptions { return h.opts }

// Forward returns, for each level's map, the objectness logits [N, A, H, W]
// and the deltas [N, 4A, H, W].
func (h *Head) Forward(feats []*nn.Var) (cls, reg []*nn.Var) {
	for _, x := range feats {
		y := nn.ReLU(h.Conv.Forward(x))
		cls = append(cls, h.Cls.Forward(y))
		reg = append(reg, h.Reg.Forward(y))
	}
	return cls, reg
}

// levelSizes returns each level's (H, W) from the objectness maps,
// checking the level count against the anchor generator.
func (h *Head) levelSizes(cls []*nn.Var) [][2]int {
	if len(cls) != h.Anchors.NumLevels() {
		panic(fmt.Sprintf("rpn: %d feature levels for an anchor generator of %d strides", len(cls), h.Anchors.NumLevels()))
	}
	out := make([][2]int, len(cls))
	for l, c := range cls {
		s := c.Shape()
		out[l] = [2]int{s[2], s[3]}
	}
	return out
}
