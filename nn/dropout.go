package nn

import (
	"fmt"
)

// Dropout zeroes each element of x with probability p and scales the kept
// ones by 1/(1-p), as torch.nn.functional.dropout; see
// https://jmlr.org/papers/v15/srivastava14a.html. When training is false or
// p is 0 it returns x itself; p = 1 gives zeros.
//
// The mask is drawn from x's tape's RNG (Tape.RNG), so it panics when x was
// not produced on a tape built with one, and when p is outside [0, 1].
// The draws differ from PyTorch's generator: only the distribution matches.
func Dropout(x *Var, p float64, training bool) *Var {
	checkProb("Dropout", p)
	if !training || p == 0 {
		return x
	}
	return maskedScale("Dropout", x, p, 1)
}

// DropPath drops whole samples (stochastic depth,
// https://arxiv.org/abs/1603.09382): each slice x[n] along the first axis is
// zeroed with probability p, and the kept ones are scaled by 1/(1-p), as
// timm's drop_path with scale_by_keep (mask shape [N, 1, 1, ...]). When
// training is false or p is 0 it returns x itself; p = 1 gives zeros.
//
// Randomness and panics are as for Dropout.
func DropPath(x *Var, p float64, training bool) *Var {
	checkProb("DropPath", p)
	if !training || p == 0 {
		return x
	}
	if x.Value.NDim() == 0 {
		panic(fmt.Sprintf("%s: DropPath of a scalar", errShape))
	}
	n := x.Shape()[0]
	per := 0
	if n > 0 {
		per = x.Value.Len() / n
	}
	return maskedScale("DropPath", x, p, per)
}

func checkProb(op string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("%s: %s probability %v outside [0, 1]", errArg, op, p))
	}
}

// maskedScale multiplies x by a random mask drawn once per group of `group`
// consecutive elements: 1/(1-p) with probability 1-p, else 0.
func maskedScale(op string, x *Var, p float64, group int) *Var {
	rng := x.Tape().RNG()
	keep := 1 - p
	scale := float32(0)
	if keep > 0 {
		scale = float32(1 / keep)
	}
	xd := x.Data()
	groups := 0
	if group > 0 {
		groups = len(xd) / group
	}
	mask := x.Tape().NewTensorDirty(groups)
	md := mask.Data()
	for i := range md {
		md[i] = 0
		if rng.Float64() < keep {
			md[i] = scale
		}
	}
	out := Output(x.Shape(), x)
	od := out.Data()
	for gi, m := range md {
		lo := gi * group
		for i := lo; i < lo+group; i++ {
			od[i] = xd[i] * m
		}
	}
	Record(op, out, func() {
		if g := GradOf(x); g != nil {
			gd, god := g.Data(), out.Grad.Data()
			for gi, m := range md {
				lo := gi * group
				for i := lo; i < lo+group; i++ {
					gd[i] += god[i] * m
				}
			}
		}
	})
	return out
}
