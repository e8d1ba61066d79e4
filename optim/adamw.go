package optim

import (
	"math"

	"github.com/densepred/dp/tensor"
)

// AdamWOptions are torch.optim.AdamW's hyper-parameters.
type AdamWOptions struct {
	Betas [2]float64 `yaml:"betas"` // default (0.9, 0.999)
	Eps   float64    `yaml:"eps"`   // default 1e-8
}

// DefaultAdamWOptions returns PyTorch's defaults.
func DefaultAdamWOptions() AdamWOptions {
	return AdamWOptions{Betas: [2]float64{0.9, 0.999}, Eps: 1e-8}
}

// AdamW is Adam with decoupled weight decay, as torch.optim.AdamW (1.13):
//
//	p *= 1 - lr·wd
//	m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//	p -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + eps)
type AdamW struct {
	opts   AdamWOptions
	groups []*Group
	s      slots
}

// NewAdamW returns an AdamW optimizer over groups.
func NewAdamW(groups []*Group, opts AdamWOptions) *AdamW {
	return &AdamW{opts: opts, groups: groups, s: newSlots("exp_avg", "exp_avg_sq")}
}

// Groups implements Optimizer.
func (o *AdamW) Groups() []*Group { return o.groups }

// Step implements Optimizer.
func (o *AdamW) Step() {
	b1, b2 := o.opts.Betas[0], o.opts.Betas[1]
	for _, g := range o.groups {
		for _, p := range g.Params {
			if p.Var.Grad == nil {
				continue
			}
			o.s.steps[p.Name]++
			t := float64(o.s.steps[p.Name])
			bc1 := 1 - math.Pow(b1, t)
			bc2 := 1 - math.Pow(b2, t)
			stepSize := float32(g.LR / bc1)
			bc2Sqrt := float32(math.Sqrt(bc2))
			decay := float32(1 - g.LR*g.WeightDecay)
			eps := float32(o.opts.Eps)
			fb1, fb2 := float32(b1), float32(b2)
			w, gr := p.Var.Data(), p.Var.Grad.Data()
			m := o.s.get("exp_avg", p).Data()
			v := o.s.get("exp_avg_sq", p).Data()
			tensor.Parallel(len(w), updateGrain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					w[i] *= decay
					m[i] = fb1*m[i] + (1-fb1)*gr[i]
					v[i] = fb2*v[i] + (1-fb2)*gr[i]*gr[i]
					denom := float32(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
					w[i] -= stepSize * m[i] / denom
				}
			})
		}
	}
}

// State implements Optimizer.
func (o *AdamW) State() map[string]*tensor.Tensor { return o.s.state() }

// LoadState implements Optimizer.
func (o *AdamW) LoadState(st map[string]*tensor.Tensor) error { return o.s.load(o.groups, st) }
