package nn_test

import (
	"strings"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func TestConvGrad(t *testing.T) {
	cases := []struct {
		name       string
		x, w       []int
		bias       bool
		transposed bool
		frozen     bool // the weight gets no gradient (only the bias does)
		opt        nn.ConvOptions
	}{
		{name: "Conv2d/k=3", x: []int{2, 2, 4, 5}, w: []int{3, 2, 3, 3}, bias: true},
		{name: "Conv2d/pad=1/stride=2", x: []int{1, 2, 5, 6}, w: []int{3, 2, 3, 3}, bias: true, opt: nn.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{name: "Conv2d/k=1/no_bias", x: []int{2, 3, 3, 3}, w: []int{2, 3, 1, 1}},
		{name: "Conv2d/dilation=2/pad=2", x: []int{1, 2, 6, 6}, w: []int{2, 2, 3, 3}, bias: true, opt: nn.ConvOptions{Dilation: [2]int{2, 2}, Padding: [2]int{2, 2}}},
		{name: "Conv2d/k=3x2/stride=2x1/pad=1x0", x: []int{1, 2, 5, 4}, w: []int{2, 2, 3, 2}, bias: true, opt: nn.ConvOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}}},
		{name: "Conv2d/groups=2", x: []int{2, 4, 4, 4}, w: []int{4, 2, 3, 3}, bias: true, opt: nn.ConvOptions{Padding: [2]int{1, 1}, Groups: 2}},
		{name: "Conv2d/depthwise", x: []int{2, 3, 5, 5}, w: []int{3, 1, 3, 3}, bias: true, opt: nn.ConvOptions{Padding: [2]int{1, 1}, Groups: 3}},
		{name: "Conv2d/depthwise/stride=2", x: []int{1, 3, 6, 6}, w: []int{3, 1, 3, 3}, opt: nn.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, Groups: 3}},
		{name: "Conv2d/depthwise/multiplier=2", x: []int{1, 2, 4, 4}, w: []int{4, 1, 3, 3}, bias: true, opt: nn.ConvOptions{Padding: [2]int{1, 1}, Groups: 2}},
		{name: "Conv2d/depthwise/dilation=2", x: []int{1, 2, 5, 5}, w: []int{2, 1, 3, 3}, bias: true, opt: nn.ConvOptions{Padding: [2]int{2, 2}, Dilation: [2]int{2, 2}, Groups: 2}},
		{name: "Conv2d/frozen_weight", x: []int{2, 2, 4, 4}, w: []int{3, 2, 3, 3}, bias: true, frozen: true, opt: nn.ConvOptions{Padding: [2]int{1, 1}}},
		{name: "ConvTranspose2d/k=3", x: []int{2, 2, 3, 4}, w: []int{2, 3, 3, 3}, bias: true, transposed: true},
		{name: "ConvTranspose2d/stride=2", x: []int{1, 3, 3, 3}, w: []int{3, 2, 2, 2}, bias: true, transposed: true, opt: nn.ConvOptions{Stride: [2]int{2, 2}}},
		{name: "ConvTranspose2d/stride=2/pad=1/output_padding=1", x: []int{1, 2, 3, 4}, w: []int{2, 2, 3, 3}, bias: true, transposed: true, opt: nn.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}}},
		{name: "ConvTranspose2d/dilation=2/pad=1", x: []int{1, 2, 3, 3}, w: []int{2, 3, 3, 3}, bias: true, transposed: true, opt: nn.ConvOptions{Padding: [2]int{1, 1}, Dilation: [2]int{2, 2}}},
		{name: "ConvTranspose2d/groups=2/no_bias", x: []int{1, 4, 3, 3}, w: []int{4, 1, 3, 3}, transposed: true, opt: nn.ConvOptions{Stride: [2]int{2, 2}, Groups: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := []*tensor.Tensor{randT(41, c.x...), randT(42, c.w...)}
			if c.bias {
				n := c.w[0]
				if c.transposed {
					n = c.w[1] * max(c.opt.Groups, 1)
				}
				inputs = append(inputs, randT(43, n))
			}
			var check nntest.GradCheck
			if c.frozen {
				check.NoGrad = []int{1}
			}
			check.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var {
				var b *nn.Var
				if c.bias {
					b = in[2]
				}
				if c.transposed {
					return nn.ConvTranspose2dOp(in[0], in[1], b, c.opt)
				}
				return nn.Conv2dOp(in[0], in[1], b, c.opt)
			}, inputs...)
		})
	}
}

// TestConvTransposeIsAdjoint checks ⟨conv(y), x⟩ = ⟨y, convT(x)⟩: the
// transposed convolution is the adjoint of the convolution with the same
// weight and options.
func TestConvTransposeIsAdjoint(t *testing.T) {
	opt := nn.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}}
	w := nn.Constant(randT(51, 3, 2, 3, 3)) // conv: 2 -> 3 channels; transposed: 3 -> 2
	x := nn.Constant(randT(52, 1, 3, 4, 5))
	yt := nn.ConvTranspose2dOp(x, w, nil, opt)
	if s := yt.Shape(); !tensor.SameShape(s, []int{1, 2, 8, 10}) {
		t.Fatalf("transposed output shape %v, want [1 2 8 10]", s)
	}
	y := nn.Constant(randT(53, 1, 2, 8, 10))
	fwd := opt
	fwd.OutputPadding = [2]int{}
	cy := nn.Conv2dOp(y, w, nil, fwd)
	var lhs, rhs float64
	for i, v := range cy.Data() {
		lhs += float64(v) * float64(x.Data()[i])
	}
	for i, v := range yt.Data() {
		rhs += float64(v) * float64(y.Data()[i])
	}
	if d := lhs - rhs; d > 1e-4 || d < -1e-4 {
		t.Errorf("<conv(y), x> = %.6g, <y, convT(x)> = %.6g", lhs, rhs)
	}
}

func TestLayerOpPanics(t *testing.T) {
	x := nn.Constant(tensor.New(1, 4, 5, 5))
	cases := []struct {
		name string
		f    func()
		want string // a fragment the message must contain
	}{
		{"Conv2d/groups", func() { nn.Conv2dOp(x, nn.Constant(tensor.New(6, 2, 3, 3)), nil, nn.ConvOptions{Groups: 3}) }, "weight has 2 input channels per group, want 4 channels / 3 groups"},
		{"Conv2d/bias", func() {
			nn.Conv2dOp(x, nn.Constant(tensor.New(6, 4, 3, 3)), nn.Constant(tensor.New(5)), nn.ConvOptions{})
		}, "bias must have shape [6]"},
		{"Conv2d/kernel", func() { nn.Conv2dOp(x, nn.Constant(tensor.New(6, 4, 7, 7)), nil, nn.ConvOptions{}) }, "kernel larger than the padded input"},
		// (5 - 6)/2 truncates to 0: the size formula alone would give one output row.
		{"Conv2d/kernel/stride=2", func() {
			nn.Conv2dOp(x, nn.Constant(tensor.New(6, 4, 6, 6)), nil, nn.ConvOptions{Stride: [2]int{2, 2}})
		}, "kernel larger than the padded input"},
		{"ConvTranspose2d/output_padding", func() {
			nn.ConvTranspose2dOp(x, nn.Constant(tensor.New(4, 2, 3, 3)), nil, nn.ConvOptions{OutputPadding: [2]int{1, 1}})
		}, "output padding must be smaller"},
		{"MaxPool2d/padding", func() { nn.MaxPool2d(x, nn.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{2, 2}}) }, "padding at most half the kernel"},
		{"GroupNorm/groups", func() { nn.GroupNormOp(x, nil, nil, 3, 1e-5) }, "groups must divide the channels"},
		{"Interpolate/size_and_scale", func() {
			nn.Interpolate(x, nn.InterpolateOptions{Size: [2]int{2, 2}, ScaleFactor: [2]float64{2, 2}})
		}, "exactly one of Size"},
		{"NewConv2d/groups", func() { nn.NewConv2d(4, 6, [2]int{3, 3}, tensor.NewRNG(1), nn.Conv2dOptions{Groups: 4}) }, "groups must divide both channel counts"},
		{"NewGroupNorm", func() { nn.NewGroupNorm(4, 6, nn.GroupNormOptions{}) }, "4 groups for 6 channels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r, _ := recover().(string)
				if !strings.Contains(r, c.want) {
					t.Errorf("panic %q, want one containing %q", r, c.want)
				}
			}()
			c.f()
		})
	}
}
