package nntest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// LoadGolden reads a safetensors golden file written by a script in
// tools/reference and returns its tensors by name (integer tensors converted
// to float32). It fails t at once if the file cannot be read: goldens are
// committed, so a missing one is an error, not a reason to skip.
func LoadGolden(t testing.TB, path string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		t.Fatalf("golden: %v (regenerate with the script in tools/reference)", err)
	}
	return f.Tensors
}

// Golden returns the tensor named name from a map loaded by LoadGolden,
// failing t at once if it is absent.
func Golden(t testing.TB, g map[string]*tensor.Tensor, name string) *tensor.Tensor {
	t.Helper()
	x, ok := g[name]
	if !ok {
		t.Fatalf("golden: no tensor %q", name)
	}
	return x
}

// GoldenCases returns the names of the operation cases in a golden map laid
// out as CheckGolden expects (every case has an input "<case>/x0"), sorted.
func GoldenCases(g map[string]*tensor.Tensor) []string {
	var names []string
	for k := range g {
		if name, ok := strings.CutSuffix(k, "/x0"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// GoldenOp builds the operation of a golden case on tp from leaves holding
// its inputs x0, x1, ... and its constants c0, c1, ... (labels and the like,
// needing no gradient), and returns its outputs.
type GoldenOp func(tp *nn.Tape, in []*nn.Var, consts []*tensor.Tensor) []*nn.Var

// CheckGolden runs op on golden case name of g and compares, with
// AssertClose at tol, its outputs with y (or y0, y1, ...) and the gradients
// of its inputs, for the upstream gradients gy (gy0, ...), with gx0, gx1, ...
//
// The layout is the one tools/reference/golden_nn_ops.py writes.
func CheckGolden(t testing.TB, g map[string]*tensor.Tensor, name string, op GoldenOp, tol float64) {
	t.Helper()
	var inputs, consts []*tensor.Tensor
	for i := 0; ; i++ {
		x, ok := g[fmt.Sprintf("%s/x%d", name, i)]
		if !ok {
			break
		}
		inputs = append(inputs, x)
	}
	for i := 0; ; i++ {
		c, ok := g[fmt.Sprintf("%s/c%d", name, i)]
		if !ok {
			break
		}
		consts = append(consts, c)
	}
	if len(inputs) == 0 {
		t.Fatalf("golden: case %q has no inputs", name)
	}
	tp := nn.NewTape(nil, nil)
	defer tp.Release()
	leaves := make([]*nn.Var, len(inputs))
	for i, x := range inputs {
		leaves[i] = tp.Leaf(x.Clone())
	}
	outs := op(tp, leaves, consts)
	var loss *nn.Var
	if len(outs) == 1 {
		AssertClose(t, name+": output", outs[0].Value, scalarAs(outs[0], Golden(t, g, name+"/y")), tol)
		if gy, ok := g[name+"/gy"]; ok {
			tp.BackwardFrom(outs[0], scalarAs(outs[0], gy))
		}
	} else {
		for j, y := range outs {
			AssertClose(t, fmt.Sprintf("%s: output %d", name, j), y.Value, scalarAs(y, Golden(t, g, fmt.Sprintf("%s/y%d", name, j))), tol)
			gy := scalarAs(y, Golden(t, g, fmt.Sprintf("%s/gy%d", name, j)))
			term := nn.SumAll(nn.Mul(y, tp.Input(gy)))
			if loss == nil {
				loss = term
			} else {
				loss = nn.Add(loss, term)
			}
		}
		tp.Backward(loss)
	}
	for i, x := range leaves {
		want := Golden(t, g, fmt.Sprintf("%s/gx%d", name, i))
		got := x.Grad
		if got == nil {
			got = tensor.New(x.Shape()...)
		}
		AssertClose(t, fmt.Sprintf("%s: gradient of input %d", name, i), got, want, tol)
	}
}

// scalarAs returns want viewed as a scalar when v is one and want holds a
// single element: numpy, and so the golden writer, stores 0-d arrays with
// shape [1].
func scalarAs(v *nn.Var, want *tensor.Tensor) *tensor.Tensor {
	if v.Value.NDim() == 0 && want.Len() == 1 {
		return want.Reshape()
	}
	return want
}
