package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// initStats returns the extremes, mean and standard deviation of t.
func initStats(t *tensor.Tensor) (lo, hi, mean, std float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	var s, s2 float64
	for _, v := range t.Data() {
		f := float64(v)
		lo, hi = min(lo, f), max(hi, f)
		s += f
		s2 += f * f
	}
	n := float64(t.Len())
	mean = s / n
	return lo, hi, mean, math.Sqrt(s2/n - mean*mean)
}

// checkUniform fails unless t looks drawn from U(-bound, bound).
func checkUniform(t *testing.T, name string, x *tensor.Tensor, bound float64) {
	t.Helper()
	lo, hi, mean, std := initStats(x)
	n := float64(x.Len())
	if lo < -bound || hi > bound || lo > -0.9*bound || hi < 0.9*bound {
		t.Errorf("%s: range [%.5g, %.5g], want to fill ±%.5g", name, lo, hi, bound)
	}
	if want := bound / math.Sqrt(3); math.Abs(std-want) > 0.05*want || math.Abs(mean) > 5*want/math.Sqrt(n) {
		t.Errorf("%s: mean %.4g std %.4g, want 0 and %.4g", name, mean, std, want)
	}
}

// checkNormal fails unless t looks drawn from N(0, std²).
func checkNormal(t *testing.T, name string, x *tensor.Tensor, want float64) {
	t.Helper()
	_, _, mean, std := initStats(x)
	if n := float64(x.Len()); math.Abs(std-want) > 0.05*want || math.Abs(mean) > 5*want/math.Sqrt(n) {
		t.Errorf("%s: mean %.4g std %.4g, want 0 and %.4g", name, mean, std, want)
	}
}

// TestInitGolden checks fans, gains and the bounds and standard deviations
// they imply against torch.nn.init, then that samples follow them.
func TestInitGolden(t *testing.T) {
	g := nntest.LoadGolden(t, "testdata/ops_init.safetensors")
	scalar := func(name string) float64 { return float64(nntest.Golden(t, g, name).Data()[0]) }
	closeTo := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %.8g, PyTorch %.8g", what, got, want)
		}
	}
	for _, layer := range []string{"linear", "conv", "conv_t", "conv1d"} {
		t.Run(layer, func(t *testing.T) {
			var shape []int
			for _, v := range nntest.Golden(t, g, "fans/"+layer+"/shape").Data() {
				shape = append(shape, int(v))
			}
			io := nntest.Golden(t, g, "fans/"+layer+"/in_out").Data()
			in, out := nn.Fans(shape)
			if in != int(io[0]) || out != int(io[1]) {
				t.Errorf("Fans(%v) = %d, %d; PyTorch %v", shape, in, out, io)
			}
			rng := tensor.NewRNG(7)
			// Shapes are small, so sample a big tensor with the same fans.
			big := func() *tensor.Tensor { return tensor.New(append([]int{shape[0], shape[1]}, 4000)...) }
			scaleFans := func(s []int) float64 { return math.Sqrt(float64(tensor.Numel(s[2:])) / 4000) }

			closeTo("default weight bound", nn.Gain("leaky_relu", math.Sqrt(5))*math.Sqrt(3/float64(in)), scalar("default/"+layer+"/weight_bound"))
			w, b := big(), tensor.New(8000)
			nn.InitTorchDefault(w, b, rng)
			checkUniform(t, "InitTorchDefault weight", w, scalar("default/"+layer+"/weight_bound")*scaleFans(shape))
			bf, _ := nn.Fans(w.Shape())
			checkUniform(t, "InitTorchDefault bias", b, 1/math.Sqrt(float64(bf)))
			closeTo("default bias bound", 1/math.Sqrt(float64(in)), scalar("default/"+layer+"/bias_bound"))

			nn.KaimingNormal(w, rng, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"})
			checkNormal(t, "KaimingNormal fan_out relu", w, scalar("kaiming_normal/fan_out/relu/"+layer+"/std")*scaleFans(shape))

			nn.XavierUniform(w, rng, 2)
			xin, xout := nn.Fans(w.Shape())
			checkUniform(t, "XavierUniform gain 2", w, 2*math.Sqrt(6/float64(xin+xout)))
			closeTo("xavier bound", 2*math.Sqrt(6/float64(in+out)), scalar("xavier_uniform/gain=2/"+layer+"/bound"))
		})
	}
	for _, c := range []struct {
		nl string
		a  float64
	}{{"linear", 0}, {"sigmoid", 0}, {"tanh", 0}, {"relu", 0}, {"leaky_relu", 0}, {"leaky_relu", 0.2}, {"selu", 0}, {"conv2d", 0}} {
		closeTo(fmt.Sprintf("Gain(%q, %v)", c.nl, c.a), nn.Gain(c.nl, c.a), scalar(fmt.Sprintf("gain/%s/a=%v", c.nl, c.a)))
	}
}

func TestInitDistributions(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := tensor.New(64, 50, 3, 3) // fan_in 450, fan_out 576
	t.Run("KaimingUniform/default", func(t *testing.T) {
		nn.KaimingUniform(x, rng, nn.KaimingOptions{})
		checkUniform(t, "KaimingUniform", x, math.Sqrt(2)*math.Sqrt(3.0/450))
	})
	t.Run("KaimingUniform/fan_out/relu", func(t *testing.T) {
		nn.KaimingUniform(x, rng, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"})
		checkUniform(t, "KaimingUniform", x, math.Sqrt(2)*math.Sqrt(3.0/576))
	})
	t.Run("KaimingNormal/a=0.1", func(t *testing.T) {
		nn.KaimingNormal(x, rng, nn.KaimingOptions{A: 0.1})
		checkNormal(t, "KaimingNormal", x, math.Sqrt(2/1.01)/math.Sqrt(450))
	})
	t.Run("XavierNormal", func(t *testing.T) {
		nn.XavierNormal(x, rng, 1)
		checkNormal(t, "XavierNormal", x, math.Sqrt(2.0/(450+576)))
	})
	t.Run("TruncNormal/std=0.02", func(t *testing.T) {
		nn.TruncNormal(x, rng, 0, 0.02, -2, 2) // bounds 100 std away: a plain normal
		checkNormal(t, "TruncNormal", x, 0.02)
	})
	t.Run("TruncNormal/bounds=±1std", func(t *testing.T) {
		nn.TruncNormal(x, rng, 1, 2, -1, 3)
		lo, hi, mean, std := initStats(x)
		// N(0,1) truncated to [-1, 1]: mean 0, std 0.53956; shifted by 1, scaled by 2.
		if lo < -1 || hi > 3 || lo > -0.99 || hi < 2.99 || math.Abs(mean-1) > 0.01 || math.Abs(std-2*0.53956) > 0.01 {
			t.Errorf("range [%.4g, %.4g], mean %.4g std %.4g; want [-1, 3], 1, %.4g", lo, hi, mean, std, 2*0.53956)
		}
	})
	t.Run("Fill", func(t *testing.T) {
		nn.Fill(x, 0.25)
		if lo, hi, _, _ := initStats(x); lo != 0.25 || hi != 0.25 {
			t.Errorf("Fill: range [%v, %v]", lo, hi)
		}
	})
	t.Run("seeded", func(t *testing.T) {
		a, b := tensor.New(5, 5), tensor.New(5, 5)
		nn.KaimingUniform(a, tensor.NewRNG(9), nn.KaimingOptions{})
		nn.KaimingUniform(b, tensor.NewRNG(9), nn.KaimingOptions{})
		if tensor.MaxAbsDiff(a, b) != 0 {
			t.Error("the same seed gave different values")
		}
	})
}

func TestInitPanics(t *testing.T) {
	expectPanic(t, "nn: shape mismatch: fan in and fan out need at least 2 dimensions, got shape [5]", func() { nn.Fans([]int{5}) })
	expectPanic(t, `unknown nonlinearity "gelu"`, func() { nn.Gain("gelu", 0) })
	expectPanic(t, "TruncNormal mean 0 std 1 bounds [2, -2]", func() { nn.TruncNormal(tensor.New(2), tensor.NewRNG(1), 0, 1, 2, -2) })
}
