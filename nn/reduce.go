package nn

import (
	"fmt"
	"math"

	"github.com/densepred/dp/tensor"
)

// Sum returns the sum of x over the given axes (all axes when axes is
// empty), as torch.sum(x, axes, keepdim). With keepDim the reduced axes stay
// with size 1; otherwise they are removed, and reducing every axis gives a
// scalar (shape []).
//
// Sums over every axis accumulate in float64; partial sums along other axes
// accumulate each run along the last axis in float64.
func Sum(x *Var, axes []int, keepDim bool) *Var {
	return reduceSum("Sum", x, axes, keepDim, false)
}

// SumAll returns the sum of every element of x as a scalar.
func SumAll(x *Var) *Var { return reduceSum("Sum", x, nil, false, false) }

// Mean returns the mean of x over the given axes (all when empty), as
// torch.mean(x, axes, keepdim). The mean over zero elements is NaN.
func Mean(x *Var, axes []int, keepDim bool) *Var {
	return reduceSum("Mean", x, axes, keepDim, true)
}

// MeanAll returns the mean of every element of x as a scalar.
func MeanAll(x *Var) *Var { return reduceSum("Mean", x, nil, false, true) }

// Max returns the largest element of x along axis, as the values of
// torch.max(x, axis, keepdim). The gradient flows to the first maximal
// element of each reduced line. It panics if the axis is empty.
func Max(x *Var, axis int, keepDim bool) *Var {
	shape := x.Shape()
	ax := normAxis("Max", axis, shape)
	n := shape[ax]
	if n == 0 {
		panic(fmt.Sprintf("%s: Max over empty axis %d of shape %v", errShape, axis, shape))
	}
	outer, inner := tensor.Numel(shape[:ax]), tensor.Numel(shape[ax+1:])
	out := Output(reducedShape(shape, axisMask(len(shape), ax), keepDim), x)
	xd, od := x.Data(), out.Data()
	argmax := func(o, i int) int {
		base := o*n*inner + i
		best, bv := 0, xd[base]
		for k := 1; k < n; k++ {
			if v := xd[base+k*inner]; v > bv || (math.IsNaN(float64(v)) && !math.IsNaN(float64(bv))) {
				best, bv = k, v
			}
		}
		return base + best*inner
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			od[o*inner+i] = xd[argmax(o, i)]
		}
	}
	Record("Max", out, func() {
		if g := GradOf(x); g != nil {
			gd, god := g.Data(), out.Grad.Data()
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					gd[argmax(o, i)] += god[o*inner+i]
				}
			}
		}
	})
	return out
}

func axisMask(nd int, axes ...int) []bool {
	m := make([]bool, nd)
	for _, a := range axes {
		m[a] = true
	}
	return m
}

// reducedShape is shape with the masked axes set to 1 (keepDim) or removed.
func reducedShape(shape []int, mask []bool, keepDim bool) []int {
	out := make([]int, 0, len(shape))
	for d, s := range shape {
		switch {
		case !mask[d]:
			out = append(out, s)
		case keepDim:
			out = append(out, 1)
		}
	}
	return out
}

// reduceSum implements Sum and Mean (mean: scale by 1/count).
func reduceSum(op string, x *Var, axes []int, keepDim, mean bool) *Var {
	shape := x.Shape()
	mask := make([]bool, len(shape))
	if len(axes) == 0 {
		for d := range mask {
			mask[d] = true
		}
	}
	for _, a := range axes {
		d := normAxis(op, a, shape)
		if mask[d] {
			panic(fmt.Sprintf("%s: %s repeats axis %d in %v for shape %v", errArg, op, a, axes, shape))
		}
		mask[d] = true
	}
	keep := reducedShape(shape, mask, true) // x's shape with reduced axes of size 1
	count := 1
	for d, s := range shape {
		if mask[d] {
			count *= s
		}
	}
	scale := float32(1)
	if mean {
		scale = float32(1 / float64(count)) // NaN-producing Inf for count 0, as PyTorch
	}
	out := Output(reducedShape(shape, mask, keepDim), x)
	xd, od := x.Data(), out.Data()
	if len(od) == 1 {
		s := 0.0
		for _, v := range xd {
			s += float64(v)
		}
		if mean {
			s /= float64(count)
		}
		od[0] = float32(s)
	} else {
		clear(od)
		broadcastLoop(shape, shape, keep, func(o, _, ib, n, _, sb int) {
			if sb == 0 {
				s := 0.0
				for _, v := range xd[o : o+n] {
					s += float64(v)
				}
				od[ib] += float32(s)
				return
			}
			addInto(od[ib:ib+n], xd[o:o+n])
		})
		if mean {
			for i := range od {
				od[i] *= scale
			}
		}
	}
	Record(op, out, func() {
		if g := GradOf(x); g != nil {
			gd, god := g.Data(), out.Grad.Data()
			broadcastLoop(shape, shape, keep, func(o, _, ib, n, _, sb int) {
				dst := gd[o : o+n]
				if sb == 0 {
					v := god[ib] * scale
					for i := range dst {
						dst[i] += v
					}
					return
				}
				for i, v := range god[ib : ib+n] {
					dst[i] += v * scale
				}
			})
		}
	})
	return out
}
