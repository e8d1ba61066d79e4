package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// ConvOptions configures Conv2dOp and ConvTranspose2dOp. Pairs are
// (height, width); a zero pair means PyTorch's default.
type ConvOptions struct {
	// Stride is the step of the kernel over the input; default (1, 1).
	Stride [2]int
	// Padding is the zero padding on both sides of each axis; default 0. For
	// a transposed convolution it is the padding of the forward convolution
	// it transposes: that many rows and columns are cropped from each side
	// of the output, as in PyTorch.
	Padding [2]int
	// Dilation is the spacing between kernel taps; default (1, 1).
	Dilation [2]int
	// OutputPadding adds rows and columns at the bottom and right of a
	// transposed convolution's output to pick one of the input sizes a
	// strided convolution maps to the same output; default 0. It must be
	// smaller than the stride or the dilation. Conv2dOp panics if it is set.
	OutputPadding [2]int
	// Groups splits the channels into independent groups; default 1. With
	// Groups equal to the input channels (and output channels a multiple of
	// them) the convolution is depthwise.
	Groups int
}

func (o ConvOptions) withDefaults() ConvOptions {
	if o.Stride == [2]int{} {
		o.Stride = [2]int{1, 1}
	}
	if o.Dilation == [2]int{} {
		o.Dilation = [2]int{1, 1}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

func (o ConvOptions) valid() bool {
	return o.Stride[0] >= 1 && o.Stride[1] >= 1 && o.Dilation[0] >= 1 && o.Dilation[1] >= 1 &&
		o.Padding[0] >= 0 && o.Padding[1] >= 0 && o.Groups >= 1 &&
		o.OutputPadding[0] >= 0 && o.OutputPadding[1] >= 0
}

// Conv2dOp returns the 2-D cross-correlation of x (N×C×H×W) with w
// (K×C/groups×KH×KW) plus bias ([K], may be nil), as PyTorch's F.conv2d:
//
//	y[n,k,i,j] = bias[k] + Σ_{c,u,v} x[n, g·C/G + c, i·sh - ph + u·dh, j·sw - pw + v·dw] · w[k,c,u,v]
//
// where g = k / (K/G) is the group of output channel k and positions outside
// the image read 0. y is N×K×OH×OW with OH = ⌊(H + 2ph - dh·(KH-1) - 1)/sh⌋ + 1
// (the same for OW). It panics on inconsistent shapes or options.
func Conv2dOp(x, w, bias *Var, o ConvOptions) *Var {
	p := convParams("Conv2d", x.Shape(), w.Shape(), bias, o, false)
	out := Output([]int{p.N, p.K, p.OutH(), p.OutW()}, x, w, bias)
	tensor.Conv2d(p, x.Data(), w.Data(), dataOrNil(bias), out.Data())
	Record("Conv2d", out, func() {
		dy := out.Grad.Data()
		if g := GradOf(x); g != nil {
			tensor.Conv2dBackwardData(p, dy, w.Data(), g.Data())
		}
		if g := GradOf(w); g != nil {
			tensor.Conv2dBackwardFilter(p, x.Data(), dy, g.Data(), gradDataOrNil(bias))
		} else if gb := gradDataOrNil(bias); gb != nil {
			sumPerChannel(dy, p.N, p.K, p.OutH()*p.OutW(), gb)
		}
	})
	return out
}

// ConvTranspose2dOp returns the transposed convolution of x (N×Cin×H×W) with
// w (Cin×Cout/groups×KH×KW, PyTorch's layout) plus bias ([Cout], may be
// nil), as PyTorch's F.conv_transpose2d: the gradient of Conv2dOp with
// respect to its input, for the convolution that maps an N×Cout×OH×OW image
// to x with the same options. The output size is
//
//	OH = (H-1)·sh - 2·ph + dh·(KH-1) + output_padding_h + 1   (the same for OW)
//
// Its input gradient is that forward convolution, and its weight gradient
// the forward convolution's weight gradient with input and output swapped.
// It panics on inconsistent shapes or options.
func ConvTranspose2dOp(x, w, bias *Var, o ConvOptions) *Var {
	p := convParams("ConvTranspose2d", x.Shape(), w.Shape(), bias, o, true)
	// p describes the forward convolution y (N×C×H×W) -> x (N×K×OH×OW).
	out := Output([]int{p.N, p.C, p.H, p.W}, x, w, bias)
	yd := out.Data()
	clear(yd)
	tensor.Conv2dBackwardData(p, x.Data(), w.Data(), yd)
	if bias != nil {
		addPerChannel(yd, p.N, p.C, p.H*p.W, bias.Data())
	}
	Record("ConvTranspose2d", out, func() {
		dy := out.Grad.Data()
		if g := GradOf(x); g != nil {
			tmp := out.tape.NewTensorDirty(x.Shape()...)
			tensor.Conv2d(p, dy, w.Data(), nil, tmp.Data())
			gd := g.Data()
			for i, v := range tmp.Data() {
				gd[i] += v
			}
		}
		if g := GradOf(w); g != nil {
			tensor.Conv2dBackwardFilter(p, dy, x.Data(), g.Data(), nil)
		}
		if gb := gradDataOrNil(bias); gb != nil {
			sumPerChannel(dy, p.N, p.C, p.H*p.W, gb)
		}
	})
	return out
}

// convParams checks the shapes and options of a convolution and returns the
// kernel parameters. For a transposed convolution they describe the
// equivalent forward convolution, whose output is x.
func convParams(op string, xs, ws []int, bias *Var, o ConvOptions, transposed bool) tensor.ConvParams {
	o = o.withDefaults()
	fail := func(why string) {
		var bs []int
		if bias != nil {
			bs = bias.Shape()
		}
		panic(fmt.Sprintf("%s: %s input %v, weight %v, bias %v, %+v: %s", errArg, op, xs, ws, bs, o, why))
	}
	if len(xs) != 4 || len(ws) != 4 {
		fail("input and weight must have 4 dimensions")
	}
	if !o.valid() {
		fail("stride, dilation and groups must be >= 1, padding >= 0")
	}
	if !transposed && o.OutputPadding != [2]int{} {
		fail("output padding applies to transposed convolutions only")
	}
	g := o.Groups
	p := tensor.ConvParams{N: xs[0], KH: ws[2], KW: ws[3],
		StrideH: o.Stride[0], StrideW: o.Stride[1], PadH: o.Padding[0], PadW: o.Padding[1],
		DilationH: o.Dilation[0], DilationW: o.Dilation[1], Groups: g}
	var outC int
	if !transposed {
		p.C, p.H, p.W, p.K = xs[1], xs[2], xs[3], ws[0]
		if ws[1]*g != p.C {
			fail(fmt.Sprintf("weight has %d input channels per group, want %d channels / %d groups", ws[1], p.C, g))
		}
		outC = p.K
	} else {
		// x is the forward convolution's output: K = x's channels = w's first dimension.
		p.K, p.C = xs[1], ws[1]*g
		if ws[0] != p.K {
			fail(fmt.Sprintf("weight has %d input channels, the input %d", ws[0], p.K))
		}
		for i, in := range xs[2:] {
			if op := o.OutputPadding[i]; op >= o.Stride[i] && op >= o.Dilation[i] {
				fail("output padding must be smaller than the stride or the dilation")
			}
			size := (in-1)*o.Stride[i] - 2*o.Padding[i] + o.Dilation[i]*(ws[2+i]-1) + o.OutputPadding[i] + 1
			if size < 1 {
				fail(fmt.Sprintf("output size %d", size))
			}
			if i == 0 {
				p.H = size
			} else {
				p.W = size
			}
		}
		outC = p.C
	}
	if p.K%g != 0 || p.C%g != 0 {
		fail("groups must divide input and output channels")
	}
	if p.KH < 1 || p.KW < 1 || p.H+2*p.PadH < p.DilationH*(p.KH-1)+1 || p.W+2*p.PadW < p.DilationW*(p.KW-1)+1 {
		fail("kernel larger than the padded input")
	}
	if transposed && (p.OutH() != xs[2] || p.OutW() != xs[3]) {
		fail("inconsistent output padding") // unreachable when the checks above hold
	}
	if bias != nil && (bias.Value.NDim() != 1 || bias.Value.Len() != outC) {
		fail(fmt.Sprintf("bias must have shape [%d]", outC))
	}
	return p
}

// addPerChannel adds b[c] to every element of channel c of y (N×C×HW).
func addPerChannel(y []float32, n, c, hw int, b []float32) {
	for i := 0; i < n*c; i++ {
		v := b[i%c]
		row := y[i*hw : (i+1)*hw]
		for j := range row {
			row[j] += v
		}
	}
}

// sumPerChannel accumulates Σ_{n,s} dy[n,c,s] into db[c] (dy is N×C×HW).
func sumPerChannel(dy []float32, n, c, hw int, db []float32) {
	for i := 0; i < n*c; i++ {
		var s float32
		for _, v := range dy[i*hw : (i+1)*hw] {
			s += v
		}
		db[i%c] += s
	}
}
