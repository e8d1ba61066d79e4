package nn_test

import (
	"path/filepath"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// layersTol is the largest error allowed against PyTorch, relative to the
// scale of each compared tensor (nntest.AssertClose).
const layersTol = 1e-4

// layersCase is one case of a layers_<family>.safetensors file written by
// tools/reference/golden_nn_layers.py: inputs and parameters under
// "<name>/<input>", the output "y", the upstream gradient "dy" and the
// gradients "grad_<input>".
type layersCase struct {
	name   string
	inputs []string // in the order op receives them
	op     func(t *testing.T, f *checkpoint.File, in []*nn.Var) *nn.Var
}

func readLayersGolden(t *testing.T, family string) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.ReadSafetensors(filepath.Join("testdata", "layers_"+family+".safetensors"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 tools/reference/golden_nn_layers.py %s)", err, family)
	}
	return f
}

// layersTensor returns a copy of the tensor key, failing t when it is absent.
func layersTensor(t *testing.T, f *checkpoint.File, key string) *tensor.Tensor {
	t.Helper()
	x, ok := f.Tensors[key]
	if !ok {
		t.Fatalf("golden has no tensor %q", key)
	}
	return x.Clone()
}

// runLayersGolden runs every case forward and backward with PyTorch's inputs and
// upstream gradient and compares the output and every input's gradient.
func runLayersGolden(t *testing.T, family string, cases []layersCase) {
	f := readLayersGolden(t, family)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := nn.NewTape(nil, nil)
			defer tp.Release()
			in := make([]*nn.Var, len(c.inputs))
			for i, name := range c.inputs {
				in[i] = tp.Leaf(layersTensor(t, f, c.name+"/"+name))
			}
			y := c.op(t, f, in)
			nntest.AssertClose(t, "y", y.Value, layersTensor(t, f, c.name+"/y"), layersTol)
			tp.BackwardFrom(y, layersTensor(t, f, c.name+"/dy"))
			for i, name := range c.inputs {
				g := in[i].Grad
				if g == nil {
					t.Errorf("no gradient reached %s", name)
					continue
				}
				nntest.AssertClose(t, "grad_"+name, g, layersTensor(t, f, c.name+"/grad_"+name), layersTol)
			}
		})
	}
}

// unary adapts a one-input operation to layersCase.op.
func layersUnary(fn func(x *nn.Var) *nn.Var) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
	return func(_ *testing.T, _ *checkpoint.File, in []*nn.Var) *nn.Var { return fn(in[0]) }
}

func TestPoolGolden(t *testing.T) {
	k := func(h, w int) [2]int { return [2]int{h, w} }
	pool := func(max bool, o nn.PoolOptions) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		if max {
			return layersUnary(func(x *nn.Var) *nn.Var { return nn.MaxPool2d(x, o) })
		}
		return layersUnary(func(x *nn.Var) *nn.Var { return nn.AvgPool2d(x, o) })
	}
	adaptive := func(h, w int) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return layersUnary(func(x *nn.Var) *nn.Var { return nn.AdaptiveAvgPool2d(x, h, w) })
	}
	x := []string{"x"}
	runLayersGolden(t, "pool", []layersCase{
		{"max_k3_s2_p1", x, pool(true, nn.PoolOptions{Kernel: k(3, 3), Stride: k(2, 2), Padding: k(1, 1)})},
		{"max_k2_ceil", x, pool(true, nn.PoolOptions{Kernel: k(2, 2), CeilMode: true})},
		{"max_k3_s2_p1_ceil", x, pool(true, nn.PoolOptions{Kernel: k(3, 3), Stride: k(2, 2), Padding: k(1, 1), CeilMode: true})},
		{"max_k2x3_s1x2", x, pool(true, nn.PoolOptions{Kernel: k(2, 3), Stride: k(1, 2)})},
		{"avg_k3_s2_p1", x, pool(false, nn.PoolOptions{Kernel: k(3, 3), Stride: k(2, 2), Padding: k(1, 1)})},
		{"avg_k3_s2_p1_exclude_pad", x, pool(false, nn.PoolOptions{Kernel: k(3, 3), Stride: k(2, 2), Padding: k(1, 1), ExcludePad: true})},
		{"avg_k3_s2_p1_ceil", x, pool(false, nn.PoolOptions{Kernel: k(3, 3), Stride: k(2, 2), Padding: k(1, 1), CeilMode: true})},
		{"avg_k2_ceil", x, pool(false, nn.PoolOptions{Kernel: k(2, 2), CeilMode: true})},
		{"adaptive_7x9_to_3x4", x, adaptive(3, 4)},
		{"adaptive_7x9_to_1x1", x, adaptive(1, 1)},
		{"adaptive_5x4_to_6x6", x, adaptive(6, 6)},
	})
}

func TestInterpolateGolden(t *testing.T) {
	interp := func(o nn.InterpolateOptions) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return layersUnary(func(x *nn.Var) *nn.Var { return nn.Interpolate(x, o) })
	}
	size := func(h, w int) [2]int { return [2]int{h, w} }
	scale := func(s float64) [2]float64 { return [2]float64{s, s} }
	bi, x := nn.Bilinear, []string{"x"}
	runLayersGolden(t, "interp", []layersCase{
		{"bilinear_size_up", x, interp(nn.InterpolateOptions{Size: size(9, 12), Mode: bi})},
		{"bilinear_size_up_align", x, interp(nn.InterpolateOptions{Size: size(9, 12), Mode: bi, AlignCorners: true})},
		{"bilinear_size_down", x, interp(nn.InterpolateOptions{Size: size(4, 5), Mode: bi})},
		{"bilinear_size_down_align", x, interp(nn.InterpolateOptions{Size: size(4, 5), Mode: bi, AlignCorners: true})},
		{"bilinear_scale_2", x, interp(nn.InterpolateOptions{ScaleFactor: scale(2), Mode: bi})},
		{"bilinear_scale_1.5", x, interp(nn.InterpolateOptions{ScaleFactor: scale(1.5), Mode: bi})},
		{"bilinear_scale_0.3", x, interp(nn.InterpolateOptions{ScaleFactor: scale(0.3), Mode: bi})},
		{"bilinear_scale_1.5_align", x, interp(nn.InterpolateOptions{ScaleFactor: scale(1.5), Mode: bi, AlignCorners: true})},
		{"nearest_size_up", x, interp(nn.InterpolateOptions{Size: size(9, 12)})},
		{"nearest_size_down", x, interp(nn.InterpolateOptions{Size: size(4, 5)})},
		{"nearest_scale_2", x, interp(nn.InterpolateOptions{ScaleFactor: scale(2)})},
		{"nearest_scale_1.5", x, interp(nn.InterpolateOptions{ScaleFactor: scale(1.5)})},
		{"nearest_scale_0.5", x, interp(nn.InterpolateOptions{ScaleFactor: scale(0.5)})},
	})
}

func TestNormGolden(t *testing.T) {
	xwb := []string{"x", "weight", "bias"}
	bn := func(name string, training bool) layersCase {
		return layersCase{name, xwb, func(t *testing.T, f *checkpoint.File, in []*nn.Var) *nn.Var {
			rm := layersTensor(t, f, name+"/running_mean")
			rv := layersTensor(t, f, name+"/running_var")
			y := nn.BatchNorm2dOp(in[0], in[1], in[2], rm, rv, training, 0.1, 1e-5)
			nntest.AssertClose(t, "running_mean", rm, layersTensor(t, f, name+"/running_mean_after"), layersTol)
			nntest.AssertClose(t, "running_var", rv, layersTensor(t, f, name+"/running_var_after"), layersTol)
			return y
		}}
	}
	gn := func(groups int) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return func(_ *testing.T, _ *checkpoint.File, in []*nn.Var) *nn.Var {
			return nn.GroupNormOp(in[0], in[1], in[2], groups, 1e-5)
		}
	}
	ln := func(shape ...int) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return func(_ *testing.T, _ *checkpoint.File, in []*nn.Var) *nn.Var {
			return nn.LayerNormOp(in[0], in[1], in[2], shape, 1e-5)
		}
	}
	runLayersGolden(t, "norm", []layersCase{
		bn("batchnorm_train", true),
		bn("batchnorm_eval", false),
		{"groupnorm_g3", xwb, gn(3)},
		{"groupnorm_g1", xwb, gn(1)},
		{"layernorm_last", xwb, ln(7)},
		{"layernorm_last2", xwb, ln(4, 5)},
		{"batchnorm_train_no_affine", []string{"x"}, func(t *testing.T, f *checkpoint.File, in []*nn.Var) *nn.Var {
			const name = "batchnorm_train_no_affine"
			rm := layersTensor(t, f, name+"/running_mean")
			rv := layersTensor(t, f, name+"/running_var")
			y := nn.BatchNorm2dOp(in[0], nil, nil, rm, rv, true, 0.1, 1e-5)
			nntest.AssertClose(t, "running_mean", rm, layersTensor(t, f, name+"/running_mean_after"), layersTol)
			nntest.AssertClose(t, "running_var", rv, layersTensor(t, f, name+"/running_var_after"), layersTol)
			return y
		}},
		{"groupnorm_g2_no_affine", []string{"x"}, layersUnary(func(x *nn.Var) *nn.Var { return nn.GroupNormOp(x, nil, nil, 2, 1e-5) })},
		{"layernorm_no_affine", []string{"x"}, layersUnary(func(x *nn.Var) *nn.Var { return nn.LayerNormOp(x, nil, nil, []int{6}, 1e-5) })},
	})
}

func TestConvGolden(t *testing.T) {
	conv := func(o nn.ConvOptions) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return func(_ *testing.T, _ *checkpoint.File, in []*nn.Var) *nn.Var {
			var b *nn.Var
			if len(in) > 2 {
				b = in[2]
			}
			return nn.Conv2dOp(in[0], in[1], b, o)
		}
	}
	deconv := func(o nn.ConvOptions) func(*testing.T, *checkpoint.File, []*nn.Var) *nn.Var {
		return func(_ *testing.T, _ *checkpoint.File, in []*nn.Var) *nn.Var {
			return nn.ConvTranspose2dOp(in[0], in[1], in[2], o)
		}
	}
	p := func(h, w int) [2]int { return [2]int{h, w} }
	xwb, xw := []string{"x", "weight", "bias"}, []string{"x", "weight"}
	runLayersGolden(t, "conv", []layersCase{
		{"conv_k3_p1", xwb, conv(nn.ConvOptions{Padding: p(1, 1)})},
		{"conv_k3_s2_p1", xwb, conv(nn.ConvOptions{Stride: p(2, 2), Padding: p(1, 1)})},
		{"conv_k1", xw, conv(nn.ConvOptions{})},
		{"conv_k3_d2_p2", xwb, conv(nn.ConvOptions{Padding: p(2, 2), Dilation: p(2, 2)})},
		{"conv_k3x2_s2x1_p1x0", xwb, conv(nn.ConvOptions{Stride: p(2, 1), Padding: p(1, 0)})},
		{"conv_groups2", xwb, conv(nn.ConvOptions{Padding: p(1, 1), Groups: 2})},
		{"conv_depthwise", xwb, conv(nn.ConvOptions{Padding: p(1, 1), Groups: 4})},
		{"conv_depthwise_k7", xwb, conv(nn.ConvOptions{Padding: p(3, 3), Groups: 3})},
		{"deconv_k2_s2", xwb, deconv(nn.ConvOptions{Stride: p(2, 2)})},
		{"deconv_k3_s2_p1_op1", xwb, deconv(nn.ConvOptions{Stride: p(2, 2), Padding: p(1, 1), OutputPadding: p(1, 1)})},
		{"deconv_k3_s1_p1", xwb, deconv(nn.ConvOptions{Padding: p(1, 1)})},
		{"deconv_k4_s2_p1", xwb, deconv(nn.ConvOptions{Stride: p(2, 2), Padding: p(1, 1)})},
		{"deconv_groups2_s2", xwb, deconv(nn.ConvOptions{Stride: p(2, 2), Groups: 2})},
		{"deconv_d2_p1", xwb, deconv(nn.ConvOptions{Padding: p(1, 1), Dilation: p(2, 2)})},
		{"conv_groups2_s2", xwb, conv(nn.ConvOptions{Stride: p(2, 2), Padding: p(1, 1), Groups: 2})},
		{"conv_depthwise_s2_nobias", xw, conv(nn.ConvOptions{Stride: p(2, 2), Padding: p(1, 1), Groups: 3})},
		{"conv_depthwise_mult2", xwb, conv(nn.ConvOptions{Padding: p(1, 1), Groups: 3})},
		{"conv_depthwise_d2", xwb, conv(nn.ConvOptions{Padding: p(2, 2), Dilation: p(2, 2), Groups: 2})},
	})
}
