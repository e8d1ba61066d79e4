package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// LinearOptions configures NewLinear. The zero value gives PyTorch's
// defaults.
type LinearOptions struct {
	// NoBias drops the bias (PyTorch's bias=False).
	NoBias bool
}

// Linear is a fully connected layer, y = x·Wᵀ + b, as torch.nn.Linear. Its
// state-dict keys are weight ([out, in]) and bias ([out]).
type Linear struct {
	ModuleBase
	Weight *Var // [out, in]
	Bias   *Var // [out]; nil with NoBias
}

// NewLinear returns a Linear from in to out features, initialised as
// PyTorch's reset_parameters does (InitTorchDefault) from rng.
func NewLinear(in, out int, rng *tensor.RNG, o LinearOptions) *Linear {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("%s: NewLinear(%d, %d): feature counts must be >= 1", errArg, in, out))
	}
	l := &Linear{}
	w := tensor.New(out, in)
	var b *tensor.Tensor
	if !o.NoBias {
		b = tensor.New(out)
	}
	InitTorchDefault(w, b, rng)
	l.Weight = l.RegisterParam("weight", NewParam(w))
	if b != nil {
		l.Bias = l.RegisterParam("bias", NewParam(b))
	}
	return l
}

// Forward maps x ([..., in]) to [..., out].
func (l *Linear) Forward(x *Var) *Var { return LinearOp(x, l.Weight, l.Bias) }
