package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/densepred/dp/tensor"
)

// Module is anything built from ModuleBase: a layer, a block, a whole model.
// Forward methods are not part of the interface because their signatures
// differ (a backbone returns several feature maps, a head takes several).
type Module interface {
	// Base returns the embedded ModuleBase holding the module's parameters,
	// buffers, children and training flag.
	Base() *ModuleBase
}

// ModuleBase holds what a module registers, in registration order, which is
// also the order of its state-dict keys (as in PyTorch).
type ModuleBase struct {
	params   []namedVar
	buffers  []namedTensor
	children []namedModule
	training bool
}

type namedVar struct {
	name string
	v    *Var
}

type namedTensor struct {
	name string
	t    *tensor.Tensor
}

type namedModule struct {
	name string
	m    Module
}

// Base implements Module.
func (b *ModuleBase) Base() *ModuleBase { return b }

// Training reports whether the module is in training mode (dropout active,
// BatchNorm using batch statistics).
func (b *ModuleBase) Training() bool { return b.training }

func (b *ModuleBase) checkName(name string) {
	if name == "" || strings.Contains(name, ".") {
		panic(fmt.Sprintf("%s: invalid name %q", errArg, name))
	}
	for _, p := range b.params {
		if p.name == name {
			panic(fmt.Sprintf("%s: %q", errDuplicateName, name))
		}
	}
	for _, p := range b.buffers {
		if p.name == name {
			panic(fmt.Sprintf("%s: %q", errDuplicateName, name))
		}
	}
	for _, p := range b.children {
		if p.name == name {
			panic(fmt.Sprintf("%s: %q", errDuplicateName, name))
		}
	}
}

// RegisterParam records p under name (PyTorch's attribute name, e.g. "weight")
// and returns it. A nil p is skipped, as PyTorch skips a bias=None.
func (b *ModuleBase) RegisterParam(name string, p *Var) *Var {
	if p == nil {
		return nil
	}
	b.checkName(name)
	b.params = append(b.params, namedVar{name, p})
	return p
}

// RegisterBuffer records a non-trainable state tensor (running_mean) under name.
func (b *ModuleBase) RegisterBuffer(name string, t *tensor.Tensor) *tensor.Tensor {
	b.checkName(name)
	b.buffers = append(b.buffers, namedTensor{name, t})
	return t
}

// RegisterModule records a child under name ("conv1", or "0" for the first
// element of a list) and returns it.
func (b *ModuleBase) RegisterModule(name string, m Module) Module {
	b.checkName(name)
	b.children = append(b.children, namedModule{name, m})
	return m
}

// NamedParam is a parameter with its full dotted name.
type NamedParam struct {
	Name  string
	Param *Var
}

// NamedParams returns every parameter of m and its descendants with dotted
// names, in registration order (PyTorch's named_parameters).
func NamedParams(m Module) []NamedParam {
	var out []NamedParam
	walk(m, "", func(prefix string, b *ModuleBase) {
		for _, p := range b.params {
			out = append(out, NamedParam{prefix + p.name, p.v})
		}
	})
	return out
}

// Params returns the parameters of NamedParams without names.
func Params(m Module) []*Var {
	var out []*Var
	for _, p := range NamedParams(m) {
		out = append(out, p.Param)
	}
	return out
}

// WalkModules calls fn for m and every descendant, parents first in
// registration order, with the module's key prefix ("" for m, then
// "backbone.", "backbone.layers.0.", ...).
func WalkModules(m Module, fn func(prefix string, mod Module)) {
	fn("", m)
	walkChildren(m, "", fn)
}

func walkChildren(m Module, prefix string, fn func(string, Module)) {
	for _, c := range m.Base().children {
		fn(prefix+c.name+".", c.m)
		walkChildren(c.m, prefix+c.name+".", fn)
	}
}

func walk(m Module, prefix string, fn func(prefix string, b *ModuleBase)) {
	b := m.Base()
	fn(prefix, b)
	for _, c := range b.children {
		walk(c.m, prefix+c.name+".", fn)
	}
}

// StateKeys returns m's state-dict keys in PyTorch order: each module's
// parameters, then its buffers, then its children's keys.
func StateKeys(m Module) []string {
	var keys []string
	walk(m, "", func(prefix string, b *ModuleBase) {
		for _, p := range b.params {
			keys = append(keys, prefix+p.name)
		}
		for _, t := range b.buffers {
			keys = append(keys, prefix+t.name)
		}
	})
	return keys
}

// StateDict returns m's parameters and buffers by key. The tensors are the
// module's own (not copies).
func StateDict(m Module) map[string]*tensor.Tensor {
	sd := make(map[string]*tensor.Tensor)
	walk(m, "", func(prefix string, b *ModuleBase) {
		for _, p := range b.params {
			sd[prefix+p.name] = p.v.Value
		}
		for _, t := range b.buffers {
			sd[prefix+t.name] = t.t
		}
	})
	return sd
}

// ShapeMismatch is a state-dict key whose tensor has the wrong shape.
type ShapeMismatch struct {
	Key       string
	Want, Got []int
}

// LoadReport says how a state dict matched a module.
type LoadReport struct {
	Missing    []string        // keys of the module absent from the state dict
	Unexpected []string        // keys of the state dict the module does not have
	Mismatched []ShapeMismatch // keys present in both with different shapes (never loaded)
	Loaded     []string        // keys of the module copied from the state dict, in state-dict order
}

// String lists the report's keys, one kind per line.
func (r LoadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "missing keys (%d): %s\n", len(r.Missing), strings.Join(r.Missing, ", "))
	fmt.Fprintf(&b, "unexpected keys (%d): %s", len(r.Unexpected), strings.Join(r.Unexpected, ", "))
	for _, s := range r.Mismatched {
		fmt.Fprintf(&b, "\nshape mismatch: %s: checkpoint %v, model %v", s.Key, s.Got, s.Want)
	}
	return b.String()
}

// LoadStateDict copies the tensors of sd into m's parameters and buffers by
// key. A key with a different shape is always an error naming the key and
// both shapes, and nothing is loaded; with strict, missing or unexpected keys
// are errors too. Otherwise the report lists them and the matching keys are
// loaded. Tensors of sd are copied, never aliased.
func LoadStateDict(m Module, sd map[string]*tensor.Tensor, strict bool) (LoadReport, error) {
	own := StateDict(m)
	var r LoadReport
	for _, k := range StateKeys(m) {
		src, ok := sd[k]
		if !ok {
			r.Missing = append(r.Missing, k)
			continue
		}
		if dst := own[k]; !tensor.SameShape(dst.Shape(), src.Shape()) {
			r.Mismatched = append(r.Mismatched, ShapeMismatch{Key: k, Want: dst.Shape(), Got: src.Shape()})
		}
	}
	for k := range sd {
		if _, ok := own[k]; !ok {
			r.Unexpected = append(r.Unexpected, k)
		}
	}
	slices.Sort(r.Unexpected)
	if len(r.Mismatched) > 0 {
		s := r.Mismatched[0]
		return r, fmt.Errorf("nn: load state dict: %s: shape %v in checkpoint, %v in model (%d mismatched keys)", s.Key, s.Got, s.Want, len(r.Mismatched))
	}
	if strict && (len(r.Missing) > 0 || len(r.Unexpected) > 0) {
		return r, fmt.Errorf("nn: load state dict (strict): %d missing keys (first %s), %d unexpected keys (first %s)",
			len(r.Missing), first(r.Missing), len(r.Unexpected), first(r.Unexpected))
	}
	for _, k := range StateKeys(m) {
		if src, ok := sd[k]; ok {
			own[k].CopyFrom(src)
			r.Loaded = append(r.Loaded, k)
		}
	}
	return r, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return s[0]
}

// Freeze stops gradients to every parameter of m and its descendants
// (PyTorch's requires_grad_(False) on a module): frozen stages of a
// backbone.
func Freeze(m Module) {
	for _, p := range Params(m) {
		p.SetRequiresGrad(false)
	}
}

// SetTraining puts m and all its descendants in training (on) or evaluation
// mode, like PyTorch's module.train(on).
func SetTraining(m Module, on bool) {
	walk(m, "", func(_ string, b *ModuleBase) { b.training = on })
}

// ZeroGrad clears the gradients of every parameter of m.
func ZeroGrad(m Module) {
	for _, p := range Params(m) {
		p.ZeroGrad()
	}
}

// ModuleList is a numbered container whose children are named "0", "1", ...
// like torch.nn.ModuleList.
type ModuleList struct {
	ModuleBase
	Items []Module
}

// NewModuleList returns a list holding items, registered as "0", "1", ...
func NewModuleList(items ...Module) *ModuleList {
	l := &ModuleList{}
	for _, m := range items {
		l.Append(m)
	}
	return l
}

// Append adds m under the next index.
func (l *ModuleList) Append(m Module) {
	l.RegisterModule(fmt.Sprint(len(l.Items)), m)
	l.Items = append(l.Items, m)
}

// WalkParams calls fn for every parameter of m and its descendants in
// registration order, with its dotted name and the module that registered it
// (so callers can tell, e.g., a norm layer's parameters by the owner's type).
func WalkParams(m Module, fn func(name string, owner Module, p *Var)) {
	walkOwned(m, "", fn)
}

func walkOwned(m Module, prefix string, fn func(string, Module, *Var)) {
	b := m.Base()
	for _, p := range b.params {
		fn(prefix+p.name, m, p.v)
	}
	for _, c := range b.children {
		walkOwned(c.m, prefix+c.name+".", fn)
	}
}

// Normalizer is implemented by normalisation layers (BatchNorm, GroupNorm,
// LayerNorm) so optimizers can treat their parameters apart (mmengine's
// norm_decay_mult).
type Normalizer interface {
	Module
	IsNorm() bool
}
