package nn_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// checkStateDict compares m's state-dict keys (in order), shapes and, when
// values is set, values with those of the PyTorch module stored under name
// in layers_modules.safetensors.
func checkStateDict(t *testing.T, name string, m nn.Module, values bool) {
	t.Helper()
	f := readLayersGolden(t, "modules")
	order, ok := f.Metadata[name]
	if !ok {
		t.Fatalf("golden has no module %q", name)
	}
	want := strings.Split(order, ",")
	got := nn.StateKeys(m)
	if strings.Join(got, ",") != order {
		t.Errorf("%s: state-dict keys %v, PyTorch's %v", name, got, want)
	}
	sd := nn.StateDict(m)
	for _, k := range want {
		// The metadata holds the true shape; safetensors stores a 0-d tensor as [1].
		shape := []int{}
		if s := f.Metadata[name+"/"+k]; s != "" {
			for _, d := range strings.Split(s, ",") {
				n, err := strconv.Atoi(d)
				if err != nil {
					t.Fatalf("golden shape of %s/%s: %v", name, k, err)
				}
				shape = append(shape, n)
			}
		}
		v, ok := sd[k]
		switch {
		case !ok:
			t.Errorf("%s: missing key %s", name, k)
		case !tensor.SameShape(v.Shape(), shape):
			t.Errorf("%s: %s has shape %v, PyTorch's %v", name, k, v.Shape(), shape)
		case values:
			ref := layersTensor(t, f, name+"/"+k).Reshape(shape...)
			nntest.AssertClose(t, name+"."+k, v, ref, 0)
		}
	}
}

func TestNormLayersStateDict(t *testing.T) {
	checkStateDict(t, "batchnorm2d", nn.NewBatchNorm2d(6, nn.BatchNorm2dOptions{}), true)
	checkStateDict(t, "groupnorm", nn.NewGroupNorm(2, 6, nn.GroupNormOptions{}), true)
	checkStateDict(t, "layernorm", nn.NewLayerNorm([]int{4, 5}, nn.LayerNormOptions{}), true)
}

func TestBatchNorm2dModes(t *testing.T) {
	x := randT(31, 4, 3, 2, 2)
	for i := range x.Data() {
		x.Data()[i] = 3*x.Data()[i] + 2
	}
	evalOut := func(bn *nn.BatchNorm2d) *tensor.Tensor {
		nn.SetTraining(bn, false)
		return bn.Forward(nn.Constant(x)).Value
	}

	t.Run("train", func(t *testing.T) {
		bn := nn.NewBatchNorm2d(3, nn.BatchNorm2dOptions{})
		nn.SetTraining(bn, true)
		y := bn.Forward(nn.Constant(x))
		// Batch statistics: every channel of y has mean 0.
		for c := 0; c < 3; c++ {
			var s float64
			for n := 0; n < 4; n++ {
				for k := 0; k < 4; k++ {
					s += float64(y.Data()[(n*3+c)*4+k])
				}
			}
			if s > 1e-4 || s < -1e-4 {
				t.Errorf("channel %d of the output sums to %g, want 0", c, s)
			}
		}
		if got := bn.NumBatchesTracked.Data()[0]; got != 1 {
			t.Errorf("num_batches_tracked = %v after one training step, want 1", got)
		}
		if bn.RunningMean.Data()[0] == 0 || bn.RunningVar.Data()[0] == 1 {
			t.Errorf("running statistics not updated: mean %v var %v", bn.RunningMean.Data(), bn.RunningVar.Data())
		}
	})
	t.Run("eval", func(t *testing.T) {
		bn := nn.NewBatchNorm2d(3, nn.BatchNorm2dOptions{})
		y := evalOut(bn)
		// Running mean 0, var 1: y = x / sqrt(1 + eps).
		want := x.Clone()
		for i := range want.Data() {
			want.Data()[i] /= float32(1.000005)
		}
		nntest.AssertClose(t, "eval output", y, want, 1e-6)
		if bn.NumBatchesTracked.Data()[0] != 0 || bn.RunningMean.Data()[0] != 0 {
			t.Errorf("evaluation changed the running statistics")
		}
	})
	t.Run("norm_eval", func(t *testing.T) {
		bn := nn.NewBatchNorm2d(3, nn.BatchNorm2dOptions{NormEval: true})
		bn.RunningMean.Data()[1] = 0.5
		want := evalOut(bn)
		nn.SetTraining(bn, true)
		y := bn.Forward(nn.Constant(x))
		nntest.AssertClose(t, "norm_eval output in training mode", y.Value, want, 0)
		if bn.NumBatchesTracked.Data()[0] != 0 || bn.RunningMean.Data()[1] != 0.5 {
			t.Errorf("norm_eval changed the running statistics")
		}
	})
}
