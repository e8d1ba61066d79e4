package optim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/densepred/dp/nn"
)

// Param is a trainable tensor with the name the optimizer state is keyed by.
type Param struct {
	Name string
	Var  *nn.Var
}

// Group is a set of parameters sharing hyper-parameters. LR is the current
// learning rate, which a Schedule rewrites every step from BaseLR; LRMult and
// DecayMult come from the paramwise options.
type Group struct {
	Params      []Param
	BaseLR      float64 // the configured lr times LRMult
	LR          float64 // current lr; set by schedules, read by Step
	WeightDecay float64 // the configured weight decay times DecayMult
}

// KeyOptions are the multipliers of one paramwise custom key.
type KeyOptions struct {
	LRMult    *float64 `yaml:"lr_mult"`
	DecayMult *float64 `yaml:"decay_mult"`
}

// ParamwiseOptions split parameters into groups like mmengine's
// DefaultOptimWrapperConstructor.
//
// A parameter's multipliers come from the first custom key contained in its
// name, trying longer keys first and, among equal lengths, alphabetical order
// (mmengine's rule); otherwise from NormDecayMult for parameters of norm layers
// (nn.Normalizer) and BiasDecayMult for parameters named "bias"; otherwise 1.
type ParamwiseOptions struct {
	CustomKeys    map[string]KeyOptions `yaml:"custom_keys"`
	NormDecayMult *float64              `yaml:"norm_decay_mult"`
	BiasDecayMult *float64              `yaml:"bias_decay_mult"`
}

// BuildGroups returns the parameter groups of m's trainable parameters
// (frozen ones are left out) for a base lr and weight decay. Parameters with
// equal multipliers share a group; groups are ordered by first appearance,
// so the result is deterministic.
func BuildGroups(m nn.Module, lr, weightDecay float64, opts ParamwiseOptions) []*Group {
	keys := make([]string, 0, len(opts.CustomKeys))
	for k := range opts.CustomKeys {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	type mult struct{ lr, decay float64 }
	index := map[mult]*Group{}
	var groups []*Group
	nn.WalkParams(m, func(name string, owner nn.Module, p *nn.Var) {
		if !p.RequiresGrad() {
			return
		}
		mu := mult{1, 1}
		matched := false
		for _, k := range keys {
			if strings.Contains(name, k) {
				ko := opts.CustomKeys[k]
				if ko.LRMult != nil {
					mu.lr = *ko.LRMult
				}
				if ko.DecayMult != nil {
					mu.decay = *ko.DecayMult
				}
				matched = true
				break
			}
		}
		if !matched {
			if n, ok := owner.(nn.Normalizer); ok && n.IsNorm() && opts.NormDecayMult != nil {
				mu.decay = *opts.NormDecayMult
			} else if strings.HasSuffix(name, "bias") && opts.BiasDecayMult != nil {
				mu.decay = *opts.BiasDecayMult
			}
		}
		g := index[mu]
		if g == nil {
			g = &Group{BaseLR: lr * mu.lr, LR: lr * mu.lr, WeightDecay: weightDecay * mu.decay}
			index[mu] = g
			groups = append(groups, g)
		}
		g.Params = append(g.Params, Param{Name: name, Var: p})
	})
	return groups
}

// describeGroups is used in error messages and logs.
func describeGroups(groups []*Group) string {
	var b strings.Builder
	for i, g := range groups {
		fmt.Fprintf(&b, "group %d: %d params, lr %g, weight_decay %g\n", i, len(g.Params), g.LR, g.WeightDecay)
	}
	return b.String()
}
