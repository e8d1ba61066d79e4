package necks

import (
	"fmt"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// FPN is the Feature Pyramid Network (Lin et al., "Feature Pyramid Networks
// for Object Detection", CVPR 2017, https://arxiv.org/abs/1612.03144) as
// open-mmlab/mmdetection's mmdet/models/necks/fpn.py (3.x) builds it without
// norm and activation: a 1×1 lateral conv per used input level, a top-down
// path adding each coarser lateral, upsampled by nearest neighbour to the
// finer one's size, a 3×3 output conv per level, and extra coarser levels by
// 1×1 stride-2 max pooling or by 3×3 stride-2 convs. Its parameter names are
// mmdet's: lateral_convs.{i}.conv.weight/bias and fpn_convs.{i}.conv.weight/
// bias (ConvModule keeps its conv under "conv"), the extra convs following
// the level convs in fpn_convs.
//
// Example: with in_channels [256, 512, 1024, 2048], out_channels 256 and
// num_outs 5 (Mask R-CNN), inputs of 1×C×200×304, 100×152, 50×76 and 25×38
// give five 1×256 maps of 200×304, 100×152, 50×76, 25×38 and 13×19, with
// strides 4, 8, 16, 32 and 64.
type FPN struct {
	nn.ModuleBase
	LateralConvs []*ConvModule // one per used input level
	FPNConvs     []*ConvModule // one per used input level, then the extra convs

	opts     FPNOptions
	endLevel int // one past the last input level used (mmdet's backbone_end_level)
	channels []int
	strides  []int
}

// ConvModule is mmcv's ConvModule without norm and activation: a
// convolution with a bias, registered as "conv".
type ConvModule struct {
	nn.ModuleBase
	Conv *nn.Conv2d
}

// Forward convolves x.
func (c *ConvModule) Forward(x *nn.Var) *nn.Var { return c.Conv.Forward(x) }

// newConvModule returns a k×k ConvModule with padding k/2, its weight drawn
// as mmdet's FPN initialises it (Xavier uniform) and its bias zero.
func newConvModule(rng *tensor.RNG, in, out, k, stride int) *ConvModule {
	c := &ConvModule{}
	c.Conv = nn.NewConv2d(in, out, [2]int{k, k}, rng, nn.Conv2dOptions{
		Stride: [2]int{stride, stride}, Padding: [2]int{k / 2, k / 2}})
	nn.XavierUniform(c.Conv.Weight.Value, rng, 1)
	c.Conv.Bias.Value.Zero()
	c.RegisterModule("conv", c.Conv)
	return c
}

// FPNOptions configures NewFPN; the yaml tags are mmdet's FPN arguments.
// Start from DefaultFPNOptions.
type FPNOptions struct {
	// InChannels is the channel count of each input map. Required; the
	// model builder fills it from the backbone's OutChannels.
	InChannels []int `yaml:"in_channels"`
	// InStrides is the stride of each input map, from which OutStrides
	// follows. Default: 4·2^i for input i (the strides of ResNet and
	// SNN-MLP); model builders pass the backbone's OutStrides.
	InStrides []int `yaml:"in_strides"`
	// OutChannels is the channel count of every output. Default 256.
	OutChannels int `yaml:"out_channels"`
	// NumOuts is the number of outputs: the used input levels, then extra
	// levels each of half the previous resolution. Default 5.
	NumOuts int `yaml:"num_outs"`
	// StartLevel is the first input level used. Default 0.
	StartLevel int `yaml:"start_level"`
	// EndLevel is the last input level used, inclusive (mmdet 3.x); -1
	// means the last input. When it is not the last input, no extra level
	// is allowed: num_outs must equal end_level - start_level + 1.
	// Default -1.
	EndLevel int `yaml:"end_level"`
	// AddExtraConvs makes the extra levels 3×3 stride-2 convs instead of
	// max pooling: false (pooling), true (same as "on_input"), "on_input"
	// (the first extra conv reads the last used input map), "on_lateral"
	// (its lateral) or "on_output" (its output). Default false.
	AddExtraConvs ExtraConvs `yaml:"add_extra_convs"`
	// ReluBeforeExtraConvs applies ReLU before each extra conv after the
	// first. Default false.
	ReluBeforeExtraConvs bool `yaml:"relu_before_extra_convs"`
	// UpsampleCfg is how the top-down path upsamples (mmdet's
	// upsample_cfg).
	UpsampleCfg UpsampleCfg `yaml:"upsample_cfg"`
	// Init seeds the random initialisation.
	Init FPNInit `yaml:"init"`
}

// UpsampleCfg is mmdet's upsample_cfg, the keyword arguments of the
// top-down path's F.interpolate.
type UpsampleCfg struct {
	// Mode is "nearest" or "bilinear". Default "nearest".
	Mode string `yaml:"mode"`
	// ScaleFactor, when set, upsamples by this factor (output size
	// ⌊size·factor⌋, which must then equal the finer level's size);
	// otherwise each map is resized to the finer level's size, as mmdet
	// does by default. Default none.
	ScaleFactor float64 `yaml:"scale_factor"`
	// AlignCorners applies to bilinear mode. Default false.
	AlignCorners bool `yaml:"align_corners"`
}

// FPNInit says how the weights start.
type FPNInit struct {
	// Seed seeds the Xavier-uniform conv weights (biases start at zero),
	// mmdet's FPN init_cfg. Default 0.
	Seed uint64 `yaml:"seed"`
}

// ExtraConvs is the add_extra_convs setting: "" (false: max pooling),
// "on_input", "on_lateral" or "on_output". In a config it is false, true
// (meaning "on_input") or one of those strings.
type ExtraConvs string

// The sources of the first extra conv.
const (
	ExtraOnInput   ExtraConvs = "on_input"
	ExtraOnLateral ExtraConvs = "on_lateral"
	ExtraOnOutput  ExtraConvs = "on_output"
)

// UnmarshalConfig implements config.Unmarshaler: it accepts a boolean or
// one of the three source names.
func (e *ExtraConvs) UnmarshalConfig(n config.Node) error {
	s, ok := n.Scalar()
	switch {
	case ok && n.Tag() == "!!bool":
		*e = ""
		if s == "true" || s == "True" {
			*e = ExtraOnInput
		}
	case ok && n.Tag() == "!!str" && (s == string(ExtraOnInput) || s == string(ExtraOnLateral) || s == string(ExtraOnOutput)):
		*e = ExtraConvs(s)
	default:
		return fmt.Errorf("necks: add_extra_convs %q: want false, true, on_input, on_lateral or on_output", s)
	}
	return nil
}

// DefaultFPNOptions returns the defaults documented on FPNOptions' fields.
func DefaultFPNOptions() FPNOptions {
	return FPNOptions{OutChannels: 256, NumOuts: 5, EndLevel: -1, UpsampleCfg: UpsampleCfg{Mode: "nearest"}}
}

// NewFPN builds an FPN from options (see FPNOptions for each key and its
// default).
func NewFPN(o FPNOptions) (*FPN, error) {
	n := len(o.InChannels)
	switch {
	case n == 0:
		return nil, fmt.Errorf("necks: FPN in_channels is empty (want the channels of each input map)")
	case o.InStrides != nil && len(o.InStrides) != n:
		return nil, fmt.Errorf("necks: FPN in_strides %v for %d inputs", o.InStrides, n)
	case o.OutChannels < 1:
		return nil, fmt.Errorf("necks: FPN out_channels %d (want >= 1)", o.OutChannels)
	case o.StartLevel < 0 || o.StartLevel >= n:
		return nil, fmt.Errorf("necks: FPN start_level %d for %d inputs (want 0..%d)", o.StartLevel, n, n-1)
	case o.UpsampleCfg.Mode != "nearest" && o.UpsampleCfg.Mode != "bilinear":
		return nil, fmt.Errorf("necks: FPN upsample_cfg.mode %q (want nearest or bilinear)", o.UpsampleCfg.Mode)
	case o.UpsampleCfg.ScaleFactor < 0:
		return nil, fmt.Errorf("necks: FPN upsample_cfg.scale_factor %v (want > 0, or unset to resize to the finer level)", o.UpsampleCfg.ScaleFactor)
	}
	for i, c := range o.InChannels {
		if c < 1 {
			return nil, fmt.Errorf("necks: FPN in_channels[%d] = %d (want >= 1)", i, c)
		}
	}
	f := &FPN{opts: o}
	if o.EndLevel == -1 || o.EndLevel == n-1 {
		f.endLevel = n
		if o.NumOuts < n-o.StartLevel {
			return nil, fmt.Errorf("necks: FPN num_outs %d is less than the %d input levels from start_level %d", o.NumOuts, n-o.StartLevel, o.StartLevel)
		}
	} else {
		if o.EndLevel < o.StartLevel || o.EndLevel >= n {
			return nil, fmt.Errorf("necks: FPN end_level %d (want -1 or %d..%d)", o.EndLevel, o.StartLevel, n-1)
		}
		f.endLevel = o.EndLevel + 1
		if o.NumOuts != o.EndLevel-o.StartLevel+1 {
			return nil, fmt.Errorf("necks: FPN num_outs %d with end_level %d: want end_level - start_level + 1 = %d (no extra levels)",
				o.NumOuts, o.EndLevel, o.EndLevel-o.StartLevel+1)
		}
	}
	strides := o.InStrides
	if strides == nil {
		for i := range n {
			strides = append(strides, 4<<i)
		}
	}
	rng := tensor.NewRNG(o.Init.Seed)
	laterals, convs := &nn.ModuleList{}, &nn.ModuleList{}
	for i := o.StartLevel; i < f.endLevel; i++ {
		l := newConvModule(rng, o.InChannels[i], o.OutChannels, 1, 1)
		c := newConvModule(rng, o.OutChannels, o.OutChannels, 3, 1)
		laterals.Append(l)
		convs.Append(c)
		f.LateralConvs = append(f.LateralConvs, l)
		f.FPNConvs = append(f.FPNConvs, c)
		f.strides = append(f.strides, strides[i])
	}
	extra := o.NumOuts - f.endLevel + o.StartLevel
	for i := range extra {
		if o.AddExtraConvs != "" {
			in := o.OutChannels
			if i == 0 && o.AddExtraConvs == ExtraOnInput {
				in = o.InChannels[f.endLevel-1]
			}
			c := newConvModule(rng, in, o.OutChannels, 3, 2)
			convs.Append(c)
			f.FPNConvs = append(f.FPNConvs, c)
		}
		f.strides = append(f.strides, 2*f.strides[len(f.strides)-1])
	}
	f.RegisterModule("lateral_convs", laterals)
	f.RegisterModule("fpn_convs", convs)
	for range o.NumOuts {
		f.channels = append(f.channels, o.OutChannels)
	}
	return f, nil
}

// Options returns the options the FPN was built with.
func (f *FPN) Options() FPNOptions { return f.opts }

// OutChannels implements Neck.
func (f *FPN) OutChannels() []int { return f.channels }

// OutStrides implements Neck.
func (f *FPN) OutStrides() []int { return f.strides }

// Forward implements Neck: it maps one map per in_channels entry to
// num_outs maps of out_channels channels, finest first. It panics when
// the number or channels of the inputs differ from in_channels.
func (f *FPN) Forward(feats []*nn.Var) []*nn.Var {
	o := &f.opts
	if len(feats) != len(o.InChannels) {
		panic(fmt.Sprintf("necks: FPN got %d input maps, want %d (in_channels %v)", len(feats), len(o.InChannels), o.InChannels))
	}
	for i, x := range feats {
		if s := x.Shape(); len(s) != 4 || s[1] != o.InChannels[i] {
			panic(fmt.Sprintf("necks: FPN input %d of shape %v, want N×%d×H×W", i, s, o.InChannels[i]))
		}
	}
	laterals := make([]*nn.Var, len(f.LateralConvs))
	for i, l := range f.LateralConvs {
		laterals[i] = l.Forward(feats[i+o.StartLevel])
	}
	for i := len(laterals) - 1; i > 0; i-- {
		laterals[i-1] = nn.Add(laterals[i-1], f.upsample(laterals[i], laterals[i-1].Shape()))
	}
	used := len(laterals)
	outs := make([]*nn.Var, 0, o.NumOuts)
	for i, l := range laterals {
		outs = append(outs, f.FPNConvs[i].Forward(l))
	}
	if o.NumOuts == used {
		return outs
	}
	if o.AddExtraConvs == "" {
		for len(outs) < o.NumOuts {
			outs = append(outs, nn.MaxPool2d(outs[len(outs)-1], nn.PoolOptions{Kernel: [2]int{1, 1}, Stride: [2]int{2, 2}}))
		}
		return outs
	}
	var src *nn.Var
	switch o.AddExtraConvs {
	case ExtraOnInput:
		src = feats[f.endLevel-1]
	case ExtraOnLateral:
		src = laterals[used-1]
	default:
		src = outs[used-1]
	}
	outs = append(outs, f.FPNConvs[used].Forward(src))
	for i := used + 1; i < o.NumOuts; i++ {
		x := outs[len(outs)-1]
		if o.ReluBeforeExtraConvs {
			x = nn.ReLU(x)
		}
		outs = append(outs, f.FPNConvs[i].Forward(x))
	}
	return outs
}

// upsample resizes x to the finer level's shape (mmdet's default) or by
// the configured scale factor.
func (f *FPN) upsample(x *nn.Var, finer []int) *nn.Var {
	u := f.opts.UpsampleCfg
	opts := nn.InterpolateOptions{Size: [2]int{finer[2], finer[3]}, AlignCorners: u.AlignCorners}
	if u.Mode == "bilinear" {
		opts.Mode = nn.Bilinear
	}
	if u.ScaleFactor > 0 {
		opts.Size = [2]int{}
		opts.ScaleFactor = [2]float64{u.ScaleFactor, u.ScaleFactor}
	}
	return nn.Interpolate(x, opts)
}

var _ Neck = (*FPN)(nil)

func init() {
	config.RegisterOptions(Registry, "FPN", DefaultFPNOptions(),
		func(o FPNOptions) (Neck, error) { return NewFPN(o) })
}
