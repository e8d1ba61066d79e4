package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// Tape records the operations of one forward pass so that Backward can run
// them in reverse. See the package documentation for the contract.
type Tape struct {
	recording bool
	rng       *tensor.RNG
	pool      *tensor.Pool
	nodes     []node
	owned     []*tensor.Tensor // pooled buffers (values and gradients) released by Release
}

// node is one recorded operation. backward reads out.Grad (never nil when
// called) and accumulates into the inputs' gradients.
type node struct {
	op       string
	out      *Var
	backward func()
}

// NewTape returns a recording tape drawing buffers from pool (which may be
// shared between steps and is created if nil) and randomness (dropout,
// drop-path) from rng (which may be nil when no random op runs).
func NewTape(pool *tensor.Pool, rng *tensor.RNG) *Tape {
	if pool == nil {
		pool = tensor.NewPool()
	}
	return &Tape{recording: true, rng: rng, pool: pool}
}

// NewInferenceTape returns a tape that records nothing: operations on its
// values only compute. It still lends buffers from pool.
func NewInferenceTape(pool *tensor.Pool) *Tape {
	t := NewTape(pool, nil)
	t.recording = false
	return t
}

// Recording reports whether t records operations for Backward.
func (t *Tape) Recording() bool { return t != nil && t.recording }

// RNG returns the tape's random source; it panics if none was given, which
// means a random operation ran on a tape built without one.
func (t *Tape) RNG() *tensor.RNG {
	if t == nil || t.rng == nil {
		panic(errArg + ": random operation on a tape without an RNG")
	}
	return t.rng
}

// Pool returns the tape's buffer pool (nil for a nil tape).
func (t *Tape) Pool() *tensor.Pool {
	if t == nil {
		return nil
	}
	return t.pool
}

// Input wraps t as a value on the tape that needs no gradient.
func (t *Tape) Input(x *tensor.Tensor) *Var { return &Var{Value: x, tape: t} }

// Leaf wraps x as a value on the tape whose gradient Backward computes,
// e.g. to differentiate with respect to an input image.
func (t *Tape) Leaf(x *tensor.Tensor) *Var {
	return &Var{Value: x, tape: t, requiresGrad: t.Recording()}
}

// NewTensor returns a zeroed tensor from the tape's pool, owned by the tape
// and given back by Release. A nil tape allocates.
func (t *Tape) NewTensor(shape ...int) *tensor.Tensor {
	if t == nil {
		return tensor.New(shape...)
	}
	x := t.pool.New(shape...)
	t.owned = append(t.owned, x)
	return x
}

// NewTensorDirty is NewTensor without zeroing, for kernels that overwrite
// every element.
func (t *Tape) NewTensorDirty(shape ...int) *tensor.Tensor {
	if t == nil {
		return tensor.New(shape...)
	}
	x := t.pool.NewDirty(shape...)
	t.owned = append(t.owned, x)
	return x
}

// tapeOf returns the first tape among the inputs, or nil.
func tapeOf(in ...*Var) *Tape {
	for _, v := range in {
		if v != nil && v.tape != nil {
			return v.tape
		}
	}
	return nil
}

// Output creates the result Var of an operation over the given inputs with a
// freshly allocated value of the given shape (not zeroed: the operation must
// write every element). Custom operations outside this package use Output and
// Record as the built-in ones do.
func Output(shape []int, in ...*Var) *Var {
	tp := tapeOf(in...)
	out := &Var{Value: tp.NewTensorDirty(shape...), tape: tp}
	if tp.Recording() {
		for _, v := range in {
			if v != nil && v.requiresGrad {
				out.requiresGrad = true
				break
			}
		}
	}
	return out
}

// Record appends out's backward function to its tape when out requires a
// gradient; otherwise it does nothing. backward runs during Backward only if a
// gradient reached out, and must accumulate into its inputs with GradOf.
func Record(op string, out *Var, backward func()) {
	if !out.requiresGrad || out.tape == nil {
		return
	}
	out.tape.nodes = append(out.tape.nodes, node{op: op, out: out, backward: backward})
}

// GradOf returns v's gradient buffer for an operation to accumulate into,
// allocating a zeroed one (from v's tape's pool for intermediate values) on
// first use. It returns nil when v needs no gradient, so callers write
//
//	if g := nn.GradOf(x); g != nil { ... g.Data()[i] += ... }
func GradOf(v *Var) *tensor.Tensor {
	if v == nil || !v.requiresGrad {
		return nil
	}
	if v.Grad == nil {
		if v.param || v.tape == nil {
			v.Grad = tensor.New(v.Value.Shape()...)
		} else {
			v.Grad = v.tape.NewTensor(v.Value.Shape()...)
		}
	}
	return v.Grad
}

// initGrad sets v's gradient to a copy of g (of v's shape) and returns true
// when v takes a gradient and has none yet: the copy costs one pass, where
// zeroing a new gradient and adding g to it costs two.
func initGrad(v *Var, g *tensor.Tensor) bool {
	if v == nil || !v.requiresGrad || v.Grad != nil || v.param || v.tape == nil {
		return false
	}
	v.Grad = v.tape.NewTensorDirty(v.Value.Shape()...)
	d, s := v.Grad.Data(), g.Data()
	tensor.Parallel(len(d), elemGrain, func(lo, hi int) { copy(d[lo:hi], s[lo:hi]) })
	return true
}

// AccumulateGrad adds g into v's gradient, checking the shape first; op and
// index name the operation and input in the panic message.
func AccumulateGrad(op string, index int, v *Var, g *tensor.Tensor) {
	dst := GradOf(v)
	if dst == nil {
		return
	}
	if !tensor.SameShape(dst.Shape(), g.Shape()) {
		panic(fmt.Sprintf("%s: %s input %d: gradient %v for value %v", errGradShape, op, index, g.Shape(), dst.Shape()))
	}
	d, s := dst.Data(), g.Data()
	for i := range d {
		d[i] += s[i]
	}
}

// Backward computes the gradients of the scalar loss with respect to every
// value on the tape that requires one, accumulating into their Grad.
// It panics if loss is not a single element or was not recorded.
func (t *Tape) Backward(loss *Var) {
	if loss.Value.Len() != 1 {
		panic(fmt.Sprintf("%s: shape %v", errNotScalar, loss.Shape()))
	}
	seed := t.NewTensorDirty(loss.Shape()...)
	seed.Data()[0] = 1
	t.BackwardFrom(loss, seed)
}

// BackwardFrom is Backward for a value of any shape, seeded with the given
// output gradient (same shape as out).
func (t *Tape) BackwardFrom(out *Var, grad *tensor.Tensor) {
	if out.tape != t || !t.Recording() {
		panic(errNoTape)
	}
	AccumulateGrad("BackwardFrom", 0, out, grad)
	for i := len(t.nodes) - 1; i >= 0; i-- {
		n := t.nodes[i]
		if n.out.Grad == nil {
			continue
		}
		n.backward()
	}
}

// Release gives every buffer the tape lent back to its pool and forgets the
// recorded operations, so the tape can record the next step. Values and
// gradients of intermediate Vars must not be used afterwards; parameters and
// their gradients are unaffected.
func (t *Tape) Release() {
	if t == nil {
		return
	}
	for _, x := range t.owned {
		t.pool.Release(x)
	}
	clear(t.owned)
	t.owned = t.owned[:0]
	clear(t.nodes)
	t.nodes = t.nodes[:0]
}

// Len returns the number of recorded operations.
func (t *Tape) Len() int {
	if t == nil {
		return 0
	}
	return len(t.nodes)
}
