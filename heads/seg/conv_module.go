package seg

import (
	"fmt"
	"math"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// NormConfig is mmseg's norm_cfg. Type "BN" and "SyncBN" both build
// nn.BatchNorm2d: dp trains in one process, where SyncBN is BN.
type NormConfig struct {
	// Type is "BN" or "SyncBN" (the same here). Default "SyncBN".
	Type string `yaml:"type"`
	// RequiresGrad trains the norm's weight and bias. Default true.
	RequiresGrad bool `yaml:"requires_grad"`
	// Eps is added to the variance. Default 1e-5.
	Eps float64 `yaml:"eps"`
	// Momentum of the running statistics. Default 0.1.
	Momentum float64 `yaml:"momentum"`
}

// DefaultNormConfig returns SyncBN (hence BatchNorm2d) with trainable
// affine parameters, eps 1e-5 and momentum 0.1, as mmseg's configs set.
func DefaultNormConfig() NormConfig {
	return NormConfig{Type: "SyncBN", RequiresGrad: true, Eps: nn.DefaultNormEps, Momentum: nn.DefaultBNMomentum}
}

// UnmarshalConfig implements config.Unmarshaler: the keys missing from the
// node keep their defaults.
func (c *NormConfig) UnmarshalConfig(n config.Node) error {
	type plain NormConfig
	p := plain(DefaultNormConfig())
	if err := n.Decode(&p); err != nil {
		return err
	}
	if p.Type != "BN" && p.Type != "SyncBN" && p.Type != "BN2d" {
		return fmt.Errorf("seg: norm_cfg type %q: want BN or SyncBN", p.Type)
	}
	*c = NormConfig(p)
	return nil
}

// ConvModule is mmcv's ConvModule with its default order: a convolution
// (without bias when a norm follows), BatchNorm2d and ReLU. Its state-dict
// keys are conv.weight (conv.bias without a norm) and bn.weight, bn.bias,
// bn.running_mean, bn.running_var, bn.num_batches_tracked.
type ConvModule struct {
	nn.ModuleBase
	Conv *nn.Conv2d
	BN   *nn.BatchNorm2d // nil without a norm
}

// NewConvModule returns a ConvModule from in to out channels with a square
// kernel, padding and dilation, stride 1. norm nil means no norm (and a
// conv bias). The convolution is initialised as mmcv's ConvModule does
// (Kaiming normal, fan_out, ReLU gain, bias 0) from rng; the norm with
// weight 1 and bias 0.
func NewConvModule(in, out, kernel, padding, dilation int, norm *NormConfig, rng *tensor.RNG) *ConvModule {
	m := &ConvModule{}
	m.Conv = nn.NewConv2d(in, out, [2]int{kernel, kernel}, rng, nn.Conv2dOptions{
		Padding:  [2]int{padding, padding},
		Dilation: [2]int{dilation, dilation},
		NoBias:   norm != nil,
	})
	nn.KaimingNormal(m.Conv.Weight.Value, rng, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"})
	if m.Conv.Bias != nil {
		m.Conv.Bias.Value.Zero()
	}
	m.RegisterModule("conv", m.Conv)
	if norm != nil {
		m.BN = nn.NewBatchNorm2d(out, nn.BatchNorm2dOptions{Eps: float32(norm.Eps), Momentum: float32(norm.Momentum)})
		if !norm.RequiresGrad {
			m.BN.Weight.SetRequiresGrad(false)
			m.BN.Bias.SetRequiresGrad(false)
		}
		m.RegisterModule("bn", m.BN)
	}
	return m
}

// Forward returns ReLU(BN(conv(x))) for x of shape N×in×H×W.
func (m *ConvModule) Forward(x *nn.Var) *nn.Var {
	x = m.Conv.Forward(x)
	if m.BN != nil {
		x = m.BN.Forward(x)
	}
	return nn.ReLU(x)
}

// Dropout2d zeroes whole channels: each (sample, channel) plane of x
// (N×C×H×W) is dropped with probability p and the kept ones are scaled by
// 1/(1-p), as torch.nn.Dropout2d, which mmseg's heads use before conv_seg.
// When training is false or p is 0 it returns x. The mask is drawn from x's
// tape's RNG, so in training x must come from a tape built with one.
func Dropout2d(x *nn.Var, p float64, training bool) *nn.Var {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("seg: Dropout2d probability %v outside [0, 1]", p))
	}
	if !training || p == 0 {
		return x
	}
	s := x.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("seg: Dropout2d needs an N×C×H×W input, got %v", s))
	}
	rng := x.Tape().RNG()
	mask := tensor.New(s[0], s[1], 1, 1)
	scale := float32(0)
	if p < 1 {
		scale = float32(1 / (1 - p))
	}
	md := mask.Data()
	for i := range md {
		if rng.Float64() >= p {
			md[i] = scale
		}
	}
	return nn.Mul(x, nn.Constant(mask))
}

// initConvSeg initialises conv_seg as mmseg's BaseDecodeHead does: normal
// with std 0.01, bias 0.
func initConvSeg(c *nn.Conv2d, rng *tensor.RNG) {
	rng.FillNormal(c.Weight.Value, 0, 0.01)
	c.Bias.Value.Zero()
}

// log2 returns log2(x) of a positive stride.
func log2(x int) float64 { return math.Log2(float64(x)) }
