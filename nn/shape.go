package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// Shape operations: Reshape, Flatten, Permute, Transpose, Slice, Concat,
// Split and Pad. Axes may be negative and then count from the end, as in
// PyTorch. Each panics, naming the shapes, when its arguments do not fit
// the input.

// Reshape returns x with a new shape holding the same elements in the same
// row-major order; one dimension may be -1 and is then inferred.
//
// The result is a view: its Value shares x's data (no copy), while its Grad
// is its own. Neither value may be modified in place while the other is in
// use. It panics if the element count changes.
func Reshape(x *Var, shape ...int) *Var {
	out := viewOf(x, x.Value.Reshape(reshapeTarget("Reshape", x.Shape(), shape)...))
	Record("Reshape", out, func() {
		if g := GradOf(x); g != nil {
			addInto(g.Data(), out.Grad.Data())
		}
	})
	return out
}

// Flatten merges the axes start..end (inclusive) into one, like
// torch.flatten(x, start, end); Flatten(x, 1, -1) turns [N, C, H, W] into
// [N, C·H·W]. A scalar becomes a vector of one element. Like Reshape, the
// result shares x's data.
func Flatten(x *Var, start, end int) *Var {
	shape := x.Shape()
	if len(shape) == 0 {
		return Reshape(x, 1)
	}
	s, e := normAxis("Flatten", start, shape), normAxis("Flatten", end, shape)
	if s > e {
		panic(fmt.Sprintf("%s: Flatten start %d after end %d for shape %v", errArg, start, end, shape))
	}
	ns := make([]int, 0, len(shape)-(e-s))
	ns = append(ns, shape[:s]...)
	ns = append(ns, tensor.Numel(shape[s:e+1]))
	ns = append(ns, shape[e+1:]...)
	return Reshape(x, ns...)
}

// Permute reorders the axes of x: axis i of the result is axis perm[i] of x,
// as torch.permute. The result is a contiguous copy.
//
//	out[i_0, ..., i_{n-1}] = x[j] with j[perm[k]] = i_k
func Permute(x *Var, perm ...int) *Var {
	shape := x.Shape()
	if len(perm) != len(shape) {
		panic(fmt.Sprintf("%s: Permute %v of shape %v", errArg, perm, shape))
	}
	p := make([]int, len(perm))
	seen := make([]bool, len(perm))
	for i, a := range perm {
		p[i] = normAxis("Permute", a, shape)
		if seen[p[i]] {
			panic(fmt.Sprintf("%s: Permute %v of shape %v repeats axis %d", errArg, perm, shape, a))
		}
		seen[p[i]] = true
	}
	in := contiguousStrides(shape)
	ost := make([]int, len(p))
	oshape := make([]int, len(p))
	for i, a := range p {
		oshape[i] = shape[a]
		ost[i] = in[a]
	}
	out := Output(oshape, x)
	src, dst := layout{0, ost}, layout{0, contiguousStrides(oshape)}
	copyStrided("Permute", x, out, oshape, src, dst)
	return out
}

// Transpose swaps axes a and b of x, as torch.transpose. The result is a
// contiguous copy.
func Transpose(x *Var, a, b int) *Var {
	shape := x.Shape()
	a, b = normAxis("Transpose", a, shape), normAxis("Transpose", b, shape)
	perm := make([]int, len(shape))
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = perm[b], perm[a]
	return Permute(x, perm...)
}

// Slice returns the elements start, start+step, ... (before stop) of x
// along axis, as Python's x[..., start:stop:step, ...]. Negative start and
// stop count from the end; both are clamped to the axis, so an empty range
// gives an axis of size 0. step must be positive (as in PyTorch). The result
// is a contiguous copy.
func Slice(x *Var, axis, start, stop, step int) *Var {
	shape := x.Shape()
	ax := normAxis("Slice", axis, shape)
	if step <= 0 {
		panic(fmt.Sprintf("%s: Slice step %d (must be positive) on shape %v", errArg, step, shape))
	}
	d := shape[ax]
	clampIdx := func(i int) int {
		if i < 0 {
			i += d
		}
		return min(max(i, 0), d)
	}
	lo, hi := clampIdx(start), clampIdx(stop)
	n := 0
	if hi > lo {
		n = (hi - lo + step - 1) / step
	}
	oshape := append([]int(nil), shape...)
	oshape[ax] = n
	in := contiguousStrides(shape)
	sst := append([]int(nil), in...)
	sst[ax] *= step
	src, dst := layout{lo * in[ax], sst}, layout{0, contiguousStrides(oshape)}
	out := Output(oshape, x)
	copyStrided("Slice", x, out, oshape, src, dst)
	return out
}

// Concat joins xs along axis, as torch.cat. All inputs must have the same
// number of dimensions and equal sizes on every other axis.
func Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		panic(errArg + ": Concat of nothing")
	}
	first := xs[0].Shape()
	ax := normAxis("Concat", axis, first)
	oshape := append([]int(nil), first...)
	oshape[ax] = 0
	for _, x := range xs {
		s := x.Shape()
		ok := len(s) == len(first)
		for d := 0; ok && d < len(s); d++ {
			ok = d == ax || s[d] == first[d]
		}
		if !ok {
			panic(fmt.Sprintf("%s: Concat on axis %d of %v", errShape, axis, shapesOf(xs)))
		}
		oshape[ax] += s[ax]
	}
	outer := tensor.Numel(first[:ax])
	inner := tensor.Numel(first[ax+1:])
	rowOut := oshape[ax] * inner
	out := Output(oshape, xs...)
	od := out.Data()
	off := 0
	for _, x := range xs {
		row := x.Shape()[ax] * inner
		xd := x.Data()
		for o := 0; o < outer; o++ {
			copy(od[o*rowOut+off:o*rowOut+off+row], xd[o*row:(o+1)*row])
		}
		off += row
	}
	Record("Concat", out, func() {
		god := out.Grad.Data()
		off := 0
		for _, x := range xs {
			row := x.Shape()[ax] * inner
			if g := GradOf(x); g != nil {
				gd := g.Data()
				for o := 0; o < outer; o++ {
					addInto(gd[o*row:(o+1)*row], god[o*rowOut+off:o*rowOut+off+row])
				}
			}
			off += row
		}
	})
	return out
}

// Split cuts x along axis into consecutive pieces of the given sizes, which
// must add up to the axis' size, as torch.split with a list of sizes. Each
// piece is a Slice of x (a copy).
func Split(x *Var, axis int, sizes ...int) []*Var {
	shape := x.Shape()
	ax := normAxis("Split", axis, shape)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			total = -1
			break
		}
		total += s
	}
	if total != shape[ax] {
		panic(fmt.Sprintf("%s: Split sizes %v along axis %d of shape %v", errShape, sizes, axis, shape))
	}
	out := make([]*Var, len(sizes))
	lo := 0
	for i, s := range sizes {
		out[i] = Slice(x, ax, lo, lo+s, 1)
		lo += s
	}
	return out
}

// Pad pads x with value, as torch.nn.functional.pad in "constant" mode.
// pads holds (before, after) pairs starting from the last axis:
// (left, right) pads the last axis, (left, right, top, bottom) the last two.
// Negative amounts crop. The result is a new tensor.
func Pad(x *Var, pads []int, value float32) *Var {
	shape := x.Shape()
	if len(pads)%2 != 0 || len(pads)/2 > len(shape) {
		panic(fmt.Sprintf("%s: Pad amounts %v for shape %v", errArg, pads, shape))
	}
	nd := len(shape)
	before := make([]int, nd)
	oshape := append([]int(nil), shape...)
	for k := 0; k < len(pads)/2; k++ {
		d := nd - 1 - k
		before[d] = pads[2*k]
		oshape[d] = shape[d] + pads[2*k] + pads[2*k+1]
		if oshape[d] < 0 {
			panic(fmt.Sprintf("%s: Pad amounts %v for shape %v give a negative size", errArg, pads, shape))
		}
	}
	// The copied region: input indices [lo, lo+region) on each axis land at
	// output indices shifted by before.
	region := make([]int, nd)
	in, ost := contiguousStrides(shape), contiguousStrides(oshape)
	src, dst := layout{0, in}, layout{0, ost}
	for d := 0; d < nd; d++ {
		lo := max(0, -before[d])
		hi := min(shape[d], oshape[d]-before[d])
		region[d] = max(0, hi-lo)
		src.base += lo * in[d]
		dst.base += (lo + before[d]) * ost[d]
	}
	out := Output(oshape, x)
	out.Value.Fill(value)
	copyStrided("Pad", x, out, region, src, dst)
	return out
}

// reshapeTarget resolves a single -1 in shape so that it holds as many
// elements as in, and panics with both shapes if that is impossible.
func reshapeTarget(op string, in, shape []int) []int {
	n := tensor.Numel(in)
	out := append([]int(nil), shape...)
	neg, prod := -1, 1
	for i, d := range out {
		switch {
		case d == -1 && neg < 0:
			neg = i
		case d < 0:
			panic(fmt.Sprintf("%s: %s %v into %v", errShape, op, in, shape))
		default:
			prod *= d
		}
	}
	if neg >= 0 && prod != 0 && n%prod == 0 {
		out[neg] = n / prod
		prod *= out[neg]
	}
	if prod != n || (neg >= 0 && out[neg] < 0) {
		panic(fmt.Sprintf("%s: %s %v into %v", errShape, op, in, shape))
	}
	return out
}

// viewOf returns the result of a view operation on x: a Var holding value
// (which shares x's data) on x's tape, requiring a gradient when x does.
func viewOf(x *Var, value *tensor.Tensor) *Var {
	tp := x.tape
	return &Var{Value: value, tape: tp, requiresGrad: tp.Recording() && x.requiresGrad}
}

// normAxis resolves axis (negative counts from the end) against shape and
// panics, naming op, if it is out of range.
func normAxis(op string, axis int, shape []int) int {
	a := axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		panic(fmt.Sprintf("%s: %s axis %d of shape %v", errAxis, op, axis, shape))
	}
	return a
}

// contiguousStrides returns the row-major element strides of shape.
func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// layout places a strided view in a flat buffer: element idx is at
// base + Σ idx[d]·strides[d].
type layout struct {
	base    int
	strides []int
}

// walkStrided visits every index of shape, in row-major order, as runs along
// the last axis: fn(ia, ib, n, sa, sb) covers n elements of a starting at ia
// with step sa and of b starting at ib with step sb.
func walkStrided(shape []int, a, b layout, fn func(ia, ib, n, sa, sb int)) {
	nd := len(shape)
	if tensor.Numel(shape) == 0 {
		return
	}
	if nd == 0 {
		fn(a.base, b.base, 1, 0, 0)
		return
	}
	idx := make([]int, nd-1)
	ia, ib := a.base, b.base
	inner := shape[nd-1]
	for {
		fn(ia, ib, inner, a.strides[nd-1], b.strides[nd-1])
		d := nd - 2
		for ; d >= 0; d-- {
			idx[d]++
			ia += a.strides[d]
			ib += b.strides[d]
			if idx[d] < shape[d] {
				break
			}
			ia -= a.strides[d] * shape[d]
			ib -= b.strides[d] * shape[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// addInto adds src into dst elementwise (same length).
func addInto(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

func shapesOf(xs []*Var) [][]int {
	s := make([][]int, len(xs))
	for i, x := range xs {
		s[i] = x.Shape()
	}
	return s
}

// copyStrided copies the elements of x that src addresses over region into
// out at dst, and records the gradient: out's gradient added back into x's
// at the same positions. Permute, Slice and Pad are this copy with
// different layouts.
func copyStrided(op string, x, out *Var, region []int, src, dst layout) {
	xd, od := x.Data(), out.Data()
	walkStrided(region, src, dst, func(ia, ib, n, sa, sb int) {
		if sa == 1 && sb == 1 {
			copy(od[ib:ib+n], xd[ia:ia+n])
			return
		}
		for i := 0; i < n; i++ {
			od[ib+i*sb] = xd[ia+i*sa]
		}
	})
	Record(op, out, func() {
		if g := GradOf(x); g != nil {
			gd, god := g.Data(), out.Grad.Data()
			walkStrided(region, src, dst, func(ia, ib, n, sa, sb int) {
				if sa == 1 && sb == 1 {
					addInto(gd[ia:ia+n], god[ib:ib+n])
					return
				}
				for i := 0; i < n; i++ {
					gd[ia+i*sa] += god[ib+i*sb]
				}
			})
		}
	})
}
