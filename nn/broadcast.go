package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// BroadcastShape returns the NumPy-broadcast shape of a and b (dimensions
// aligned at the right; each pair equal or one of them 1). It panics with
// both shapes otherwise.
func BroadcastShape(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("%s: %v and %v", errBroadcast, a, b))
		}
	}
	return out
}

// bstrides returns the element strides of shape aligned to out, with 0 on
// broadcast dimensions.
func bstrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(shape) - len(out) + i
		if j < 0 || shape[j] == 1 {
			st[i] = 0
		} else {
			st[i] = s
		}
		if j >= 0 {
			s *= shape[j]
		}
	}
	return st
}

// broadcastLoop calls fn(o, ia, ib, n, sa, sb) for runs of the innermost
// dimension: n output elements starting at flat index o, reading a from ia
// with step sa and b from ib with step sb (each step 0 or 1).
func broadcastLoop(out, as, bs []int, fn func(o, ia, ib, n, sa, sb int)) {
	nd := len(out)
	if nd == 0 {
		fn(0, 0, 0, 1, 0, 0)
		return
	}
	sa, sb := bstrides(as, out), bstrides(bs, out)
	inner := out[nd-1]
	total := tensor.Numel(out)
	if inner == 0 || total == 0 {
		return
	}
	idx := make([]int, nd-1)
	ia, ib := 0, 0
	for o := 0; o < total; o += inner {
		fn(o, ia, ib, inner, sa[nd-1], sb[nd-1])
		// advance the odometer over the outer dimensions
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < out[d] {
				break
			}
			ia -= sa[d] * out[d]
			ib -= sb[d] * out[d]
			idx[d] = 0
		}
	}
}

// sameShapeLoop is broadcastLoop for operands of the output's own shape:
// it calls fn(o, o, o, n, 1, 1) on contiguous chunks, in parallel when the
// tensor is large. fn must write only its own chunk of the output.
func sameShapeLoop(out, _, _ []int, fn func(o, ia, ib, n, sa, sb int)) {
	tensor.Parallel(tensor.Numel(out), elemGrain, func(lo, hi int) {
		fn(lo, lo, lo, hi-lo, 1, 1)
	})
}

// reduceTo sums g (of shape out) into dst (of a shape that broadcasts to out),
// accumulating: dst += sum over broadcast dims of g * mul, where mul is nil
// (1) or a function of the output index o, the index into dst and the index
// into the other operand (of shape other).
func reduceTo(dst *tensor.Tensor, g *tensor.Tensor, out []int, other []int, mul func(o, idst, iother int) float32) {
	d, gd := dst.Data(), g.Data()
	loop := broadcastLoop
	if tensor.SameShape(dst.Shape(), out) && tensor.SameShape(other, out) {
		loop = sameShapeLoop // no dimension is reduced: chunks write apart
	}
	loop(out, dst.Shape(), other, func(o, ia, ib, n, sa, sb int) {
		if mul == nil {
			if sa == 1 {
				dd := d[ia : ia+n]
				for i, v := range gd[o : o+n] {
					dd[i] += v
				}
				return
			}
			var s float32
			for _, v := range gd[o : o+n] {
				s += v
			}
			d[ia] += s
			return
		}
		for i := 0; i < n; i++ {
			d[ia+i*sa] += gd[o+i] * mul(o+i, ia+i*sa, ib+i*sb)
		}
	})
}
