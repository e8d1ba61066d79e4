package nn

import (
	"fmt"
	"math"

	"github.com/densepred/dp/tensor"
)

// Initialisers fill a parameter's value in place, as torch.nn.init does,
// drawing from an explicit generator so a seeded run reproduces. The
// draws differ from PyTorch's generator; the distributions are the same.
// Fans follow torch.nn.init._calculate_fan_in_and_fan_out: for a weight of
// shape [out, in, k...], fan_in = in·Πk and fan_out = out·Πk.

// Fans returns the fan-in and fan-out of a weight of the given shape. It
// panics for fewer than two dimensions, as PyTorch does.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("%s: fan in and fan out need at least 2 dimensions, got shape %v", errShape, shape))
	}
	receptive := tensor.Numel(shape[2:])
	return shape[1] * receptive, shape[0] * receptive
}

// Gain returns the recommended gain for a nonlinearity, as
// torch.nn.init.calculate_gain: 1 for "linear", "conv1d", "conv2d",
// "conv3d", "conv_transpose1d/2d/3d" and "sigmoid"; 5/3 for "tanh"; √2 for
// "relu"; √(2/(1+a²)) for "leaky_relu" with negative slope a; 3/4 for
// "selu". An empty name means "leaky_relu". It panics on other names.
func Gain(nonlinearity string, a float64) float64 {
	switch nonlinearity {
	case "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid":
		return 1
	case "tanh":
		return 5.0 / 3
	case "relu":
		return math.Sqrt2
	case "", "leaky_relu":
		return math.Sqrt(2 / (1 + a*a))
	case "selu":
		return 3.0 / 4
	}
	panic(fmt.Sprintf("%s: unknown nonlinearity %q", errArg, nonlinearity))
}

// FanMode selects which fan Kaiming initialisation preserves.
type FanMode int

const (
	// FanIn preserves the variance of activations in the forward pass
	// (PyTorch's default, mode="fan_in").
	FanIn FanMode = iota
	// FanOut preserves the variance of gradients in the backward pass
	// (mode="fan_out", used by mmdet/timm for conv layers).
	FanOut
)

// KaimingOptions are the options of Kaiming (He) initialisation; the zero
// value gives PyTorch's defaults (a = 0, fan_in, leaky_relu).
type KaimingOptions struct {
	A            float64 // negative slope of the rectifier after the layer (leaky_relu only); default 0
	Mode         FanMode // default FanIn
	Nonlinearity string  // a name Gain accepts; default "" meaning "leaky_relu"
}

func (o KaimingOptions) std(shape []int) float64 {
	in, out := Fans(shape)
	fan := in
	if o.Mode == FanOut {
		fan = out
	}
	if fan == 0 {
		return 0 // PyTorch warns and leaves a zero-element tensor alone
	}
	return Gain(o.Nonlinearity, o.A) / math.Sqrt(float64(fan))
}

// KaimingUniform fills t from U(-b, b) with b = gain·√(3/fan), as
// torch.nn.init.kaiming_uniform_ (https://arxiv.org/abs/1502.01852).
func KaimingUniform(t *tensor.Tensor, rng *tensor.RNG, opt KaimingOptions) {
	b := math.Sqrt(3) * opt.std(t.Shape())
	rng.FillUniform(t, -b, b)
}

// KaimingNormal fills t from N(0, std²) with std = gain/√fan, as
// torch.nn.init.kaiming_normal_.
func KaimingNormal(t *tensor.Tensor, rng *tensor.RNG, opt KaimingOptions) {
	rng.FillNormal(t, 0, opt.std(t.Shape()))
}

// XavierUniform fills t from U(-b, b) with b = gain·√(6/(fan_in+fan_out)),
// as torch.nn.init.xavier_uniform_ (Glorot & Bengio 2010). PyTorch's
// default gain is 1.
func XavierUniform(t *tensor.Tensor, rng *tensor.RNG, gain float64) {
	b := math.Sqrt(3) * xavierStd(t.Shape(), gain)
	rng.FillUniform(t, -b, b)
}

// XavierNormal fills t from N(0, std²) with std = gain·√(2/(fan_in+fan_out)),
// as torch.nn.init.xavier_normal_. PyTorch's default gain is 1.
func XavierNormal(t *tensor.Tensor, rng *tensor.RNG, gain float64) {
	rng.FillNormal(t, 0, xavierStd(t.Shape(), gain))
}

func xavierStd(shape []int, gain float64) float64 {
	in, out := Fans(shape)
	if in+out == 0 {
		return 0
	}
	return gain * math.Sqrt(2/float64(in+out))
}

// TruncNormal fills t from N(mean, std²) truncated to [a, b], where a and b
// are absolute bounds (not multiples of std), as timm's trunc_normal_ (and
// torch.nn.init.trunc_normal_); timm's defaults are mean 0, std 1, a -2,
// b 2, and ViT-style models use std 0.02. Like timm it samples by inverting
// the normal CDF on the uniform range between the bounds' CDF values, then
// clamps to [a, b]. It panics unless a < b and std > 0.
func TruncNormal(t *tensor.Tensor, rng *tensor.RNG, mean, std, a, b float64) {
	if !(a < b) || !(std > 0) {
		panic(fmt.Sprintf("%s: TruncNormal mean %v std %v bounds [%v, %v]", errArg, mean, std, a, b))
	}
	cdf := func(x float64) float64 { return (1 + math.Erf(x/math.Sqrt2)) / 2 }
	lo, hi := 2*cdf((a-mean)/std)-1, 2*cdf((b-mean)/std)-1
	d := t.Data()
	for i := range d {
		v := mean + std*math.Sqrt2*math.Erfinv(rng.Uniform(lo, hi))
		d[i] = float32(min(max(v, a), b))
	}
}

// Fill sets every element of t to v, as torch.nn.init.constant_.
func Fill(t *tensor.Tensor, v float32) { t.Fill(v) }

// InitTorchDefault initialises a convolution's or a linear layer's weight
// (and bias, which may be nil) as PyTorch's reset_parameters does for
// nn.Linear, nn.Conv1d/2d/3d and nn.ConvTranspose*d:
//
//	weight ~ kaiming_uniform(a = √5)  i.e. U(-b, b), b = 1/√fan_in
//	bias   ~ U(-1/√fan_in, 1/√fan_in)     (left at 0 if fan_in is 0)
//
// fan_in comes from the weight's shape ([out, in/groups, k...]; for a
// transposed convolution PyTorch's layout [in, out/groups, k...] gives
// fan_in = out/groups·Πk, which this reproduces).
func InitTorchDefault(weight, bias *tensor.Tensor, rng *tensor.RNG) {
	KaimingUniform(weight, rng, KaimingOptions{A: math.Sqrt(5)})
	if bias == nil {
		return
	}
	in, _ := Fans(weight.Shape())
	if in == 0 {
		bias.Zero()
		return
	}
	b := 1 / math.Sqrt(float64(in))
	rng.FillUniform(bias, -b, b)
}
