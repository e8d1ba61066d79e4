package tensor

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.01337 {
		got := float64(Expf(x))
		want := math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
		if rel > 3e-7 {
			t.Fatalf("Expf(%g) = %g, want %g (rel %.2g)", x, got, want, rel)
		}
	}
	t.Logf("worst relative error %.3g", worst)
	for _, c := range []struct{ x, want float32 }{{0, 1}, {100, float32(math.Inf(1))}, {-100, 0}} {
		if got := Expf(c.x); got != c.want {
			t.Errorf("Expf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := Expf(float32(math.NaN())); got == got {
		t.Errorf("Expf(NaN) = %g", got)
	}
}

func TestGELU(t *testing.T) {
	t.Run("dispatch", testGELU)
	if useGELUAVX2 {
		useGELUAVX2 = false
		defer func() { useGELUAVX2 = true }()
		t.Run("generic", testGELU)
	}
}

func testGELU(t *testing.T) {
	var xs []float32
	for x := float32(-9); x < 9; x += 0.0173 {
		xs = append(xs, x)
	}
	xs = append(xs, -100, 100, 0) // saturation, and a length that leaves a tail
	y := make([]float32, len(xs))
	GELU(xs, y)
	dy := make([]float32, len(xs))
	for i := range dy {
		dy[i] = 1
	}
	dx := make([]float32, len(xs))
	GELUBackward(xs, dy, dx)
	for i, x := range xs {
		v := float64(x)
		want := 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		if d := math.Abs(float64(y[i]) - want); d > 3e-7*max(1, math.Abs(v)) {
			t.Errorf("GELU(%g) = %g, want %g", x, y[i], want)
		}
		wantD := 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
		if d := math.Abs(float64(dx[i]) - wantD); d > 1e-6*max(1, math.Abs(v)) {
			t.Errorf("GELU'(%g) = %g, want %g", x, dx[i], wantD)
		}
	}
}

func BenchmarkGELU(b *testing.B) {
	x := make([]float32, 1<<20)
	for i := range x {
		x[i] = float32(i%2000)/250 - 4
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		GELU(x, y)
	}
}

// TestGELUSplit checks that every element gets the same value whether it
// falls in an 8-wide block or a tail.
func TestGELUSplit(t *testing.T) {
	x := make([]float32, 37)
	for i := range x {
		x[i] = float32(i)/5 - 3.3
	}
	all := make([]float32, len(x))
	GELU(x, all)
	for i := range x {
		one := []float32{0}
		GELU(x[i:i+1], one)
		if one[0] != all[i] {
			t.Errorf("element %d: alone %v, in a block %v", i, one[0], all[i])
		}
	}
}
