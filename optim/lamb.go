package optim

import (
	"math"

	"github.com/densepred/dp/tensor"
)

// LAMBOptions are the hyper-parameters of LAMB as timm's Lamb implements it
// (https://arxiv.org/abs/1904.00962), with bias correction on.
type LAMBOptions struct {
	Betas       [2]float64 `yaml:"betas"`         // default (0.9, 0.999)
	Eps         float64    `yaml:"eps"`           // default 1e-6
	MaxGradNorm float64    `yaml:"max_grad_norm"` // global gradient norm clip; default 1.0, 0 disables
	AlwaysAdapt bool       `yaml:"always_adapt"`  // apply the trust ratio also where weight decay is 0
}

// DefaultLAMBOptions returns timm's defaults.
func DefaultLAMBOptions() LAMBOptions {
	return LAMBOptions{Betas: [2]float64{0.9, 0.999}, Eps: 1e-6, MaxGradNorm: 1}
}

// LAMB is layer-wise adaptive Adam:
//
//	g = g / max(1, ‖G‖/MaxGradNorm)   (‖G‖ over all parameters)
//	m, v as Adam; u = m̂ / (sqrt(v̂) + eps) + wd·p
//	r = ‖p‖/‖u‖ if both > 0 (and wd ≠ 0 or AlwaysAdapt) else 1
//	p -= lr·r·u
type LAMB struct {
	opts    LAMBOptions
	groups  []*Group
	s       slots
	scratch []float32 // the update of one parameter, reused across steps
}

// NewLAMB returns a LAMB optimizer over groups.
func NewLAMB(groups []*Group, opts LAMBOptions) *LAMB {
	return &LAMB{opts: opts, groups: groups, s: newSlots("exp_avg", "exp_avg_sq")}
}

// Groups implements Optimizer.
func (o *LAMB) Groups() []*Group { return o.groups }

// Step implements Optimizer.
func (o *LAMB) Step() {
	clip := float32(1)
	if o.opts.MaxGradNorm > 0 {
		total := 0.0
		for _, g := range o.groups {
			for _, p := range g.Params {
				if p.Var.Grad != nil {
					for _, v := range p.Var.Grad.Data() {
						total += float64(v) * float64(v)
					}
				}
			}
		}
		if n := math.Sqrt(total); n > o.opts.MaxGradNorm {
			clip = float32(n / o.opts.MaxGradNorm)
		}
	}
	b1, b2 := o.opts.Betas[0], o.opts.Betas[1]
	fb1, fb2, eps := float32(b1), float32(b2), float32(o.opts.Eps)
	for _, g := range o.groups {
		wd := float32(g.WeightDecay)
		for _, p := range g.Params {
			if p.Var.Grad == nil {
				continue
			}
			o.s.steps[p.Name]++
			t := float64(o.s.steps[p.Name])
			bc1 := float32(1 - math.Pow(b1, t))
			bc2 := float32(1 - math.Pow(b2, t))
			w, gr := p.Var.Data(), p.Var.Grad.Data()
			m := o.s.get("exp_avg", p).Data()
			v := o.s.get("exp_avg_sq", p).Data()
			if cap(o.scratch) < len(w) {
				o.scratch = make([]float32, len(w))
			}
			upd := o.scratch[:len(w)]
			var wn, un float64
			for i := range w {
				gi := gr[i] / clip
				m[i] = fb1*m[i] + (1-fb1)*gi
				v[i] = fb2*v[i] + (1-fb2)*gi*gi
				u := (m[i] / bc1) / (float32(math.Sqrt(float64(v[i]/bc2))) + eps)
				if wd != 0 {
					u += wd * w[i]
				}
				upd[i] = u
				wn += float64(w[i]) * float64(w[i])
				un += float64(u) * float64(u)
			}
			ratio := float32(1)
			if wd != 0 || o.opts.AlwaysAdapt {
				if wn > 0 && un > 0 {
					ratio = float32(math.Sqrt(wn) / math.Sqrt(un))
				}
			}
			step := float32(g.LR) * ratio
			for i := range w {
				w[i] -= step * upd[i]
			}
		}
	}
}

// State implements Optimizer.
func (o *LAMB) State() map[string]*tensor.Tensor { return o.s.state() }

// LoadState implements Optimizer.
func (o *LAMB) LoadState(st map[string]*tensor.Tensor) error { return o.s.load(o.groups, st) }
