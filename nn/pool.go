package nn

import (
	"fmt"
	"unsafe"

	"github.com/densepred/dp/tensor"
)

// PoolOptions configures MaxPool2d and AvgPool2d. Pairs are (height, width).
type PoolOptions struct {
	// Kernel is the window size; required.
	Kernel [2]int
	// Stride is the window step; default (0, 0) means Kernel, as PyTorch's
	// stride=None.
	Stride [2]int
	// Padding is added on both sides of each axis; default 0. It may be at
	// most half the kernel.
	Padding [2]int
	// CeilMode rounds the output size up instead of down; default false.
	CeilMode bool
	// ExcludePad makes AvgPool2d divide by the number of window positions
	// inside the image. The default (false) divides by the positions inside
	// the padded image: PyTorch's default count_include_pad=True.
	ExcludePad bool
}

// params returns the kernel parameters for an NCHW input of shape s.
func (o PoolOptions) params(op string, s []int) tensor.PoolParams {
	if len(s) != 4 {
		panic(fmt.Sprintf("%s: %s needs an NCHW input, got %v", errShape, op, s))
	}
	stride := o.Stride
	if stride == [2]int{} {
		stride = o.Kernel
	}
	p := tensor.PoolParams{N: s[0], C: s[1], H: s[2], W: s[3],
		KH: o.Kernel[0], KW: o.Kernel[1], StrideH: stride[0], StrideW: stride[1],
		PadH: o.Padding[0], PadW: o.Padding[1], CeilMode: o.CeilMode}
	if p.KH < 1 || p.KW < 1 || p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 ||
		2*p.PadH > p.KH || 2*p.PadW > p.KW || p.H < 1 || p.W < 1 || p.OutH() < 1 || p.OutW() < 1 {
		panic(fmt.Sprintf("%s: %s input %v, kernel %v, stride %v, padding %v (kernel and stride >= 1, padding at most half the kernel, output >= 1 required)",
			errArg, op, s, o.Kernel, stride, o.Padding))
	}
	return p
}

// MaxPool2d returns the maximum of x (N×C×H×W) over each pooling window,
// as PyTorch's F.max_pool2d. The gradient flows to the position of each
// window's first maximum.
func MaxPool2d(x *Var, o PoolOptions) *Var {
	p := o.params("MaxPool2d", x.Shape())
	out := Output([]int{p.N, p.C, p.OutH(), p.OutW()}, x)
	argmax := indexBuffer(out.tape, out.Value.Len())
	tensor.MaxPool2d(p, x.Data(), out.Data(), argmax)
	Record("MaxPool2d", out, func() {
		if g := GradOf(x); g != nil {
			tensor.MaxPool2dBackward(p, out.Grad.Data(), argmax, g.Data())
		}
	})
	return out
}

// indexBuffer returns n int32 slots backed by a float32 buffer lent by tp
// (allocated when tp is nil), so that index buffers recycle with the tape's
// other buffers. They are valid until tp.Release.
func indexBuffer(tp *Tape, n int) []int32 {
	if n == 0 {
		return nil
	}
	buf := tp.NewTensorDirty(n).Data()
	return unsafe.Slice((*int32)(unsafe.Pointer(&buf[0])), n)
}

// AvgPool2d returns the mean of x (N×C×H×W) over each pooling window, as
// PyTorch's F.avg_pool2d (see PoolOptions.ExcludePad for the divisor).
func AvgPool2d(x *Var, o PoolOptions) *Var {
	p := o.params("AvgPool2d", x.Shape())
	out := Output([]int{p.N, p.C, p.OutH(), p.OutW()}, x)
	tensor.AvgPool2d(p, !o.ExcludePad, x.Data(), out.Data())
	Record("AvgPool2d", out, func() {
		if g := GradOf(x); g != nil {
			tensor.AvgPool2dBackward(p, !o.ExcludePad, out.Grad.Data(), g.Data())
		}
	})
	return out
}

// AdaptiveAvgPool2d averages x (N×C×H×W) to an output of outH×outW, window
// (i, j) covering rows [⌊i·H/outH⌋, ⌈(i+1)·H/outH⌉) and the same for
// columns, as PyTorch's F.adaptive_avg_pool2d.
func AdaptiveAvgPool2d(x *Var, outH, outW int) *Var {
	s := x.Shape()
	if len(s) != 4 || s[2] < 1 || s[3] < 1 || outH < 1 || outW < 1 {
		panic(fmt.Sprintf("%s: AdaptiveAvgPool2d input %v to %dx%d", errArg, s, outH, outW))
	}
	n, c, h, w := s[0], s[1], s[2], s[3]
	out := Output([]int{n, c, outH, outW}, x)
	tensor.AdaptiveAvgPool2d(n, c, h, w, outH, outW, x.Data(), out.Data())
	Record("AdaptiveAvgPool2d", out, func() {
		if g := GradOf(x); g != nil {
			tensor.AdaptiveAvgPool2dBackward(n, c, h, w, outH, outW, out.Grad.Data(), g.Data())
		}
	})
	return out
}
