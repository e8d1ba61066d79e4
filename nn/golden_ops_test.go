package nn_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// shapeName formats a shape as tools/reference/golden_nn_ops.py names it:
// [2,3,4].
func shapeName(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestArithGolden compares Add, Sub, Mul and Div under broadcasting with
// PyTorch, outputs and the gradients summed back to each input's shape, and
// Scale, AddScalar and AddN.
func TestArithGolden(t *testing.T) {
	pairs := [][2][]int{
		{{2, 3, 2}, {2, 3, 2}},       // same shape
		{{2, 3, 2}, {1}},             // scalar-like
		{{1}, {2, 3, 2}},             // the same, swapped
		{{2, 2, 2, 3}, {3}},          // trailing: [C] onto [N, H, W, C]
		{{3}, {2, 2, 2, 3}},          // the same, swapped
		{{2, 3, 2, 2}, {1, 3, 1, 1}}, // middle: per channel of NCHW
		{{1, 3, 1, 1}, {2, 3, 2, 2}}, // the same, swapped
		{{2, 1, 3}, {1, 2, 1}},       // both sides: [N, 1, W] with [1, H, 1]
		{{3, 1}, {2, 3, 2}},          // rank difference and a 1 on the left
	}
	ops := map[string]nntest.GoldenOp{}
	for name, f := range map[string]func(a, b *nn.Var) *nn.Var{"Add": nn.Add, "Sub": nn.Sub, "Mul": nn.Mul, "Div": nn.Div} {
		for _, p := range pairs {
			ops[name+"/"+shapeName(p[0])+"_"+shapeName(p[1])] = binaryOp(f)
		}
	}
	ops["Scale/s=-1.5"] = unaryOp(func(x *nn.Var) *nn.Var { return nn.Scale(x, -1.5) })
	ops["AddScalar/s=0.75"] = unaryOp(func(x *nn.Var) *nn.Var { return nn.AddScalar(x, 0.75) })
	ops["AddN/3"] = func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var { return []*nn.Var{nn.AddN(in...)} }
	runOpsGolden(t, "testdata/ops_arith.safetensors", ops)
}

// TestMatMulGolden compares MatMul with torch.matmul and LinearOp with
// torch.nn.functional.linear. A b of rank 2 against a batched a is the only
// batch broadcasting MatMul supports; PyTorch sums its gradient over the batch.
func TestMatMulGolden(t *testing.T) {
	ops := map[string]nntest.GoldenOp{}
	for _, p := range [][2][]int{
		{{3, 4}, {4, 5}},
		{{3, 1}, {1, 4}},
		{{2, 3, 4}, {2, 4, 5}},
		{{2, 2, 3, 4}, {2, 2, 4, 3}},
		{{2, 3, 4}, {4, 5}},
		{{2, 2, 3, 4}, {4, 2}},
	} {
		ops["MatMul/"+shapeName(p[0])+"_"+shapeName(p[1])] = binaryOp(nn.MatMul)
	}
	for _, c := range []struct {
		x   []int
		out int
	}{{[]int{4}, 5}, {[]int{3, 4}, 5}, {[]int{2, 3, 4}, 5}, {[]int{2, 1, 3, 6}, 2}} {
		suffix := shapeName(c.x) + "_" + fmt.Sprint(c.out)
		ops["Linear/bias/"+suffix] = func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var {
			return []*nn.Var{nn.LinearOp(in[0], in[1], in[2])}
		}
		ops["Linear/no_bias/"+suffix] = binaryOp(func(x, w *nn.Var) *nn.Var { return nn.LinearOp(x, w, nil) })
	}
	runOpsGolden(t, "testdata/ops_matmul.safetensors", ops)
}

// TestDropoutGolden compares Dropout and DropPath with PyTorch's
// F.dropout and a per-sample drop path (timm's drop_path,
// torchvision's stochastic_depth in "row" mode).
//
// dp draws its masks from its own generator, so for 0 < p < 1 the masks
// differ from PyTorch's: the test compares the elements (DropPath: the
// samples) that both keep, where output and gradient must equal PyTorch's
// x/(1-p) and gy/(1-p), and checks that those dp drops are zero in output
// and gradient. Eval mode, p = 0 and p = 1 are compared in full. The golden
// inputs have no zeros, so a zero output means a dropped element.
func TestDropoutGolden(t *testing.T) {
	const path = "testdata/ops_dropout.safetensors"
	g := nntest.LoadGolden(t, path)
	cases := []struct {
		name      string
		perSample bool
		p         float64
		training  bool
	}{
		{"Dropout/p=0.5", false, 0.5, true},
		{"Dropout/p=0.2", false, 0.2, true},
		{"Dropout/p=0.0", false, 0, true},
		{"Dropout/p=1.0", false, 1, true},
		{"Dropout/eval", false, 0.5, false},
		{"DropPath/p=0.5", true, 0.5, true},
		{"DropPath/p=0.25", true, 0.25, true},
		{"DropPath/p=0.0", true, 0, true},
		{"DropPath/p=1.0", true, 1, true},
		{"DropPath/eval", true, 0.5, false},
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
		t.Run(c.name, func(t *testing.T) {
			x := nntest.Golden(t, g, c.name+"/x0")
			want := nntest.Golden(t, g, c.name+"/y")
			gy := nntest.Golden(t, g, c.name+"/gy")
			wantGrad := nntest.Golden(t, g, c.name+"/gx0")
			tp := nn.NewTape(nil, tensor.NewRNG(5))
			defer tp.Release()
			leaf := tp.Leaf(x.Clone())
			var y *nn.Var
			if c.perSample {
				y = nn.DropPath(leaf, c.p, c.training)
			} else {
				y = nn.Dropout(leaf, c.p, c.training)
			}
			tp.BackwardFrom(y, gy)
			grad := leaf.Grad
			if grad == nil {
				t.Fatal("no gradient reached the input")
			}
			if !c.training || c.p == 0 || c.p == 1 {
				nntest.AssertClose(t, "output", y.Value, want, opsTol)
				nntest.AssertClose(t, "gradient", grad, wantGrad, opsTol)
				return
			}
			group := 1
			if c.perSample {
				group = x.Len() / x.Shape()[0]
			}
			// Copies of dp's and PyTorch's results holding only what is
			// comparable: the groups both keep, and zeros elsewhere.
			gotY, wantY := y.Value.Clone(), want.Clone()
			gotG, wantG := grad.Clone(), wantGrad.Clone()
			both, dropped := 0, 0
			for lo := 0; lo < x.Len(); lo += group {
				keptDP, keptTorch := y.Data()[lo] != 0, want.Data()[lo] != 0
				for i := lo; i < lo+group; i++ {
					if (y.Data()[i] != 0) != keptDP {
						t.Fatalf("element %d: group of %d elements at %d partly dropped", i, group, lo)
					}
				}
				switch {
				case keptDP && keptTorch:
					both++
				case !keptDP:
					dropped++
					// dp dropped the group: its output and gradient must
					// be zero, which the zeroed PyTorch copies check.
					clear(wantY.Data()[lo : lo+group])
					clear(wantG.Data()[lo : lo+group])
				default: // PyTorch dropped what dp kept: nothing to compare.
					clear(gotY.Data()[lo : lo+group])
					clear(gotG.Data()[lo : lo+group])
					clear(wantY.Data()[lo : lo+group])
					clear(wantG.Data()[lo : lo+group])
				}
			}
			if both == 0 || dropped == 0 {
				t.Fatalf("%d groups kept by both, %d dropped by dp: the case compares nothing (change the seed)", both, dropped)
			}
			nntest.AssertClose(t, "output", gotY, wantY, opsTol)
			nntest.AssertClose(t, "gradient", gotG, wantG, opsTol)
		})
	}
	for _, name := range nntest.GoldenCases(g) {
		if !slices.Contains(names, name) {
			t.Errorf("%s: golden case %q has no operation in the test", path, name)
		}
	}
}
