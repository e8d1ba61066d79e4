package nn

import (
	"github.com/densepred/dp/tensor"
)

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var { return binary("Add", a, b, opAdd) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Var) *Var { return binary("Sub", a, b, opSub) }

// Mul returns a * b elementwise with broadcasting.
func Mul(a, b *Var) *Var { return binary("Mul", a, b, opMul) }

// Div returns a / b elementwise with broadcasting.
func Div(a, b *Var) *Var { return binary("Div", a, b, opDiv) }

type binop int

const (
	opAdd binop = iota
	opSub
	opMul
	opDiv
)

func binary(name string, a, b *Var, op binop) *Var {
	as, bs := a.Shape(), b.Shape()
	shape := BroadcastShape(as, bs)
	out := Output(shape, a, b)
	ad, bd, od := a.Data(), b.Data(), out.Data()
	loop := broadcastLoop
	if tensor.SameShape(as, bs) {
		loop = sameShapeLoop
	}
	loop(shape, as, bs, func(o, ia, ib, n, sa, sb int) {
		y := od[o : o+n]
		switch {
		case sa == 1 && sb == 1:
			x, z := ad[ia:ia+n], bd[ib:ib+n]
			switch op {
			case opAdd:
				for i := range y {
					y[i] = x[i] + z[i]
				}
			case opSub:
				for i := range y {
					y[i] = x[i] - z[i]
				}
			case opMul:
				for i := range y {
					y[i] = x[i] * z[i]
				}
			case opDiv:
				for i := range y {
					y[i] = x[i] / z[i]
				}
			}
		default:
			for i := range y {
				x, z := ad[ia+i*sa], bd[ib+i*sb]
				switch op {
				case opAdd:
					y[i] = x + z
				case opSub:
					y[i] = x - z
				case opMul:
					y[i] = x * z
				case opDiv:
					y[i] = x / z
				}
			}
		}
	})
	Record(name, out, func() {
		g := out.Grad
		// A sum's gradient passes through: an input of the output's shape
		// without a gradient yet takes a copy of g (initGrad).
		addA := op == opAdd && tensor.SameShape(as, shape) && initGrad(a, g)
		addB := op == opAdd && tensor.SameShape(bs, shape) && initGrad(b, g)
		if ga := GradOf(a); ga != nil && !addA {
			switch op {
			case opAdd, opSub:
				reduceTo(ga, g, shape, bs, nil)
			case opMul:
				reduceTo(ga, g, shape, bs, func(_, _, ib int) float32 { return bd[ib] })
			case opDiv:
				reduceTo(ga, g, shape, bs, func(_, _, ib int) float32 { return 1 / bd[ib] })
			}
		}
		if gb := GradOf(b); gb != nil && !addB {
			switch op {
			case opAdd:
				reduceTo(gb, g, shape, as, nil)
			case opSub:
				reduceTo(gb, g, shape, as, func(int, int, int) float32 { return -1 })
			case opMul:
				reduceTo(gb, g, shape, as, func(_, _, ia int) float32 { return ad[ia] })
			case opDiv:
				// d(a/b)/db = -a/b² = -y/b
				reduceTo(gb, g, shape, as, func(o, ib, _ int) float32 { return -od[o] / bd[ib] })
			}
		}
	})
	return out
}

// Scale returns s * x.
func Scale(x *Var, s float32) *Var {
	out := Output(x.Shape(), x)
	xd, od := x.Data(), out.Data()
	for i, v := range xd {
		od[i] = s * v
	}
	Record("Scale", out, func() {
		if g := GradOf(x); g != nil {
			gd := g.Data()
			for i, v := range out.Grad.Data() {
				gd[i] += s * v
			}
		}
	})
	return out
}

// AddScalar returns x + s.
func AddScalar(x *Var, s float32) *Var {
	out := Output(x.Shape(), x)
	xd, od := x.Data(), out.Data()
	for i, v := range xd {
		od[i] = v + s
	}
	Record("AddScalar", out, func() {
		if g := GradOf(x); g != nil {
			gd := g.Data()
			for i, v := range out.Grad.Data() {
				gd[i] += v
			}
		}
	})
	return out
}

// AddN returns the sum of xs, which must all have the same shape.
func AddN(xs ...*Var) *Var {
	for _, x := range xs[1:] {
		tensor.MustSameShape("AddN", xs[0].Shape(), x.Shape())
	}
	out := Output(xs[0].Shape(), xs...)
	od := out.Data()
	copy(od, xs[0].Data())
	for _, x := range xs[1:] {
		for i, v := range x.Data() {
			od[i] += v
		}
	}
	Record("AddN", out, func() {
		for _, x := range xs {
			if g := GradOf(x); g != nil {
				gd := g.Data()
				for i, v := range out.Grad.Data() {
					gd[i] += v
				}
			}
		}
	})
	return out
}
