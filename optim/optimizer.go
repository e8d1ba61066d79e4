package optim

import (
	"fmt"
	"math"
	"sort"

	"github.com/densepred/dp/tensor"
)

// Optimizer updates parameters from their gradients.
//
// Step reads each parameter's Grad (a nil Grad means no gradient reached it,
// and the parameter and its state are left alone, as in PyTorch) and
// updates the value in place. State and LoadState export and restore the
// per-parameter state for checkpoints. An Optimizer is used by one goroutine.
type Optimizer interface {
	Step()
	Groups() []*Group
	// State returns the optimizer's state tensors keyed "<kind>.<param name>"
	// plus "step" counters; the tensors are copies.
	State() map[string]*tensor.Tensor
	// LoadState restores what State returned; a key of the wrong shape is an
	// error naming it.
	LoadState(map[string]*tensor.Tensor) error
}

// ZeroGrad clears the gradients of every parameter in groups.
func ZeroGrad(groups []*Group) {
	for _, g := range groups {
		for _, p := range g.Params {
			p.Var.ZeroGrad()
		}
	}
}

// ClipGradNorm scales all gradients so that their joint L2 norm is at most
// maxNorm, exactly as torch.nn.utils.clip_grad_norm_ (coefficient
// maxNorm/(norm+1e-6), applied only when below 1). It returns the norm
// before clipping.
func ClipGradNorm(groups []*Group, maxNorm float64) float64 {
	total := 0.0
	for _, g := range groups {
		for _, p := range g.Params {
			if p.Var.Grad == nil {
				continue
			}
			s := 0.0
			for _, v := range p.Var.Grad.Data() {
				s += float64(v) * float64(v)
			}
			total += s
		}
	}
	norm := math.Sqrt(total)
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		c := float32(coef)
		for _, g := range groups {
			for _, p := range g.Params {
				if p.Var.Grad == nil {
					continue
				}
				d := p.Var.Grad.Data()
				for i := range d {
					d[i] *= c
				}
			}
		}
	}
	return norm
}

// slots holds named per-parameter state tensors of an optimizer.
type slots struct {
	kinds []string                             // state kinds, e.g. "exp_avg", "exp_avg_sq"
	m     map[string]map[string]*tensor.Tensor // kind -> param name -> tensor
	steps map[string]int                       // param name -> update count
}

func newSlots(kinds ...string) slots {
	s := slots{kinds: kinds, m: map[string]map[string]*tensor.Tensor{}, steps: map[string]int{}}
	for _, k := range kinds {
		s.m[k] = map[string]*tensor.Tensor{}
	}
	return s
}

// get returns the state tensor of kind for p, creating zeros on first use.
func (s slots) get(kind string, p Param) *tensor.Tensor {
	t := s.m[kind][p.Name]
	if t == nil {
		t = tensor.New(p.Var.Shape()...)
		s.m[kind][p.Name] = t
	}
	return t
}

func (s slots) state() map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, k := range s.kinds {
		for name, t := range s.m[k] {
			out[k+"."+name] = t.Clone()
		}
	}
	for name, n := range s.steps {
		out["step."+name] = tensor.FromData([]float32{float32(n)}, 1)
	}
	return out
}

func (s slots) load(groups []*Group, st map[string]*tensor.Tensor) error {
	shapes := map[string][]int{}
	for _, g := range groups {
		for _, p := range g.Params {
			shapes[p.Name] = p.Var.Shape()
		}
	}
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		t := st[key]
		kind, name, ok := cut(key)
		want, known := shapes[name]
		if !ok || !known {
			return fmt.Errorf("optim: state key %q names no trainable parameter", key)
		}
		if kind == "step" {
			s.steps[name] = int(t.Data()[0])
			continue
		}
		if _, ok := s.m[kind]; !ok {
			return fmt.Errorf("optim: state key %q: unknown state %q (want one of %v)", key, kind, s.kinds)
		}
		if !tensor.SameShape(want, t.Shape()) {
			return fmt.Errorf("optim: state key %q: shape %v, parameter has %v", key, t.Shape(), want)
		}
		s.m[kind][name] = t.Clone()
	}
	return nil
}

func cut(key string) (kind, name string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			return key[:i], key[i+1:], true
		}
	}
	return "", "", false
}

// updateGrain is the least number of weights an optimizer's update hands to
// one thread: a detector's large layers are updated on all threads, its
// small ones on the calling goroutine. Each weight's update is the same
// whatever chunk it falls in.
const updateGrain = 1 << 15
