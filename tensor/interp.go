package tensor

import (
	"fmt"
	"math"
)

// ResizeParams describes resizing a batch of NCHW images x (N×C×H×W) to
// y (N×C×OutH×OutW) as PyTorch's F.interpolate does.
//
// ScaleH and ScaleW are the scale factors the caller gave (output/input),
// or 0 when an output size was given instead. PyTorch derives the sampling
// ratio from a given scale factor (1/scale) rather than from the sizes, and
// so does dp. AlignCorners applies to bilinear resizing only.
type ResizeParams struct {
	N, C, H, W     int
	OutH, OutW     int
	ScaleH, ScaleW float64
	AlignCorners   bool
}

func (p ResizeParams) check(op string, x, y int) {
	if p.N < 0 || p.C < 0 || p.H < 1 || p.W < 1 || p.OutH < 1 || p.OutW < 1 || p.ScaleH < 0 || p.ScaleW < 0 {
		panic(fmt.Sprintf("%s: %s %+v", errBadShape, op, p))
	}
	if nx := p.N * p.C * p.H * p.W; x < nx {
		panic(fmt.Sprintf("%s: %s input has %d, needs %d", errShortBuf, op, x, nx))
	}
	if ny := p.N * p.C * p.OutH * p.OutW; y < ny {
		panic(fmt.Sprintf("%s: %s output has %d, needs %d", errShortBuf, op, y, ny))
	}
}

// linearTap is the pair of source indices and weights of one output index
// along one axis of a bilinear resize.
type linearTap struct {
	i0, i1 int
	l0, l1 float32
}

// resizeRatio is PyTorch's area_pixel_compute_scale in float32: the input
// step per output step.
func resizeRatio(in, out int, alignCorners bool, scale float64) float32 {
	if alignCorners {
		if out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return 0
	}
	if scale > 0 {
		return float32(1 / scale)
	}
	return float32(in) / float32(out)
}

// linearTaps returns the taps of every output index along an axis, as
// PyTorch's compute_source_index_and_lambda computes them (in float32):
//
//	src = ratio·dst                 (align corners)
//	src = max(ratio·(dst+½) - ½, 0) (otherwise)
//	i0 = ⌊src⌋, i1 = min(i0+1, in-1), l1 = src - i0, l0 = 1 - l1
func linearTaps(in, out int, alignCorners bool, scale float64) []linearTap {
	taps := make([]linearTap, out)
	if in == out {
		for o := range taps {
			taps[o] = linearTap{o, o, 1, 0}
		}
		return taps
	}
	r := resizeRatio(in, out, alignCorners, scale)
	for o := range taps {
		var src float32
		if alignCorners {
			src = r * float32(o)
		} else {
			src = float32(r*(float32(o)+0.5)) - 0.5
			if src < 0 {
				src = 0
			}
		}
		i0 := int(src)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		l1 := min(max(src-float32(i0), 0), 1)
		taps[o] = linearTap{i0, i1, 1 - l1, l1}
	}
	return taps
}

// ResizeBilinear resizes x into y by bilinear interpolation:
//
//	y[n,c,i,j] = l0(i)·(m0(j)·x[h0,w0] + m1(j)·x[h0,w1]) + l1(i)·(m0(j)·x[h1,w0] + m1(j)·x[h1,w1])
//
// with the taps of linearTaps along each axis (PyTorch's upsample_bilinear2d).
func ResizeBilinear(p ResizeParams, x, y []float32) {
	p.check("ResizeBilinear", len(x), len(y))
	th := linearTaps(p.H, p.OutH, p.AlignCorners, p.ScaleH)
	tw := linearTaps(p.W, p.OutW, p.AlignCorners, p.ScaleW)
	hw, ohw := p.H*p.W, p.OutH*p.OutW
	Parallel(p.N*p.C, planeGrain(4*ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
			for i, a := range th {
				r0, r1 := xp[a.i0*p.W:(a.i0+1)*p.W], xp[a.i1*p.W:(a.i1+1)*p.W]
				yr := yp[i*p.OutW : (i+1)*p.OutW]
				for j, b := range tw {
					t0 := float32(b.l0*r0[b.i0]) + float32(b.l1*r0[b.i1])
					t1 := float32(b.l0*r1[b.i0]) + float32(b.l1*r1[b.i1])
					yr[j] = float32(a.l0*t0) + float32(a.l1*t1)
				}
			}
		}
	})
}

// ResizeBilinearBackward accumulates the gradient of ResizeBilinear from dy
// into dx: each output's gradient goes to its four taps with their weights.
func ResizeBilinearBackward(p ResizeParams, dy, dx []float32) {
	p.check("ResizeBilinearBackward", len(dx), len(dy))
	th := linearTaps(p.H, p.OutH, p.AlignCorners, p.ScaleH)
	tw := linearTaps(p.W, p.OutW, p.AlignCorners, p.ScaleW)
	hw, ohw := p.H*p.W, p.OutH*p.OutW
	Parallel(p.N*p.C, planeGrain(4*ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp, dyp := dx[pl*hw:(pl+1)*hw], dy[pl*ohw:(pl+1)*ohw]
			for i, a := range th {
				r0, r1 := dxp[a.i0*p.W:(a.i0+1)*p.W], dxp[a.i1*p.W:(a.i1+1)*p.W]
				for j, b := range tw {
					g := dyp[i*p.OutW+j]
					g0, g1 := a.l0*g, a.l1*g
					r0[b.i0] += b.l0 * g0
					r0[b.i1] += b.l1 * g0
					r1[b.i0] += b.l0 * g1
					r1[b.i1] += b.l1 * g1
				}
			}
		}
	})
}

// nearestIndices returns the source index of every output index along an
// axis, as PyTorch's nearest_idx computes it (mode "nearest", in float32):
//
//	src = min(⌊dst·ratio⌋, in-1), ratio = 1/scale if a scale was given, else in/out
//
// with the exact shortcuts out == in and out == 2·in.
func nearestIndices(in, out int, scale float64) []int {
	idx := make([]int, out)
	var r float32
	if scale > 0 {
		r = float32(1 / scale)
	} else {
		r = float32(in) / float32(out)
	}
	for o := range idx {
		switch {
		case out == in:
			idx[o] = o
		case out == 2*in:
			idx[o] = o >> 1
		default:
			idx[o] = min(int(math.Floor(float64(float32(o)*r))), in-1)
		}
	}
	return idx
}

// ResizeNearest resizes x into y by nearest-neighbour sampling:
//
//	y[n,c,i,j] = x[n,c,src_h(i),src_w(j)]
//
// with the indices of nearestIndices (PyTorch's upsample_nearest2d).
func ResizeNearest(p ResizeParams, x, y []float32) {
	p.check("ResizeNearest", len(x), len(y))
	ih, iw := nearestIndices(p.H, p.OutH, p.ScaleH), nearestIndices(p.W, p.OutW, p.ScaleW)
	hw, ohw := p.H*p.W, p.OutH*p.OutW
	Parallel(p.N*p.C, planeGrain(ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
			for i, h := range ih {
				gather(yp[i*p.OutW:(i+1)*p.OutW], xp[h*p.W:(h+1)*p.W], iw)
			}
		}
	})
}

// ResizeNearestBackward accumulates the gradient of ResizeNearest: each
// output's gradient is added to the input element it was copied from.
func ResizeNearestBackward(p ResizeParams, dy, dx []float32) {
	p.check("ResizeNearestBackward", len(dx), len(dy))
	ih, iw := nearestIndices(p.H, p.OutH, p.ScaleH), nearestIndices(p.W, p.OutW, p.ScaleW)
	hw, ohw := p.H*p.W, p.OutH*p.OutW
	Parallel(p.N*p.C, planeGrain(ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp, dyp := dx[pl*hw:(pl+1)*hw], dy[pl*ohw:(pl+1)*ohw]
			for i, h := range ih {
				scatterAdd(dxp[h*p.W:(h+1)*p.W], dyp[i*p.OutW:(i+1)*p.OutW], iw)
			}
		}
	})
}

// gather sets dst[j] = src[idx[j]]. Like the other inner loops of this file
// it is a leaf function so that the compiler keeps its counters in
// registers, which it did not inside the Parallel closures.
func gather(dst, src []float32, idx []int) {
	dst = dst[:len(idx)]
	for j, i := range idx {
		dst[j] = src[i]
	}
}

// scatterAdd adds src[j] to dst[idx[j]] for non-decreasing idx. Runs of
// equal indices are summed in a register first: adding them into dst one by
// one chains every addition through memory (3× slower when upsampling ×2).
func scatterAdd(dst, src []float32, idx []int) {
	src = src[:len(idx)]
	for j := 0; j < len(idx); {
		i, s := idx[j], src[j]
		for j++; j < len(idx) && idx[j] == i; j++ {
			s += src[j]
		}
		dst[i] += s
	}
}
