package optim

import "github.com/densepred/dp/tensor"

// SGDOptions are torch.optim.SGD's hyper-parameters (the lr and weight decay
// live in the groups).
type SGDOptions struct {
	Momentum  float64 `yaml:"momentum"`  // default 0
	Dampening float64 `yaml:"dampening"` // default 0
	Nesterov  bool    `yaml:"nesterov"`  // needs Momentum > 0 and Dampening 0
}

// SGD is stochastic gradient descent with momentum, as torch.optim.SGD:
//
//	d = g + wd·p
//	buf = d (first step) or momentum·buf + (1-dampening)·d
//	d = d + momentum·buf (nesterov) or buf
//	p -= lr·d
type SGD struct {
	opts   SGDOptions
	groups []*Group
	s      slots
}

// NewSGD returns an SGD optimizer over groups.
func NewSGD(groups []*Group, opts SGDOptions) *SGD {
	return &SGD{opts: opts, groups: groups, s: newSlots("momentum_buffer")}
}

// Groups implements Optimizer.
func (o *SGD) Groups() []*Group { return o.groups }

// Step implements Optimizer.
func (o *SGD) Step() {
	mom, damp := float32(o.opts.Momentum), float32(o.opts.Dampening)
	for _, g := range o.groups {
		lr, wd := float32(g.LR), float32(g.WeightDecay)
		for _, p := range g.Params {
			if p.Var.Grad == nil {
				continue
			}
			w, gr := p.Var.Data(), p.Var.Grad.Data()
			var buf []float32
			first := o.s.steps[p.Name] == 0
			if mom != 0 {
				buf = o.s.get("momentum_buffer", p).Data()
			}
			o.s.steps[p.Name]++
			tensor.Parallel(len(w), updateGrain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					d := gr[i]
					if wd != 0 {
						d += wd * w[i]
					}
					if mom != 0 {
						if first {
							buf[i] = d
						} else {
							buf[i] = mom*buf[i] + (1-damp)*d
						}
						if o.opts.Nesterov {
							d += mom * buf[i]
						} else {
							d = buf[i]
						}
					}
					w[i] -= lr * d
				}
			})
		}
	}
}

// State implements Optimizer.
func (o *SGD) State() map[string]*tensor.Tensor { return o.s.state() }

// LoadState implements Optimizer.
func (o *SGD) LoadState(st map[string]*tensor.Tensor) error { return o.s.load(o.groups, st) }
