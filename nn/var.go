package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// Var is a value in the autograd graph together with its gradient.
//
// Value is never nil. Grad is nil until a gradient flows into the Var during
// Tape.Backward; for parameters it then persists (and accumulates) until
// ZeroGrad.
type Var struct {
	Value *tensor.Tensor
	Grad  *tensor.Tensor

	tape         *Tape // the tape that produced this value; nil for parameters and free constants
	requiresGrad bool
	param        bool // Grad is owned by the Var (persistent) rather than by a tape's pool
}

// NewParam returns a trainable leaf holding t: it requires a gradient, and
// its Grad is kept across steps.
func NewParam(t *tensor.Tensor) *Var {
	return &Var{Value: t, requiresGrad: true, param: true}
}

// Constant returns a leaf that needs no gradient and belongs to no tape.
func Constant(t *tensor.Tensor) *Var { return &Var{Value: t} }

// Shape returns the value's shape.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Data returns the value's backing slice.
func (v *Var) Data() []float32 { return v.Value.Data() }

// RequiresGrad reports whether gradients are computed for v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad turns gradient computation for a leaf on or off (freezing a
// parameter). It panics on a Var produced by an operation.
func (v *Var) SetRequiresGrad(on bool) {
	if v.tape != nil && !v.param {
		panic(errArg + ": SetRequiresGrad on a non-leaf value")
	}
	v.requiresGrad = on
}

// IsParam reports whether v is a parameter (a persistent trainable leaf).
func (v *Var) IsParam() bool { return v.param }

// Tape returns the tape that produced v, or nil.
func (v *Var) Tape() *Tape { return v.tape }

// ZeroGrad clears v's gradient (keeping the buffer).
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Zero()
	}
}

// String describes v briefly.
func (v *Var) String() string {
	return fmt.Sprintf("Var%v(requiresGrad=%v)", v.Shape(), v.requiresGrad)
}
