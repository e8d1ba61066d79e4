package tensor

import (
	"fmt"
	"math"
)

// PoolParams describes a pooling window sliding over a batch of NCHW images
// x of shape N×C×H×W, producing N×C×OutH()×OutW().
//
// Padding is implicit: padded positions never win a max and count for an
// average only with count_include_pad. With CeilMode the output size rounds
// up, but a window that would start inside the right or bottom padding is
// dropped (PyTorch's pooling_output_shape).
type PoolParams struct {
	N, C, H, W       int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	CeilMode         bool
}

// OutH returns the output height.
func (p PoolParams) OutH() int { return poolOutSize(p.H, p.KH, p.StrideH, p.PadH, p.CeilMode) }

// OutW returns the output width.
func (p PoolParams) OutW() int { return poolOutSize(p.W, p.KW, p.StrideW, p.PadW, p.CeilMode) }

// poolOutSize is PyTorch's pooling_output_shape with dilation 1:
//
//	out = floor((in + 2·pad - k + (ceil ? stride-1 : 0)) / stride) + 1
//
// minus one when ceil mode would start the last window in the padding.
func poolOutSize(in, k, stride, pad int, ceil bool) int {
	num := in + 2*pad - k
	if ceil {
		num += stride - 1
	}
	out := floorDiv(num, stride) + 1
	if ceil && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// check panics unless p describes a valid pooling and the buffers hold x and y.
func (p PoolParams) check(op string, x, y int) {
	if p.N < 0 || p.C < 0 || p.H < 1 || p.W < 1 || p.KH < 1 || p.KW < 1 || p.StrideH < 1 || p.StrideW < 1 ||
		p.PadH < 0 || p.PadW < 0 || 2*p.PadH > p.KH || 2*p.PadW > p.KW || p.OutH() < 1 || p.OutW() < 1 {
		panic(fmt.Sprintf("%s: %s %+v (kernel and stride >= 1, padding at most half the kernel, output >= 1 required)", errBadShape, op, p))
	}
	if nx := p.N * p.C * p.H * p.W; x < nx {
		panic(fmt.Sprintf("%s: %s input has %d, needs %d", errShortBuf, op, x, nx))
	}
	if ny := p.N * p.C * p.OutH() * p.OutW(); y < ny {
		panic(fmt.Sprintf("%s: %s output has %d, needs %d", errShortBuf, op, y, ny))
	}
}

// planeGrain returns how many image planes one worker should take at least
// so that a chunk does about 64k multiply-adds.
func planeGrain(perPlane int) int { return max(1, (1<<16)/max(perPlane, 1)) }

// MaxPool2d computes
//
//	y[n,c,i,j] = max over the window of (i, j) of x[n,c,h,w]
//	argmax[n,c,i,j] = h·W + w of the first maximum (or of the last NaN, as in PyTorch)
//
// x is N×C×H×W, y and argmax N×C×OutH×OutW. It panics on invalid parameters
// or short buffers.
func MaxPool2d(p PoolParams, x, y []float32, argmax []int32) {
	p.check("MaxPool2d", len(x), len(y))
	oh, ow := p.OutH(), p.OutW()
	if len(argmax) < p.N*p.C*oh*ow {
		panic(fmt.Sprintf("%s: MaxPool2d argmax has %d, needs %d", errShortBuf, len(argmax), p.N*p.C*oh*ow))
	}
	hw, ohw := p.H*p.W, oh*ow
	Parallel(p.N*p.C, planeGrain(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp := x[pl*hw : (pl+1)*hw]
			yp, ap := y[pl*ohw:(pl+1)*ohw], argmax[pl*ohw:(pl+1)*ohw]
			for i := 0; i < oh; i++ {
				h0 := i*p.StrideH - p.PadH
				h1 := min(h0+p.KH, p.H)
				h0 = max(h0, 0)
				for j := 0; j < ow; j++ {
					w0 := j*p.StrideW - p.PadW
					w1 := min(w0+p.KW, p.W)
					w0 = max(w0, 0)
					best, arg := float32(math.Inf(-1)), h0*p.W+w0
					for h := h0; h < h1; h++ {
						row := xp[h*p.W : (h+1)*p.W]
						for w := w0; w < w1; w++ {
							if v := row[w]; v > best || v != v {
								best, arg = v, h*p.W+w
							}
						}
					}
					yp[i*ow+j] = best
					ap[i*ow+j] = int32(arg)
				}
			}
		}
	})
}

// MaxPool2dBackward accumulates the gradient of MaxPool2d:
//
//	dx[n,c,argmax[n,c,i,j]] += dy[n,c,i,j]
//
// dy and argmax are N×C×OutH×OutW, dx is N×C×H×W.
func MaxPool2dBackward(p PoolParams, dy []float32, argmax []int32, dx []float32) {
	p.check("MaxPool2dBackward", len(dx), len(dy))
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	Parallel(p.N*p.C, planeGrain(ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp := dx[pl*hw : (pl+1)*hw]
			for k, g := range dy[pl*ohw : (pl+1)*ohw] {
				dxp[argmax[pl*ohw+k]] += g
			}
		}
	})
}

// avgWindow returns the clipped window [h0,h1)×[w0,w1) of output (i, j) and
// the divisor PyTorch's avg_pool2d uses: with countIncludePad the window
// clipped to the padded image, otherwise the window clipped to the image.
func (p PoolParams) avgWindow(i, j int, countIncludePad bool) (h0, h1, w0, w1 int, div float32) {
	h0, w0 = i*p.StrideH-p.PadH, j*p.StrideW-p.PadW
	h1, w1 = min(h0+p.KH, p.H+p.PadH), min(w0+p.KW, p.W+p.PadW)
	size := (h1 - h0) * (w1 - w0)
	h0, w0 = max(h0, 0), max(w0, 0)
	h1, w1 = min(h1, p.H), min(w1, p.W)
	if !countIncludePad {
		size = (h1 - h0) * (w1 - w0)
	}
	return h0, h1, w0, w1, float32(size)
}

// AvgPool2d computes
//
//	y[n,c,i,j] = (Σ over the window of (i, j) of x[n,c,h,w]) / divisor
//
// where the divisor counts the window's positions inside the padded image
// (countIncludePad, PyTorch's default) or inside the image only.
// x is N×C×H×W, y N×C×OutH×OutW.
func AvgPool2d(p PoolParams, countIncludePad bool, x, y []float32) {
	p.check("AvgPool2d", len(x), len(y))
	oh, ow := p.OutH(), p.OutW()
	hw, ohw := p.H*p.W, oh*ow
	Parallel(p.N*p.C, planeGrain(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					h0, h1, w0, w1, div := p.avgWindow(i, j, countIncludePad)
					yp[i*ow+j] = sumWindow(xp, p.W, h0, h1, w0, w1) / div
				}
			}
		}
	})
}

// AvgPool2dBackward accumulates the gradient of AvgPool2d into dx:
//
//	dx[n,c,h,w] += Σ over windows (i, j) holding (h, w) of dy[n,c,i,j] / divisor
func AvgPool2dBackward(p PoolParams, countIncludePad bool, dy, dx []float32) {
	p.check("AvgPool2dBackward", len(dx), len(dy))
	oh, ow := p.OutH(), p.OutW()
	hw, ohw := p.H*p.W, oh*ow
	Parallel(p.N*p.C, planeGrain(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp, dyp := dx[pl*hw:(pl+1)*hw], dy[pl*ohw:(pl+1)*ohw]
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					h0, h1, w0, w1, div := p.avgWindow(i, j, countIncludePad)
					addWindow(dxp, p.W, h0, h1, w0, w1, dyp[i*ow+j]/div)
				}
			}
		}
	})
}

// adaptiveRange returns PyTorch's adaptive pooling window of output index o:
//
//	[floor(o·in/out), ceil((o+1)·in/out))
func adaptiveRange(o, in, out int) (lo, hi int) {
	return o * in / out, ((o+1)*in + out - 1) / out
}

// AdaptiveAvgPool2d averages x (N×C×H×W) over PyTorch's adaptive windows
// into y (N×C×OH×OW). Windows of neighbouring outputs may overlap when the
// input size is not a multiple of the output size.
func AdaptiveAvgPool2d(n, c, h, w, oh, ow int, x, y []float32) {
	checkAdaptive("AdaptiveAvgPool2d", n, c, h, w, oh, ow, len(x), len(y))
	hw, ohw := h*w, oh*ow
	Parallel(n*c, planeGrain(hw+ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
			for i := 0; i < oh; i++ {
				h0, h1 := adaptiveRange(i, h, oh)
				for j := 0; j < ow; j++ {
					w0, w1 := adaptiveRange(j, w, ow)
					yp[i*ow+j] = sumWindow(xp, w, h0, h1, w0, w1) / float32((h1-h0)*(w1-w0))
				}
			}
		}
	})
}

// AdaptiveAvgPool2dBackward accumulates the gradient of AdaptiveAvgPool2d
// from dy (N×C×OH×OW) into dx (N×C×H×W).
func AdaptiveAvgPool2dBackward(n, c, h, w, oh, ow int, dy, dx []float32) {
	checkAdaptive("AdaptiveAvgPool2dBackward", n, c, h, w, oh, ow, len(dx), len(dy))
	hw, ohw := h*w, oh*ow
	Parallel(n*c, planeGrain(hw+ohw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp, dyp := dx[pl*hw:(pl+1)*hw], dy[pl*ohw:(pl+1)*ohw]
			for i := 0; i < oh; i++ {
				h0, h1 := adaptiveRange(i, h, oh)
				for j := 0; j < ow; j++ {
					w0, w1 := adaptiveRange(j, w, ow)
					addWindow(dxp, w, h0, h1, w0, w1, dyp[i*ow+j]/float32((h1-h0)*(w1-w0)))
				}
			}
		}
	})
}

func checkAdaptive(op string, n, c, h, w, oh, ow, x, y int) {
	if n < 0 || c < 0 || h < 1 || w < 1 || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("%s: %s input %dx%dx%dx%d, output %dx%d", errBadShape, op, n, c, h, w, oh, ow))
	}
	if x < n*c*h*w || y < n*c*oh*ow {
		panic(fmt.Sprintf("%s: %s buffers %d and %d for input %dx%dx%dx%d, output %dx%d", errShortBuf, op, x, y, n, c, h, w, oh, ow))
	}
}

// sumWindow returns the sum of plane[h·w+c] over rows [h0,h1) and columns
// [w0,w1) of a plane of width w, row by row. Window loops are leaf
// functions so that the compiler keeps their counters in registers.
func sumWindow(plane []float32, w, h0, h1, w0, w1 int) float32 {
	var s float32
	for h := h0; h < h1; h++ {
		for _, v := range plane[h*w+w0 : h*w+w1] {
			s += v
		}
	}
	return s
}

// addWindow adds g to plane[h·w+c] over rows [h0,h1) and columns [w0,w1).
func addWindow(plane []float32, w, h0, h1, w0, w1 int, g float32) {
	for h := h0; h < h1; h++ {
		row := plane[h*w+w0 : h*w+w1]
		for k := range row {
			row[k] += g
		}
	}
}
