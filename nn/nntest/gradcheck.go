// Package nntest checks dp operations and modules: finite-difference gradient
// checks and comparisons against PyTorch golden files.
package nntest

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// GradCheck compares the gradients Backward computes for f with central
// finite differences.
//
// f builds the operation under test on the given tape from leaves holding
// the inputs. The scalar checked is L = Σ f(x)·P with a fixed random probe P,
// evaluated and differenced in float64 (the forward itself runs in float32,
// so Eps and the tolerances are sized for float32 rounding). Inputs listed in
// NoGrad are held constant (e.g. integer-valued targets). Params, if any, are
// checked too: f must use them through the closure.
type GradCheck struct {
	Eps    float64 // finite-difference step; default 1e-2
	RelTol float64 // tolerance relative to max(1, |numeric|); default 1e-2
	AbsTol float64 // absolute tolerance; default 1e-3
	NoGrad []int   // indices of inputs that get no gradient
	Params []*nn.Var
	Seed   uint64
}

// Run performs the check and reports mismatches through t, stopping after ten.
func (c GradCheck) Run(t testing.TB, f func(tp *nn.Tape, in []*nn.Var) *nn.Var, inputs ...*tensor.Tensor) {
	t.Helper()
	if c.Eps == 0 {
		c.Eps = 1e-2
	}
	if c.RelTol == 0 {
		c.RelTol = 1e-2
	}
	if c.AbsTol == 0 {
		c.AbsTol = 1e-3
	}
	noGrad := map[int]bool{}
	for _, i := range c.NoGrad {
		noGrad[i] = true
	}
	// Analytic gradients.
	tp := nn.NewTape(nil, tensor.NewRNG(c.Seed))
	leaves := make([]*nn.Var, len(inputs))
	for i, x := range inputs {
		if noGrad[i] {
			leaves[i] = tp.Input(x)
		} else {
			leaves[i] = tp.Leaf(x)
		}
	}
	for _, p := range c.Params {
		p.ZeroGrad()
	}
	out := f(tp, leaves)
	probe := tensor.New(out.Shape()...)
	tensor.NewRNG(c.Seed+1).FillUniform(probe, -1, 1)
	tp.BackwardFrom(out, probe)
	type target struct {
		name string
		x    *tensor.Tensor
		grad *tensor.Tensor
	}
	var targets []target
	for i, x := range inputs {
		if noGrad[i] {
			continue
		}
		g := leaves[i].Grad
		if g == nil {
			g = tensor.New(x.Shape()...)
		}
		targets = append(targets, target{fmt.Sprintf("input %d", i), x, g.Clone()})
	}
	for i, p := range c.Params {
		g := p.Grad
		if g == nil {
			g = tensor.New(p.Shape()...)
		}
		targets = append(targets, target{fmt.Sprintf("param %d", i), p.Value, g.Clone()})
	}
	tp.Release()

	loss := func() float64 {
		tp := nn.NewTape(nil, tensor.NewRNG(c.Seed))
		leaves := make([]*nn.Var, len(inputs))
		for i, x := range inputs {
			leaves[i] = tp.Input(x)
		}
		out := f(tp, leaves)
		s := 0.0
		for i, v := range out.Data() {
			s += float64(v) * float64(probe.Data()[i])
		}
		return s
	}
	bad := 0
	for _, tg := range targets {
		d := tg.x.Data()
		for i := range d {
			orig := d[i]
			d[i] = orig + float32(c.Eps)
			lp := loss()
			d[i] = orig - float32(c.Eps)
			lm := loss()
			d[i] = orig
			// Use the steps actually taken in float32.
			h := float64(orig+float32(c.Eps)) - float64(orig-float32(c.Eps))
			num := (lp - lm) / h
			got := float64(tg.grad.Data()[i])
			if diff := math.Abs(num - got); diff > c.AbsTol+c.RelTol*math.Max(1, math.Abs(num)) || math.IsNaN(got) {
				t.Errorf("%s element %d (of shape %v): analytic %.6g, numeric %.6g", tg.name, i, tg.x.Shape(), got, num)
				if bad++; bad >= 10 {
					t.Errorf("stopping after 10 mismatches; more may follow")
					return
				}
			}
		}
	}
}
