package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// Conv2dOptions configures NewConv2d and NewConvTranspose2d. The zero value
// gives PyTorch's defaults: stride 1, padding 0, dilation 1, one group, a
// bias, no output padding.
type Conv2dOptions struct {
	Stride   [2]int // default (1, 1)
	Padding  [2]int // default (0, 0)
	Dilation [2]int // default (1, 1)
	// OutputPadding applies to ConvTranspose2d only (see ConvOptions);
	// default (0, 0).
	OutputPadding [2]int
	// Groups splits the channels into independent groups; default 1. It must
	// divide both channel counts.
	Groups int
	// NoBias drops the bias (PyTorch's bias=False).
	NoBias bool
}

func (o Conv2dOptions) op(transposed bool) ConvOptions {
	c := ConvOptions{Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation, Groups: o.Groups}
	if transposed {
		c.OutputPadding = o.OutputPadding
	}
	return c.withDefaults()
}

func checkConvLayer(name string, in, out int, kernel [2]int, o ConvOptions) {
	if in < 1 || out < 1 || kernel[0] < 1 || kernel[1] < 1 {
		panic(fmt.Sprintf("%s: %s(%d, %d, kernel %v): channels and kernel sizes must be >= 1", errArg, name, in, out, kernel))
	}
	if !o.valid() {
		panic(fmt.Sprintf("%s: %s options %+v: stride, dilation and groups must be >= 1, paddings >= 0", errArg, name, o))
	}
	if in%o.Groups != 0 || out%o.Groups != 0 {
		panic(fmt.Sprintf("%s: %s(%d, %d) with %d groups: groups must divide both channel counts", errArg, name, in, out, o.Groups))
	}
}

// Conv2d is a 2-D convolution layer, as torch.nn.Conv2d: y = Conv2dOp(x,
// Weight, Bias). Its state-dict keys are weight ([out, in/groups, kh, kw])
// and bias ([out]).
type Conv2d struct {
	ModuleBase
	Weight  *Var // [out, in/groups, kh, kw]
	Bias    *Var // [out]; nil with NoBias
	Options ConvOptions
}

// NewConv2d returns a Conv2d from in to out channels with the given kernel
// (height, width), initialised as PyTorch's reset_parameters does
// (InitTorchDefault) from rng.
func NewConv2d(in, out int, kernel [2]int, rng *tensor.RNG, o Conv2dOptions) *Conv2d {
	if o.OutputPadding != [2]int{} {
		panic(fmt.Sprintf("%s: NewConv2d with output padding %v: it applies to ConvTranspose2d only", errArg, o.OutputPadding))
	}
	op := o.op(false)
	checkConvLayer("NewConv2d", in, out, kernel, op)
	c := &Conv2d{Options: op}
	w := tensor.New(out, in/op.Groups, kernel[0], kernel[1])
	var b *tensor.Tensor
	if !o.NoBias {
		b = tensor.New(out)
	}
	InitTorchDefault(w, b, rng)
	c.Weight = c.RegisterParam("weight", NewParam(w))
	if b != nil {
		c.Bias = c.RegisterParam("bias", NewParam(b))
	}
	return c
}

// Forward convolves x (N×in×H×W).
func (c *Conv2d) Forward(x *Var) *Var { return Conv2dOp(x, c.Weight, c.Bias, c.Options) }

// ConvTranspose2d is a 2-D transposed convolution layer, as
// torch.nn.ConvTranspose2d: y = ConvTranspose2dOp(x, Weight, Bias). Its
// state-dict keys are weight ([in, out/groups, kh, kw], PyTorch's layout)
// and bias ([out]).
type ConvTranspose2d struct {
	ModuleBase
	Weight  *Var // [in, out/groups, kh, kw]
	Bias    *Var // [out]; nil with NoBias
	Options ConvOptions
}

// NewConvTranspose2d returns a ConvTranspose2d from in to out channels with
// the given kernel (height, width), initialised as PyTorch's
// reset_parameters does (InitTorchDefault, whose fan-in for this layout is
// out/groups·kh·kw) from rng.
func NewConvTranspose2d(in, out int, kernel [2]int, rng *tensor.RNG, o Conv2dOptions) *ConvTranspose2d {
	op := o.op(true)
	checkConvLayer("NewConvTranspose2d", in, out, kernel, op)
	for i := range op.OutputPadding {
		if op.OutputPadding[i] >= op.Stride[i] && op.OutputPadding[i] >= op.Dilation[i] {
			panic(fmt.Sprintf("%s: NewConvTranspose2d output padding %v with stride %v and dilation %v: must be smaller than one of them",
				errArg, op.OutputPadding, op.Stride, op.Dilation))
		}
	}
	c := &ConvTranspose2d{Options: op}
	w := tensor.New(in, out/op.Groups, kernel[0], kernel[1])
	var b *tensor.Tensor
	if !o.NoBias {
		b = tensor.New(out)
	}
	InitTorchDefault(w, b, rng)
	c.Weight = c.RegisterParam("weight", NewParam(w))
	if b != nil {
		c.Bias = c.RegisterParam("bias", NewParam(b))
	}
	return c
}

// Forward applies the transposed convolution to x (N×in×H×W).
func (c *ConvTranspose2d) Forward(x *Var) *Var {
	return ConvTranspose2dOp(x, c.Weight, c.Bias, c.Options)
}
