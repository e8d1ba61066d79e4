package nn

import (
	"math"

	"github.com/densepred/dp/tensor"
)

// elemGrain is the least number of elements an elementwise kernel hands to
// one goroutine: below it, spawning costs more than it saves.
const elemGrain = 1 << 15

// ReLU returns max(x, 0) elementwise. Its gradient is 0 where x <= 0, as
// PyTorch's.
func ReLU(x *Var) *Var {
	return unary("ReLU", x,
		func(v float64) float64 { return max(v, 0) },
		func(_, y float64) float64 {
			if y > 0 {
				return 1
			}
			return 0
		})
}

// GELU returns the Gaussian error linear unit in its exact form, PyTorch's
// default (approximate="none"); see https://arxiv.org/abs/1606.08415.
//
//	GELU(x) = x·Φ(x) = x/2 · (1 + erf(x/√2))
//	GELU'(x) = Φ(x) + x·φ(x)
//
// erf is evaluated in float32 with the rational approximation PyTorch's
// vectorised CPU kernel uses (tensor.GELU), within 1.5e-7 of the exact value.
func GELU(x *Var) *Var {
	out := Output(x.Shape(), x)
	tensor.GELU(x.Data(), out.Data())
	Record("GELU", out, func() {
		if g := GradOf(x); g != nil {
			tensor.GELUBackward(x.Data(), out.Grad.Data(), g.Data())
		}
	})
	return out
}

// SiLU returns x·σ(x) elementwise (also called swish).
func SiLU(x *Var) *Var {
	return unary("SiLU", x,
		func(v float64) float64 { return v * sigmoid(v) },
		func(v, _ float64) float64 {
			s := sigmoid(v)
			return s * (1 + v*(1-s))
		})
}

// Sigmoid returns σ(x) = 1/(1+e^-x) elementwise, computed without overflow
// for large |x|.
func Sigmoid(x *Var) *Var {
	return unary("Sigmoid", x, sigmoid, func(_, y float64) float64 { return y * (1 - y) })
}

// Tanh returns tanh(x) elementwise.
func Tanh(x *Var) *Var {
	return unary("Tanh", x, math.Tanh, func(_, y float64) float64 { return 1 - y*y })
}

// sigmoid is σ(v), evaluated through e^-|v| so neither branch overflows.
func sigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

// unary applies f elementwise (in float64) and records the gradient
// df(x, y)·g, where y = f(x) rounded to float32.
func unary(op string, x *Var, f func(float64) float64, df func(x, y float64) float64) *Var {
	out := Output(x.Shape(), x)
	xd, od := x.Data(), out.Data()
	tensor.Parallel(len(xd), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			od[i] = float32(f(float64(xd[i])))
		}
	})
	Record(op, out, func() {
		if g := GradOf(x); g != nil {
			gd, god := g.Data(), out.Grad.Data()
			tensor.Parallel(len(xd), elemGrain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gd[i] += god[i] * float32(df(float64(xd[i]), float64(od[i])))
				}
			})
		}
	})
	return out
}

// Softmax returns exp(x)/Σ exp(x) along axis, subtracting each line's
// maximum first so large inputs do not overflow.
//
//	y_i = exp(x_i - m) / Σ_j exp(x_j - m),  m = max_j x_j
//	dx_i = y_i · (dy_i - Σ_j dy_j·y_j)
func Softmax(x *Var, axis int) *Var { return softmax("Softmax", x, axis, false) }

// LogSoftmax returns log(Softmax(x)) along axis, computed directly as
// x - m - log Σ exp(x - m) so it stays finite where Softmax underflows.
//
//	dx_i = dy_i - softmax(x)_i · Σ_j dy_j
func LogSoftmax(x *Var, axis int) *Var { return softmax("LogSoftmax", x, axis, true) }

// softmaxChunk is the number of positions along the inner axes handled
// together when the softmax axis is not the last: each pass then reads a
// contiguous run of one row instead of striding across rows.
const softmaxChunk = 256

func softmax(op string, x *Var, axis int, logOut bool) *Var {
	shape := x.Shape()
	ax := normAxis(op, axis, shape)
	n := shape[ax]
	inner := tensor.Numel(shape[ax+1:])
	outer := tensor.Numel(shape[:ax])
	out := Output(shape, x)
	xd, od := x.Data(), out.Data()
	// Unit u covers the lines at inner offsets j0 ≤ j < j1 of outer index
	// u/chunks; element k of line j is at base + k·inner + j.
	chunks := (inner + softmaxChunk - 1) / softmaxChunk
	unit := func(u int) (base, j0, j1 int) {
		j0 = (u % chunks) * softmaxChunk
		return (u / chunks) * n * inner, j0, min(inner, j0+softmaxChunk)
	}
	row := func(d []float32, base, k, j0, j1 int) []float32 {
		return d[base+k*inner+j0 : base+k*inner+j1]
	}
	grain := max(1, elemGrain/max(1, n*min(inner, softmaxChunk)))
	tensor.Parallel(outer*chunks, grain, func(lo, hi int) {
		var mx, se [softmaxChunk]float64
		for u := lo; u < hi; u++ {
			base, j0, j1 := unit(u)
			for j := range j1 - j0 {
				mx[j], se[j] = math.Inf(-1), 0
			}
			for k := 0; k < n; k++ {
				for j, v := range row(xd, base, k, j0, j1) {
					mx[j] = max(mx[j], float64(v))
				}
			}
			for k := 0; k < n; k++ {
				o := row(od, base, k, j0, j1)
				for j, v := range row(xd, base, k, j0, j1) {
					e := math.Exp(float64(v) - mx[j])
					se[j] += e
					o[j] = float32(e)
				}
			}
			if logOut {
				for j := range j1 - j0 {
					mx[j] += math.Log(se[j]) // now log Σ exp(x)
				}
				for k := 0; k < n; k++ {
					o := row(od, base, k, j0, j1)
					for j, v := range row(xd, base, k, j0, j1) {
						o[j] = float32(float64(v) - mx[j])
					}
				}
				continue
			}
			for j := range j1 - j0 {
				se[j] = 1 / se[j]
			}
			for k := 0; k < n; k++ {
				o := row(od, base, k, j0, j1)
				for j, e := range o {
					o[j] = float32(float64(e) * se[j])
				}
			}
		}
	})
	Record(op, out, func() {
		g := GradOf(x)
		if g == nil {
			return
		}
		gd, god := g.Data(), out.Grad.Data()
		tensor.Parallel(outer*chunks, grain, func(lo, hi int) {
			var dot [softmaxChunk]float64
			for u := lo; u < hi; u++ {
				base, j0, j1 := unit(u)
				for j := range j1 - j0 {
					dot[j] = 0
				}
				// Softmax: Σ_k dy_k·y_k; LogSoftmax: Σ_k dy_k.
				for k := 0; k < n; k++ {
					y := row(od, base, k, j0, j1)
					for j, v := range row(god, base, k, j0, j1) {
						if logOut {
							dot[j] += float64(v)
						} else {
							dot[j] += float64(v) * float64(y[j])
						}
					}
				}
				for k := 0; k < n; k++ {
					y, gx := row(od, base, k, j0, j1), row(gd, base, k, j0, j1)
					for j, v := range row(god, base, k, j0, j1) {
						if logOut {
							gx[j] += float32(float64(v) - math.Exp(float64(y[j]))*dot[j])
						} else {
							gx[j] += float32(float64(y[j]) * (float64(v) - dot[j]))
						}
					}
				}
			}
		})
	})
	return out
}
