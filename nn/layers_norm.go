package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// Default hyper-parameters of the normalisation layers: PyTorch's.
const (
	DefaultNormEps    = 1e-5 // eps of BatchNorm2d, GroupNorm and LayerNorm
	DefaultBNMomentum = 0.1  // BatchNorm2d's running-statistics momentum
)

// BatchNorm2dOptions configures NewBatchNorm2d. The zero value gives
// PyTorch's defaults.
type BatchNorm2dOptions struct {
	// Eps is added to the variance; 0 means DefaultNormEps (1e-5).
	Eps float32
	// Momentum weighs the batch statistics in the running averages; 0 means
	// DefaultBNMomentum (0.1). PyTorch's cumulative average (momentum=None)
	// is not offered.
	Momentum float32
	// NoAffine drops the learnable weight and bias (PyTorch's affine=False).
	NoAffine bool
	// NormEval always normalises with the running statistics and never
	// updates them, whatever the training flag says: mmdet's norm_eval=True
	// ("frozen BN"), used when fine-tuning a backbone with small batches.
	// Weight and bias still receive gradients unless frozen separately.
	NormEval bool
}

// BatchNorm2d normalises each channel of an N×C×H×W input (Ioffe & Szegedy,
// https://arxiv.org/abs/1502.03167) as torch.nn.BatchNorm2d does: with the
// batch's statistics in training mode (updating the running averages), with
// the running averages in evaluation mode. Its state-dict keys are PyTorch's:
// weight, bias, running_mean, running_var, num_batches_tracked.
type BatchNorm2d struct {
	ModuleBase
	Weight, Bias *Var // [C]; 1 and 0 initially; nil with NoAffine
	// RunningMean and RunningVar ([C], 0 and 1 initially) are the running
	// averages; NumBatchesTracked (a scalar) counts training forwards, as
	// PyTorch's int64 buffer does, stored as float32.
	RunningMean, RunningVar, NumBatchesTracked *tensor.Tensor

	eps, momentum float32
	normEval      bool
}

// NewBatchNorm2d returns a BatchNorm2d over channels channels, initialised
// as PyTorch's reset_parameters does.
func NewBatchNorm2d(channels int, o BatchNorm2dOptions) *BatchNorm2d {
	if channels < 1 {
		panic(fmt.Sprintf("%s: NewBatchNorm2d with %d channels, need at least 1", errArg, channels))
	}
	b := &BatchNorm2d{eps: o.Eps, momentum: o.Momentum, normEval: o.NormEval}
	if b.eps == 0 {
		b.eps = DefaultNormEps
	}
	if b.momentum == 0 {
		b.momentum = DefaultBNMomentum
	}
	if !o.NoAffine {
		b.Weight = b.RegisterParam("weight", NewParam(tensor.Full(1, channels)))
		b.Bias = b.RegisterParam("bias", NewParam(tensor.New(channels)))
	}
	b.RunningMean = b.RegisterBuffer("running_mean", tensor.New(channels))
	b.RunningVar = b.RegisterBuffer("running_var", tensor.Full(1, channels))
	b.NumBatchesTracked = b.RegisterBuffer("num_batches_tracked", tensor.New())
	return b
}

// Forward normalises x (N×C×H×W). In training mode (and without NormEval)
// it uses the batch statistics and updates the running ones.
func (b *BatchNorm2d) Forward(x *Var) *Var {
	training := b.Training() && !b.normEval
	if training {
		b.NumBatchesTracked.Data()[0]++
	}
	return BatchNorm2dOp(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, training, b.momentum, b.eps)
}

// GroupNormOptions configures NewGroupNorm. The zero value gives PyTorch's
// defaults.
type GroupNormOptions struct {
	// Eps is added to the variance; 0 means DefaultNormEps (1e-5).
	Eps float32
	// NoAffine drops the learnable weight and bias (PyTorch's affine=False).
	NoAffine bool
}

// GroupNorm normalises each sample over groups of channels (Wu & He,
// https://arxiv.org/abs/1803.08494) as torch.nn.GroupNorm does, with
// per-channel weight and bias. Its state-dict keys are weight and bias.
type GroupNorm struct {
	ModuleBase
	Weight, Bias *Var // [C]; 1 and 0 initially; nil with NoAffine
	Groups       int
	eps          float32
}

// NewGroupNorm returns a GroupNorm of channels channels in groups groups,
// initialised as PyTorch's reset_parameters does. It panics unless groups
// divides channels.
func NewGroupNorm(groups, channels int, o GroupNormOptions) *GroupNorm {
	if groups < 1 || channels < 1 || channels%groups != 0 {
		panic(fmt.Sprintf("%s: NewGroupNorm with %d groups for %d channels: groups must divide channels", errArg, groups, channels))
	}
	g := &GroupNorm{Groups: groups, eps: o.Eps}
	if g.eps == 0 {
		g.eps = DefaultNormEps
	}
	if !o.NoAffine {
		g.Weight = g.RegisterParam("weight", NewParam(tensor.Full(1, channels)))
		g.Bias = g.RegisterParam("bias", NewParam(tensor.New(channels)))
	}
	return g
}

// Forward normalises x (N×C×...).
func (g *GroupNorm) Forward(x *Var) *Var { return GroupNormOp(x, g.Weight, g.Bias, g.Groups, g.eps) }

// LayerNormOptions configures NewLayerNorm. The zero value gives PyTorch's
// defaults.
type LayerNormOptions struct {
	// Eps is added to the variance; 0 means DefaultNormEps (1e-5).
	Eps float32
	// NoAffine drops the learnable weight and bias (PyTorch's
	// elementwise_affine=False).
	NoAffine bool
}

// LayerNorm normalises over the trailing dimensions (Ba et al.,
// https://arxiv.org/abs/1607.06450) as torch.nn.LayerNorm does, with an
// elementwise weight and bias of the normalised shape. Its state-dict keys
// are weight and bias.
type LayerNorm struct {
	ModuleBase
	Weight, Bias    *Var // of NormalizedShape; 1 and 0 initially; nil with NoAffine
	NormalizedShape []int
	eps             float32
}

// NewLayerNorm returns a LayerNorm over trailing dimensions of the given
// shape (for a [..., C] input, []int{C}), initialised as PyTorch's
// reset_parameters does.
func NewLayerNorm(normalizedShape []int, o LayerNormOptions) *LayerNorm {
	if len(normalizedShape) == 0 || tensor.Numel(normalizedShape) == 0 {
		panic(fmt.Sprintf("%s: NewLayerNorm over shape %v, need at least one non-empty dimension", errArg, normalizedShape))
	}
	l := &LayerNorm{NormalizedShape: append([]int(nil), normalizedShape...), eps: o.Eps}
	if l.eps == 0 {
		l.eps = DefaultNormEps
	}
	if !o.NoAffine {
		l.Weight = l.RegisterParam("weight", NewParam(tensor.Full(1, normalizedShape...)))
		l.Bias = l.RegisterParam("bias", NewParam(tensor.New(normalizedShape...)))
	}
	return l
}

// Forward normalises x over its trailing NormalizedShape dimensions.
func (l *LayerNorm) Forward(x *Var) *Var {
	return LayerNormOp(x, l.Weight, l.Bias, l.NormalizedShape, l.eps)
}

// IsNorm marks BatchNorm2d as a normalisation layer (nn.Normalizer), so
// optimizers can exempt its parameters from weight decay.
func (*BatchNorm2d) IsNorm() bool { return true }

// IsNorm marks GroupNorm as a normalisation layer (nn.Normalizer).
func (*GroupNorm) IsNorm() bool { return true }

// IsNorm marks LayerNorm as a normalisation layer (nn.Normalizer).
func (*LayerNorm) IsNorm() bool { return true }
