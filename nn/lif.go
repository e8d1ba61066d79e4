package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// LIF applies SNN-MLP's leaky integrate-and-fire neuron to the NCHW value x
// along axis (tensor.LIFAlongH = 2 or tensor.LIFAlongW = 3) in contiguous
// groups of group positions; tau and vth are single-element learnable
// scalars. See tensor.LIF for the recurrence and tensor.LIFBackward for the
// gradients, which hold the firing flags constant as the official CUDA
// kernels do (no surrogate gradient).
//
// LIF panics if tau or vth does not hold exactly one value, or on the
// conditions tensor.LIF panics on.
func LIF(x, tau, vth *Var, axis, group int) *Var {
	if tau.Value.Len() != 1 || vth.Value.Len() != 1 {
		panic(fmt.Sprintf("%s: LIF tau %v and vth %v must hold one value each", errShape, tau.Shape(), vth.Shape()))
	}
	out := Output(x.Shape(), x, tau, vth)
	t, v := tau.Data()[0], vth.Data()[0]
	tensor.LIF(out.Value, x.Value, axis, group, t, v)
	Record("LIF", out, func() {
		gx := GradOf(x)
		gt, gv := tensor.LIFBackward(gx, x.Value, out.Grad, axis, group, t, v)
		if g := GradOf(tau); g != nil {
			g.Data()[0] += gt
		}
		if g := GradOf(vth); g != nil {
			g.Data()[0] += gv
		}
	})
	return out
}

// LIFSpike is the neuron layer of SNN-MLP: one learnable tau and one
// learnable threshold, registered as "tau" and "Vth" (the official
// attribute names, shape [1]), shared by every channel and position.
type LIFSpike struct {
	ModuleBase
	Tau *Var // leak factor, raw and unconstrained
	Vth *Var // firing threshold, raw and unconstrained
	// Group is the number of consecutive positions forming one sequence;
	// -1 turns the layer into the identity, as in the official code.
	Group int
	// Axis is tensor.LIFAlongH (2) or tensor.LIFAlongW (3).
	Axis int
}

// NewLIFSpike returns a LIF layer along axis (2 for H, 3 for W) with groups of
// group positions (-1: identity), tau initialised to initTau and the
// threshold to initVth. The official defaults are group 4 (`--lif 4`),
// initTau 0.25 and initVth 0.1 (`main.py`; the class default is -1).
// It panics on an axis other than 2 or 3, or a group below 1 other than -1.
func NewLIFSpike(axis, group int, initTau, initVth float32) *LIFSpike {
	if axis != tensor.LIFAlongH && axis != tensor.LIFAlongW {
		panic(fmt.Sprintf("%s: LIFSpike axis %d (want 2 for H or 3 for W)", errArg, axis))
	}
	if group < 1 && group != -1 {
		panic(fmt.Sprintf("%s: LIFSpike group %d (want >= 1, or -1 to disable)", errArg, group))
	}
	l := &LIFSpike{Group: group, Axis: axis}
	l.Tau = l.RegisterParam("tau", NewParam(tensor.FromData([]float32{initTau}, 1)))
	l.Vth = l.RegisterParam("Vth", NewParam(tensor.FromData([]float32{initVth}, 1)))
	return l
}

// Forward applies the neuron to x (NCHW); with Group == -1 it returns x.
func (l *LIFSpike) Forward(x *Var) *Var {
	if l.Group == -1 {
		return x
	}
	return LIF(x, l.Tau, l.Vth, l.Axis, l.Group)
}
