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
func GELU(x *Var) *Var {
	return unary("GELU", x,
		func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) },
		func(v, _ float64) float64 {
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
			return cdf + v*pdf
		})
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

func softmax(op string, x *Var, axis int, logOut bool) *Var {
	shape := x.Shape()
	ax := normAxis(op, axis, shape)
	n := shape[ax]
	inner := tensor.Numel(shape[ax+1:])
	lines := tensor.Numel(shape[:ax]) * inner
	out := Output(shape, x)
	xd, od := x.Data(), out.Data()
	// Line l covers elements base(l) + k·inner for k < n.
	base := func(l int) int { return (l/inner)*n*inner + l%inner }
	grain := max(1, elemGrain/max(n, 1))
	tensor.Parallel(lines, grain, func(lo, hi int) {
		for l := lo; l < hi; l++ {
			b := base(l)
			m := math.Inf(-1)
			for k := 0; k < n; k++ {
				m = max(m, float64(xd[b+k*inner]))
			}
			s := 0.0
			for k := 0; k < n; k++ {
				s += math.Exp(float64(xd[b+k*inner]) - m)
			}
			if logOut {
				lse := m + math.Log(s)
				for k := 0; k < n; k++ {
					od[b+k*inner] = float32(float64(xd[b+k*inner]) - lse)
				}
			} else {
				for k := 0; k < n; k++ {
					od[b+k*inner] = float32(math.Exp(float64(xd[b+k*inner])-m) / s)
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
		tensor.Parallel(lines, grain, func(lo, hi int) {
			for l := lo; l < hi; l++ {
				b := base(l)
				s := 0.0
				if logOut {
					for k := 0; k < n; k++ {
						s += float64(god[b+k*inner])
					}
					for k := 0; k < n; k++ {
						i := b + k*inner
						gd[i] += float32(float64(god[i]) - math.Exp(float64(od[i]))*s)
					}
					continue
				}
				for k := 0; k < n; k++ {
					i := b + k*inner
					s += float64(god[i]) * float64(od[i])
				}
				for k := 0; k < n; k++ {
					i := b + k*inner
					gd[i] += float32(float64(od[i]) * (float64(god[i]) - s))
				}
			}
		})
	})
	return out
}
