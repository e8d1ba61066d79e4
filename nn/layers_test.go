package nn_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// checkUniformInit checks that t looks drawn from U(-bound, bound): every
// value inside, the mean near 0 and, for 32 values or more (where falling
// short has probability below 0.85³² ≈ 0.6%), the extremes beyond 0.7·bound.
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
	if x.Len() >= 32 && (lo > -0.7*bound || hi < 0.7*bound) {
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

func TestConv2dLayer(t *testing.T) {
	rng := tensor.NewRNG(2)
	c := nn.NewConv2d(3, 8, [2]int{3, 3}, rng, nn.Conv2dOptions{Padding: [2]int{1, 1}})
	checkStateDict(t, "conv2d", c, false)
	bound := 1 / math.Sqrt(3*3*3) // fan_in = in/groups·kh·kw
	checkUniformInit(t, "conv2d.weight", c.Weight.Value, bound)
	checkUniformInit(t, "conv2d.bias", c.Bias.Value, bound)

	g := nn.NewConv2d(8, 4, [2]int{3, 5}, rng, nn.Conv2dOptions{Groups: 2, NoBias: true})
	checkStateDict(t, "conv2d_nobias_groups", g, false)
	checkUniformInit(t, "conv2d_nobias_groups.weight", g.Weight.Value, 1/math.Sqrt(4*3*5))

	x := nn.Constant(randT(5, 2, 3, 6, 7))
	y := c.Forward(x)
	if !tensor.SameShape(y.Shape(), []int{2, 8, 6, 7}) {
		t.Errorf("Conv2d(3, 8, 3, padding=1) output %v, want [2 8 6 7]", y.Shape())
	}
	nntest.AssertClose(t, "Conv2d forward", y.Value, nn.Conv2dOp(x, c.Weight, c.Bias, nn.ConvOptions{Padding: [2]int{1, 1}}).Value, 0)
}

func TestConvTranspose2dLayer(t *testing.T) {
	c := nn.NewConvTranspose2d(4, 6, [2]int{2, 2}, tensor.NewRNG(3), nn.Conv2dOptions{Stride: [2]int{2, 2}})
	checkStateDict(t, "convtranspose2d", c, false)
	bound := 1 / math.Sqrt(6*2*2) // PyTorch's fan_in of a [in, out, kh, kw] weight
	checkUniformInit(t, "convtranspose2d.weight", c.Weight.Value, bound)
	checkUniformInit(t, "convtranspose2d.bias", c.Bias.Value, bound)
	y := c.Forward(nn.Constant(randT(6, 1, 4, 5, 3)))
	if !tensor.SameShape(y.Shape(), []int{1, 6, 10, 6}) {
		t.Errorf("ConvTranspose2d(4, 6, 2, stride=2) output %v, want [1 6 10 6]", y.Shape())
	}
}

// TestLayersTrainingStepReusesBuffers runs a small network of the layer
// operations through repeated training steps and checks that, once warm, a
// step allocates only bookkeeping (tape nodes, closures, Var headers, kernel
// index tables), not activation or gradient buffers: a small fraction of
// what the first step allocates.
func TestLayersTrainingStepReusesBuffers(t *testing.T) {
	rng := tensor.NewRNG(7)
	conv := nn.NewConv2d(3, 8, [2]int{3, 3}, rng, nn.Conv2dOptions{Padding: [2]int{1, 1}})
	bn := nn.NewBatchNorm2d(8, nn.BatchNorm2dOptions{})
	gn := nn.NewGroupNorm(2, 8, nn.GroupNormOptions{})
	up := nn.NewConvTranspose2d(8, 4, [2]int{2, 2}, rng, nn.Conv2dOptions{Stride: [2]int{2, 2}})
	ln := nn.NewLayerNorm([]int{16}, nn.LayerNormOptions{})
	nn.SetTraining(bn, true)
	x := randT(8, 2, 3, 16, 16)
	pool := tensor.NewPool()
	step := func() {
		tp := nn.NewTape(pool, nil)
		h := bn.Forward(conv.Forward(tp.Input(x)))
		h = nn.MaxPool2d(h, nn.PoolOptions{Kernel: [2]int{2, 2}})
		h = gn.Forward(nn.AvgPool2d(h, nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}))
		h = nn.Interpolate(up.Forward(h), nn.InterpolateOptions{Size: [2]int{16, 16}, Mode: nn.Bilinear})
		h = ln.Forward(nn.AdaptiveAvgPool2d(h, 16, 16))
		tp.BackwardFrom(h, tensor.Full(1, h.Shape()...))
		tp.Release()
	}
	bytesOf := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		step()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	cold := bytesOf() // fills the pool with every activation and gradient buffer
	// The least of a few warm steps: a worker goroutine that did no work in
	// the steps before may still need its first scratch buffer from the
	// kernels' sync.Pools, whereas buffers not being reused shows in every
	// step.
	warm := bytesOf()
	for range 3 {
		warm = min(warm, bytesOf())
	}
	allocs := testing.AllocsPerRun(5, step)
	t.Logf("cold step %d bytes; warm step %d bytes in %v allocations", cold, warm, allocs)
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	if warm > cold/3 { // slack for the conv kernels' sync.Pool scratch, which a GC may drop
		t.Errorf("a warm step allocates %d bytes, a cold one %d: buffers are not reused", warm, cold)
	}
}
