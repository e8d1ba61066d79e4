package nn_test

import (
	"math"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// checkUniformInit checks that t looks drawn from U(-bound, bound): every
// value inside, the extremes near the bounds and the mean near 0.
func checkUniformInit(t *testing.T, name string, x *tensor.Tensor, bound float64) {
	t.Helper()
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range x.Data() {
		f := float64(v)
		lo, hi, sum = min(lo, f), max(hi, f), sum+f
	}
	n := float64(x.Len())
	if lo < -bound || hi > bound {
		t.Errorf("%s: values in [%.4g, %.4g], outside ±%.4g", name, lo, hi, bound)
	}
	if lo > -0.7*bound || hi < 0.7*bound {
		t.Errorf("%s: values in [%.4g, %.4g], not spread over ±%.4g", name, lo, hi, bound)
	}
	// The mean of n uniform draws has std bound/√(3n); allow 4 of them.
	if m := sum / n; math.Abs(m) > 4*bound/math.Sqrt(3*n) {
		t.Errorf("%s: mean %.4g, want about 0 (bound %.4g, %d values)", name, m, bound, x.Len())
	}
}

func TestLinear(t *testing.T) {
	l := nn.NewLinear(5, 7, tensor.NewRNG(1), nn.LinearOptions{})
	checkStateDict(t, "linear", l, false)
	checkUniformInit(t, "linear.weight", l.Weight.Value, 1/math.Sqrt(5))
	checkUniformInit(t, "linear.bias", l.Bias.Value, 1/math.Sqrt(5))
	if nb := nn.NewLinear(5, 7, tensor.NewRNG(1), nn.LinearOptions{NoBias: true}); nb.Bias != nil || len(nn.StateKeys(nb)) != 1 {
		t.Errorf("NoBias: keys %v, want [weight]", nn.StateKeys(nb))
	}
	// The module computes what LinearOp computes with its parameters.
	x := nn.Constant(randT(3, 2, 5))
	nntest.AssertClose(t, "forward", l.Forward(x).Value, nn.LinearOp(x, l.Weight, l.Bias).Value, 0)
}
