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

// opsTol is the tolerance of golden comparisons, relative to the
// output's scale (nntest.AssertClose).
const opsTol = 1e-4

// runOpsGolden checks every case of a golden file made by
// tools/reference/golden_nn_ops.py against the Go operation of the same name,
// and fails for cases without an operation and operations without a case.
func runOpsGolden(t *testing.T, path string, ops map[string]nntest.GoldenOp) {
	g := nntest.LoadGolden(t, path)
	cases := nntest.GoldenCases(g)
	for _, name := range cases {
		op, ok := ops[name]
		if !ok {
			t.Errorf("%s: golden case %q has no operation in the test", path, name)
			continue
		}
		t.Run(name, func(t *testing.T) { nntest.CheckGolden(t, g, name, op, opsTol) })
	}
	for name := range ops {
		if !slices.Contains(cases, name) {
			t.Errorf("%s: no golden case %q", path, name)
		}
	}
}

// unaryOp adapts a one-input, one-output operation to nntest.GoldenOp.
func unaryOp(f func(x *nn.Var) *nn.Var) nntest.GoldenOp {
	return func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var { return []*nn.Var{f(in[0])} }
}

// binaryOp adapts a two-input, one-output operation to nntest.GoldenOp.
func binaryOp(f func(a, b *nn.Var) *nn.Var) nntest.GoldenOp {
	return func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var { return []*nn.Var{f(in[0], in[1])} }
}

func TestShapeGolden(t *testing.T) {
	runOpsGolden(t, "testdata/ops_shape.safetensors", map[string]nntest.GoldenOp{
		"Reshape/[6,4]":           unaryOp(func(x *nn.Var) *nn.Var { return nn.Reshape(x, 6, 4) }),
		"Reshape/[-1,2]":          unaryOp(func(x *nn.Var) *nn.Var { return nn.Reshape(x, -1, 2) }),
		"Flatten/1..-1":           unaryOp(func(x *nn.Var) *nn.Var { return nn.Flatten(x, 1, -1) }),
		"Flatten/1..2":            unaryOp(func(x *nn.Var) *nn.Var { return nn.Flatten(x, 1, 2) }),
		"Permute/0,2,3,1":         unaryOp(func(x *nn.Var) *nn.Var { return nn.Permute(x, 0, 2, 3, 1) }),
		"Permute/2,0,1":           unaryOp(func(x *nn.Var) *nn.Var { return nn.Permute(x, 2, 0, 1) }),
		"Transpose/1,2":           unaryOp(func(x *nn.Var) *nn.Var { return nn.Transpose(x, 1, 2) }),
		"Transpose/-1,0":          unaryOp(func(x *nn.Var) *nn.Var { return nn.Transpose(x, -1, 0) }),
		"Slice/axis=1/1:3":        unaryOp(func(x *nn.Var) *nn.Var { return nn.Slice(x, 1, 1, 3, 1) }),
		"Slice/axis=2/0:4:2":      unaryOp(func(x *nn.Var) *nn.Var { return nn.Slice(x, 2, 0, 4, 2) }),
		"Slice/axis=-1/1::2":      unaryOp(func(x *nn.Var) *nn.Var { return nn.Slice(x, -1, 1, 1<<30, 2) }),
		"Slice/axis=0/-1:":        unaryOp(func(x *nn.Var) *nn.Var { return nn.Slice(x, 0, -1, 1<<30, 1) }),
		"Slice/axis=2/3:100:3":    unaryOp(func(x *nn.Var) *nn.Var { return nn.Slice(x, 2, 3, 100, 3) }),
		"Concat/axis=0":           binaryOp(func(a, b *nn.Var) *nn.Var { return nn.Concat(0, a, b) }),
		"Concat/axis=-1":          binaryOp(func(a, b *nn.Var) *nn.Var { return nn.Concat(-1, a, b) }),
		"Pad/[1,2]":               unaryOp(func(x *nn.Var) *nn.Var { return nn.Pad(x, []int{1, 2}, 0) }),
		"Pad/[1,0,2,1]/value=1.5": unaryOp(func(x *nn.Var) *nn.Var { return nn.Pad(x, []int{1, 0, 2, 1}, 1.5) }),
		"Pad/[0,1,1,1,1,0]":       unaryOp(func(x *nn.Var) *nn.Var { return nn.Pad(x, []int{0, 1, 1, 1, 1, 0}, 0) }),
		"Pad/[-1,2,1,-1]":         unaryOp(func(x *nn.Var) *nn.Var { return nn.Pad(x, []int{-1, 2, 1, -1}, 0) }),
		"Concat/axis=1": func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var {
			return []*nn.Var{nn.Concat(1, in...)}
		},
		"Split/axis=1/[1,2,1]": func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var {
			return nn.Split(in[0], 1, 1, 2, 1)
		},
		"Split/axis=-1/[2,3]": func(_ *nn.Tape, in []*nn.Var, _ []*tensor.Tensor) []*nn.Var {
			return nn.Split(in[0], -1, 2, 3)
		},
	})
}

func TestShapeGrad(t *testing.T) {
	cases := []struct {
		name   string
		shapes [][]int
		f      func(in []*nn.Var) *nn.Var
	}{
		{"Reshape/[3,-1]", [][]int{{2, 3, 2}}, func(in []*nn.Var) *nn.Var { return nn.Reshape(in[0], 3, -1) }},
		{"Flatten/0..1", [][]int{{2, 3, 2}}, func(in []*nn.Var) *nn.Var { return nn.Flatten(in[0], 0, 1) }},
		{"Permute/1,2,0", [][]int{{2, 3, 4}}, func(in []*nn.Var) *nn.Var { return nn.Permute(in[0], 1, 2, 0) }},
		{"Transpose/0,1", [][]int{{3, 2}}, func(in []*nn.Var) *nn.Var { return nn.Transpose(in[0], 0, 1) }},
		{"Slice/axis=1/start=1/step=2", [][]int{{2, 5, 2}}, func(in []*nn.Var) *nn.Var { return nn.Slice(in[0], 1, 1, 5, 2) }},
		{"Slice/axis=-1/start=-2", [][]int{{2, 3}}, func(in []*nn.Var) *nn.Var { return nn.Slice(in[0], -1, -2, 3, 1) }},
		{"Concat/axis=1", [][]int{{2, 1, 2}, {2, 3, 2}}, func(in []*nn.Var) *nn.Var { return nn.Concat(1, in...) }},
		{"Split/axis=0/second", [][]int{{4, 2}}, func(in []*nn.Var) *nn.Var { return nn.Split(in[0], 0, 1, 3)[1] }},
		{"Pad/[1,1,0,2]", [][]int{{2, 2, 3}}, func(in []*nn.Var) *nn.Var { return nn.Pad(in[0], []int{1, 1, 0, 2}, 0.5) }},
		{"Pad/crop=[-1,0]", [][]int{{2, 3}}, func(in []*nn.Var) *nn.Var { return nn.Pad(in[0], []int{-1, 0}, 0) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inputs []*tensor.Tensor
			for i, s := range c.shapes {
				inputs = append(inputs, randT(uint64(10+i), s...))
			}
			nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var { return c.f(in) }, inputs...)
		})
	}
}

func TestShapeForward(t *testing.T) {
	x := tensor.FromData([]float32{0, 1, 2, 3, 4, 5}, 2, 3)
	cases := []struct {
		name  string
		got   *nn.Var
		shape []int
		want  []float32
	}{
		{"Transpose", nn.Transpose(nn.Constant(x), 0, 1), []int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"Slice/step=2", nn.Slice(nn.Constant(x), 1, 0, 3, 2), []int{2, 2}, []float32{0, 2, 3, 5}},
		{"Slice/empty", nn.Slice(nn.Constant(x), 1, 2, 1, 1), []int{2, 0}, []float32{}},
		{"Slice/clamped", nn.Slice(nn.Constant(x), 0, -5, 1, 1), []int{1, 3}, []float32{0, 1, 2}},
		{"Pad/[1,0]/value=9", nn.Pad(nn.Constant(x), []int{1, 0}, 9), []int{2, 4}, []float32{9, 0, 1, 2, 9, 3, 4, 5}},
		{"Pad/[0,0,0,1]", nn.Pad(nn.Constant(x), []int{0, 0, 0, 1}, 0), []int{3, 3}, []float32{0, 1, 2, 3, 4, 5, 0, 0, 0}},
		{"Pad/crop=[0,-2]", nn.Pad(nn.Constant(x), []int{0, -2}, 0), []int{2, 1}, []float32{0, 3}},
		{"Concat/axis=0", nn.Concat(0, nn.Constant(x), nn.Constant(x)), []int{4, 3}, []float32{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}},
		{"Flatten/scalar", nn.Flatten(nn.Constant(tensor.Full(7)), 0, -1), []int{1}, []float32{7}},
	}
	for _, c := range cases {
		if !tensor.SameShape(c.got.Shape(), c.shape) || !slices.Equal(c.got.Data(), c.want) {
			t.Errorf("%s = %v %v, want %v %v", c.name, c.got.Shape(), c.got.Data(), c.shape, c.want)
		}
	}
	if !slices.Equal(x.Data(), []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("input changed to %v", x.Data())
	}
}

func TestReshapeSharesDataNotGrad(t *testing.T) {
	tp := nn.NewTape(nil, nil)
	x := tp.Leaf(randT(1, 2, 3))
	y := nn.Reshape(x, 3, 2)
	if &y.Data()[0] != &x.Data()[0] {
		t.Fatal("Reshape copied the data; it is documented as a view")
	}
	tp.BackwardFrom(y, tensor.Full(2, 3, 2))
	if x.Grad == nil || y.Grad == nil || &x.Grad.Data()[0] == &y.Grad.Data()[0] {
		t.Fatal("Reshape's output must have its own gradient buffer")
	}
	for _, v := range x.Grad.Data() {
		if v != 2 {
			t.Fatalf("gradient of Reshape's input = %v, want all 2", x.Grad.Data())
		}
	}
}

func TestShapePanics(t *testing.T) {
	x := nn.Constant(tensor.New(2, 3))
	cases := []struct {
		name string
		f    func()
		want string // substring of the panic message
	}{
		{"Reshape/count", func() { nn.Reshape(x, 4, 2) }, "nn: shape mismatch: Reshape [2 3] into [4 2]"},
		{"Reshape/two -1", func() { nn.Reshape(x, -1, -1) }, "[2 3] into [-1 -1]"},
		{"Permute/repeat", func() { nn.Permute(x, 0, 0) }, "repeats axis"},
		{"Permute/axis", func() { nn.Permute(x, 0, 2) }, "nn: axis out of range: Permute axis 2 of shape [2 3]"},
		{"Slice/step", func() { nn.Slice(x, 0, 0, 1, 0) }, "step 0"},
		{"Concat/shapes", func() { nn.Concat(0, x, nn.Constant(tensor.New(2, 2))) }, "nn: shape mismatch: Concat on axis 0 of [[2 3] [2 2]]"},
		{"Split/sizes", func() { nn.Split(x, 1, 1, 1) }, "Split sizes [1 1] along axis 1 of shape [2 3]"},
		{"Pad/odd", func() {
			//lint:ignore SA5012 an odd number of amounts is what this case checks
			nn.Pad(x, []int{1}, 0)
		}, "Pad amounts [1] for shape [2 3]"},
		{"Pad/negative size", func() { nn.Pad(x, []int{-2, -2}, 0) }, "negative size"},
		{"Flatten/order", func() { nn.Flatten(x, 1, 0) }, "start 1 after end 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectPanic(t, c.want, c.f) })
	}
}

// expectPanic fails t unless f panics with a message containing want.
func expectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Fatalf("panic %q does not contain %q", msg, want)
		}
	}()
	f()
}
