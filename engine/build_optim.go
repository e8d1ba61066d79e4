package engine

import (
	"fmt"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
)

// OptimizerFactory is a decoded optim_wrapper.optimizer: the base learning
// rate and weight decay that parameter groups are built with, and the
// constructor of the optimizer over those groups.
type OptimizerFactory struct {
	LR, WeightDecay float64
	New             func(groups []*optim.Group) optim.Optimizer
}

// OptimizerRegistry holds the optimizer types configs name under
// optim_wrapper.optimizer.type: SGD, AdamW and LAMB.
var OptimizerRegistry = config.NewRegistry[OptimizerFactory](config.Optimizers)

// SchedulerRegistry holds the learning-rate rules configs list under
// param_scheduler: LinearLR, ConstantLR, StepLR, MultiStepLR,
// CosineAnnealingLR and PolyLR, with mmengine's keys and defaults.
var SchedulerRegistry = config.NewRegistry[optim.Scheduler](config.Schedules)

// baseOptimizerOptions are the keys every optimizer takes.
type baseOptimizerOptions struct {
	LR          float64 `yaml:"lr"`           // required
	WeightDecay float64 `yaml:"weight_decay"` // default 0
}

type sgdConfig struct {
	Base baseOptimizerOptions `yaml:",inline"`
	Opts optim.SGDOptions     `yaml:",inline"`
}

type adamWConfig struct {
	Base baseOptimizerOptions `yaml:",inline"`
	Opts optim.AdamWOptions   `yaml:",inline"`
}

type lambConfig struct {
	Base baseOptimizerOptions `yaml:",inline"`
	Opts optim.LAMBOptions    `yaml:",inline"`
}

// OptimWrapperOptions are the keys of optim_wrapper (mmengine's
// OptimWrapper config).
type OptimWrapperOptions struct {
	// Type must be OptimWrapper (the default); dp has no mixed precision.
	Type string `yaml:"type"`
	// Optimizer is built from OptimizerRegistry.
	Optimizer config.Node `yaml:"optimizer"`
	// Paramwise splits parameters into groups with their own lr and
	// weight-decay multipliers.
	Paramwise optim.ParamwiseOptions `yaml:"paramwise_cfg"`
	// ClipGrad clips the global gradient norm; absent or max_norm 0
	// disables it.
	ClipGrad *ClipGradOptions `yaml:"clip_grad"`
}

// ClipGradOptions are the keys of optim_wrapper.clip_grad.
type ClipGradOptions struct {
	MaxNorm  float64 `yaml:"max_norm"`
	NormType float64 `yaml:"norm_type"` // only 2 (the default) is supported
}

// BuildOptimizer builds the optimizer that the optim_wrapper node n
// describes over model's trainable parameters, and returns it with the
// gradient-clipping norm (0 for none).
func BuildOptimizer(n config.Node, model nn.Module) (optim.Optimizer, float64, error) {
	if !n.Exists() {
		return nil, 0, fmt.Errorf("engine: the config has no optim_wrapper: add one, e.g. optim_wrapper: {optimizer: {type: SGD, lr: 0.02, momentum: 0.9, weight_decay: 0.0001}}")
	}
	opts := OptimWrapperOptions{Type: "OptimWrapper"}
	if err := n.Decode(&opts); err != nil {
		return nil, 0, err
	}
	if opts.Type != "OptimWrapper" {
		return nil, 0, &config.Error{File: n.Field("type").File(), Line: n.Field("type").Line(), Path: n.Field("type").Path(),
			Msg: fmt.Sprintf("optim_wrapper type %q is not supported: dp has only OptimWrapper (float32, no loss scaling)", opts.Type)}
	}
	f, err := OptimizerRegistry.Build(opts.Optimizer)
	if err != nil {
		return nil, 0, err
	}
	clip := 0.0
	if c := opts.ClipGrad; c != nil {
		if c.NormType != 0 && c.NormType != 2 {
			nt := n.Get("clip_grad.norm_type")
			return nil, 0, &config.Error{File: nt.File(), Line: nt.Line(), Path: nt.Path(), Msg: fmt.Sprintf("norm_type %g is not supported: only the L2 norm (2)", c.NormType)}
		}
		if c.MaxNorm < 0 {
			mn := n.Get("clip_grad.max_norm")
			return nil, 0, &config.Error{File: mn.File(), Line: mn.Line(), Path: mn.Path(), Msg: fmt.Sprintf("max_norm %g must be positive (or leave clip_grad out)", c.MaxNorm)}
		}
		clip = c.MaxNorm
	}
	groups := optim.BuildGroups(model, f.LR, f.WeightDecay, opts.Paramwise)
	if len(groups) == 0 {
		return nil, 0, fmt.Errorf("engine: the model has no trainable parameters (are all stages frozen?)")
	}
	return f.New(groups), clip, nil
}

// BuildSchedule builds the param_scheduler list n (one mapping or a list of
// them; absent means a constant lr) into a Schedule, validating every rule.
func BuildSchedule(n config.Node) (optim.Schedule, error) {
	var s optim.Schedule
	var items []config.Node
	switch n.Kind() {
	case config.Missing, config.Null:
		return s, nil
	case config.Map:
		items = []config.Node{n}
	case config.List:
		for i := 0; i < n.Len(); i++ {
			items = append(items, n.Index(i))
		}
	default:
		return s, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "expected a list of schedulers, each a mapping with a \"type\""}
	}
	for _, it := range items {
		r, err := SchedulerRegistry.Build(it)
		if err != nil {
			return s, err
		}
		if err := r.Validate(); err != nil {
			return s, &config.Error{File: it.File(), Line: it.Line(), Path: it.Path(), Err: err}
		}
		s.Rules = append(s.Rules, r)
	}
	return s, nil
}

// schedulerBase are the keys every param_scheduler rule takes
// (mmengine's _ParamScheduler).
type schedulerBase struct {
	ByEpoch            bool    `yaml:"by_epoch"` // default true, as mmengine
	Begin              float64 `yaml:"begin"`
	End                float64 `yaml:"end"` // default: the end of training
	ConvertToIterBased bool    `yaml:"convert_to_iter_based"`
}

func (b schedulerBase) rule(typ string) optim.Scheduler {
	return optim.Scheduler{Type: typ, ByEpoch: b.ByEpoch, Begin: b.Begin, End: b.End, ConvertToIterBased: b.ConvertToIterBased}
}

var defaultSchedulerBase = schedulerBase{ByEpoch: true}

type linearLRConfig struct {
	Base        schedulerBase `yaml:",inline"`
	StartFactor float64       `yaml:"start_factor"` // default 1/3
	EndFactor   float64       `yaml:"end_factor"`   // default 1
}

type constantLRConfig struct {
	Base   schedulerBase `yaml:",inline"`
	Factor float64       `yaml:"factor"` // default 1/3
}

type stepLRConfig struct {
	Base     schedulerBase `yaml:",inline"`
	StepSize float64       `yaml:"step_size"` // required
	Gamma    float64       `yaml:"gamma"`     // default 0.1
}

type multiStepLRConfig struct {
	Base       schedulerBase `yaml:",inline"`
	Milestones []float64     `yaml:"milestones"` // required
	Gamma      float64       `yaml:"gamma"`      // default 0.1
}

type cosineLRConfig struct {
	Base        schedulerBase `yaml:",inline"`
	TMax        float64       `yaml:"T_max"`         // default end - begin
	EtaMin      float64       `yaml:"eta_min"`       // default 0
	EtaMinRatio float64       `yaml:"eta_min_ratio"` // default 0
}

type polyLRConfig struct {
	Base   schedulerBase `yaml:",inline"`
	Power  float64       `yaml:"power"`   // default 1
	EtaMin float64       `yaml:"eta_min"` // default 0
}

func init() {
	config.RegisterOptions(OptimizerRegistry, "SGD", sgdConfig{}, func(c sgdConfig) (OptimizerFactory, error) {
		if c.Opts.Nesterov && (c.Opts.Momentum <= 0 || c.Opts.Dampening != 0) {
			return OptimizerFactory{}, fmt.Errorf("nesterov needs momentum > 0 and dampening 0 (got momentum %g, dampening %g)", c.Opts.Momentum, c.Opts.Dampening)
		}
		return optimizerFactory(c.Base, func(g []*optim.Group) optim.Optimizer { return optim.NewSGD(g, c.Opts) })
	})
	config.RegisterOptions(OptimizerRegistry, "AdamW", adamWConfig{Opts: optim.DefaultAdamWOptions()}, func(c adamWConfig) (OptimizerFactory, error) {
		return optimizerFactory(c.Base, func(g []*optim.Group) optim.Optimizer { return optim.NewAdamW(g, c.Opts) })
	})
	config.RegisterOptions(OptimizerRegistry, "LAMB", lambConfig{Opts: optim.DefaultLAMBOptions()}, func(c lambConfig) (OptimizerFactory, error) {
		return optimizerFactory(c.Base, func(g []*optim.Group) optim.Optimizer { return optim.NewLAMB(g, c.Opts) })
	})

	config.RegisterOptions(SchedulerRegistry, "LinearLR", linearLRConfig{Base: defaultSchedulerBase, StartFactor: 1.0 / 3, EndFactor: 1},
		func(c linearLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("LinearLR")
			r.StartFac, r.EndFac = c.StartFactor, c.EndFactor
			if c.StartFactor <= 0 || c.StartFactor > 1 || c.EndFactor < 0 || c.EndFactor > 1 {
				return r, fmt.Errorf("start_factor %g and end_factor %g must lie in (0, 1] and [0, 1]", c.StartFactor, c.EndFactor)
			}
			return r, nil
		})
	config.RegisterOptions(SchedulerRegistry, "ConstantLR", constantLRConfig{Base: defaultSchedulerBase, Factor: 1.0 / 3},
		func(c constantLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("ConstantLR")
			r.StartFac = c.Factor
			if c.Factor <= 0 || c.Factor > 1 {
				return r, fmt.Errorf("factor %g must lie in (0, 1]", c.Factor)
			}
			return r, nil
		})
	config.RegisterOptions(SchedulerRegistry, "StepLR", stepLRConfig{Base: defaultSchedulerBase, Gamma: 0.1},
		func(c stepLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("StepLR")
			r.StepSize, r.Gamma = c.StepSize, c.Gamma
			return r, nil
		})
	config.RegisterOptions(SchedulerRegistry, "MultiStepLR", multiStepLRConfig{Base: defaultSchedulerBase, Gamma: 0.1},
		func(c multiStepLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("MultiStepLR")
			r.Milestones, r.Gamma = c.Milestones, c.Gamma
			if len(c.Milestones) == 0 {
				return r, fmt.Errorf("milestones is required: the epochs (or iterations) at which the lr is multiplied by gamma")
			}
			for i := 1; i < len(c.Milestones); i++ {
				if c.Milestones[i] <= c.Milestones[i-1] {
					return r, fmt.Errorf("milestones %v must increase", c.Milestones)
				}
			}
			return r, nil
		})
	config.RegisterOptions(SchedulerRegistry, "CosineAnnealingLR", cosineLRConfig{Base: defaultSchedulerBase},
		func(c cosineLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("CosineAnnealingLR")
			r.TMax, r.EtaMin, r.EtaMinRatio = c.TMax, c.EtaMin, c.EtaMinRatio
			if c.EtaMin != 0 && c.EtaMinRatio != 0 {
				return r, fmt.Errorf("set eta_min or eta_min_ratio, not both")
			}
			return r, nil
		})
	config.RegisterOptions(SchedulerRegistry, "PolyLR", polyLRConfig{Base: defaultSchedulerBase, Power: 1},
		func(c polyLRConfig) (optim.Scheduler, error) {
			r := c.Base.rule("PolyLR")
			r.Power, r.EtaMin = c.Power, c.EtaMin
			return r, nil
		})
}

func optimizerFactory(b baseOptimizerOptions, New func([]*optim.Group) optim.Optimizer) (OptimizerFactory, error) {
	if b.LR <= 0 {
		return OptimizerFactory{}, fmt.Errorf("lr is required and must be positive, got %g", b.LR)
	}
	if b.WeightDecay < 0 {
		return OptimizerFactory{}, fmt.Errorf("weight_decay %g must not be negative", b.WeightDecay)
	}
	return OptimizerFactory{LR: b.LR, WeightDecay: b.WeightDecay, New: New}, nil
}
