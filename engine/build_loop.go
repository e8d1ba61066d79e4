package engine

import (
	"fmt"
	"strings"

	"github.com/densepred/dp/config"
)

// TrainLoopOptions are the keys of train_cfg (mmengine's
// EpochBasedTrainLoop and IterBasedTrainLoop).
type TrainLoopOptions struct {
	// Type is EpochBasedTrainLoop or IterBasedTrainLoop; without it,
	// ByEpoch chooses, as mmengine does.
	Type        string `yaml:"type"`
	ByEpoch     *bool  `yaml:"by_epoch"`
	MaxEpochs   int    `yaml:"max_epochs"`
	MaxIters    int    `yaml:"max_iters"`
	ValInterval int    `yaml:"val_interval"` // default 1 (epoch-based) or 1000 iterations, as mmengine
}

// HooksOptions are the keys of default_hooks. Each of timer, logger,
// param_scheduler and checkpoint is a hook mapping built from HookRegistry
// (its type defaults to the one type the key may hold: IterTimerHook,
// LoggerHook, ParamSchedulerHook, CheckpointHook); absent, it is that hook
// with its defaults; null removes it (except param_scheduler, which sets
// the learning rate). sampler_seed is accepted for mmdet configs
// (DistSamplerSeedHook: dp's loader reseeds each epoch's shuffle from the
// seed and the epoch itself) and visualization is accepted and ignored (dp
// draws with dp test --show-dir and dp infer).
type HooksOptions struct {
	Timer          config.Node `yaml:"timer"`
	Logger         config.Node `yaml:"logger"`
	ParamScheduler config.Node `yaml:"param_scheduler"`
	Checkpoint     config.Node `yaml:"checkpoint"`
	SamplerSeed    *typeOnly   `yaml:"sampler_seed"`
	Visualization  config.Node `yaml:"visualization"`
}

type typeOnly struct {
	Type string `yaml:"type"`
}

// BuildLoop reads train_cfg and default_hooks into LoopOptions; metrics
// are the validation metrics, which save_best: auto chooses from.
func BuildLoop(cfg config.Node, metrics []Metric) (LoopOptions, error) {
	lo, _, err := buildLoop(cfg, metrics)
	return lo, err
}

// buildLoop is BuildLoop that also returns the hooks of default_hooks, in
// their order.
func buildLoop(cfg config.Node, metrics []Metric) (LoopOptions, []Hook, error) {
	var lo LoopOptions
	tn := cfg.Field("train_cfg")
	if !tn.Exists() {
		return lo, nil, &config.Error{File: cfg.File(), Path: "train_cfg", Msg: "missing: add train_cfg: {type: EpochBasedTrainLoop, max_epochs: 12, val_interval: 1} or {type: IterBasedTrainLoop, max_iters: 80000, val_interval: 8000}"}
	}
	var t TrainLoopOptions
	if err := tn.Decode(&t); err != nil {
		return lo, nil, err
	}
	switch {
	case t.Type == "EpochBasedTrainLoop":
		lo.ByEpoch = true
	case t.Type == "IterBasedTrainLoop":
		lo.ByEpoch = false
	case t.Type == "":
		lo.ByEpoch = t.ByEpoch == nil || *t.ByEpoch
	default:
		n := tn.Field("type")
		return lo, nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("unknown train loop %q: want EpochBasedTrainLoop or IterBasedTrainLoop", t.Type)}
	}
	if t.Type != "" && t.ByEpoch != nil && *t.ByEpoch != lo.ByEpoch {
		n := tn.Field("by_epoch")
		return lo, nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("by_epoch %v contradicts type %s", *t.ByEpoch, t.Type)}
	}
	if lo.ByEpoch {
		if t.MaxEpochs <= 0 {
			return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_epochs", Msg: fmt.Sprintf("an epoch-based loop needs max_epochs > 0, got %d", t.MaxEpochs)}
		}
		if t.MaxIters != 0 {
			return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_iters", Msg: "an epoch-based loop takes max_epochs, not max_iters (use type: IterBasedTrainLoop to count iterations)"}
		}
		lo.MaxEpochs, lo.ValInterval = t.MaxEpochs, 1
	} else {
		if t.MaxIters <= 0 {
			return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_iters", Msg: fmt.Sprintf("an iteration-based loop needs max_iters > 0, got %d", t.MaxIters)}
		}
		if t.MaxEpochs != 0 {
			return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_epochs", Msg: "an iteration-based loop takes max_iters, not max_epochs (use type: EpochBasedTrainLoop to count epochs)"}
		}
		lo.MaxIters, lo.ValInterval = t.MaxIters, 1000
	}
	if tn.Field("val_interval").Exists() {
		lo.ValInterval = t.ValInterval
	}
	if lo.ValInterval < 0 {
		return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.val_interval", Msg: fmt.Sprintf("val_interval %d must not be negative", lo.ValInterval)}
	}

	return buildDefaultHooks(cfg.Field("default_hooks"), lo, metrics)
}

// buildDefaultHooks builds the hooks of default_hooks (n) in their order
// and copies their options into lo: LogInterval, CheckpointInterval,
// MaxKeepCkpts and SaveBest (resolved: auto becomes the first metric's
// key).
func buildDefaultHooks(n config.Node, lo LoopOptions, metrics []Metric) (LoopOptions, []Hook, error) {
	var h HooksOptions
	if err := n.Decode(&h); err != nil {
		return lo, nil, err
	}
	if t := typeOf(h.SamplerSeed); t != "" && t != "DistSamplerSeedHook" {
		tn := n.Get("sampler_seed.type")
		return lo, nil, &config.Error{File: tn.File(), Line: tn.Line(), Path: tn.Path(), Msg: fmt.Sprintf("hook type %q: default_hooks.sampler_seed must be DistSamplerSeedHook", t)}
	}
	var hooks []Hook
	for _, slot := range defaultHookSlots {
		hook, err := buildDefaultHook(n.Field(slot.key), slot.key, slot.typ)
		if err != nil {
			return lo, nil, err
		}
		if hook == nil {
			continue
		}
		hooks = append(hooks, hook)
		switch hook := hook.(type) {
		case *LoggerHook:
			if hook.Interval <= 0 {
				in := n.Get("logger.interval")
				return lo, nil, &config.Error{File: in.File(), Line: in.Line(), Path: "default_hooks.logger.interval", Msg: fmt.Sprintf("interval %d must be positive", hook.Interval)}
			}
			lo.LogInterval = hook.Interval
		case *CheckpointHook:
			if err := resolveCheckpointHook(n, hook, &lo, metrics); err != nil {
				return lo, nil, err
			}
		}
	}
	return lo, hooks, nil
}

// buildDefaultHook builds default_hooks.key, whose type must be typ.
func buildDefaultHook(n config.Node, key, typ string) (Hook, error) {
	switch n.Kind() {
	case config.Missing:
		// The registry's defaults, as if the config said {type: typ}.
		m, err := config.Parse("default_hooks", []byte("type: "+typ))
		if err != nil {
			return nil, err
		}
		return HookRegistry.Build(m)
	case config.Null:
		if key == "param_scheduler" {
			return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(),
				Msg: "ParamSchedulerHook cannot be removed: it applies param_scheduler; for a fixed learning rate use param_scheduler: [{type: ConstantLR, factor: 1}]"}
		}
		return nil, nil
	}
	if got := n.Type(); got != "" && got != typ && HookRegistry.Has(got) {
		t := n.Field("type")
		return nil, &config.Error{File: t.File(), Line: t.Line(), Path: t.Path(),
			Msg: fmt.Sprintf("hook type %q: default_hooks.%s must be %s (add other hooks to custom_hooks)", got, key, typ)}
	}
	return HookRegistry.BuildWithDefaults(n, map[string]any{"type": typ})
}

// resolveCheckpointHook checks default_hooks.checkpoint (hn is
// default_hooks) against the loop and resolves save_best.
func resolveCheckpointHook(hn config.Node, h *CheckpointHook, lo *LoopOptions, metrics []Metric) error {
	ck := h.CheckpointHookOptions
	if ck.ByEpoch != nil && *ck.ByEpoch != lo.ByEpoch {
		n := hn.Get("checkpoint.by_epoch")
		return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("by_epoch %v disagrees with the train loop (by_epoch %v): checkpoints follow the loop's unit", *ck.ByEpoch, lo.ByEpoch)}
	}
	if ck.Interval < 0 {
		n := hn.Get("checkpoint.interval")
		return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("interval %d must be positive", ck.Interval)}
	}
	if ck.Rule != "greater" {
		n := hn.Get("checkpoint.rule")
		return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("rule %q is not supported: dp's metrics are all scores, kept by rule greater", ck.Rule)}
	}
	lo.CheckpointInterval = ck.Interval
	if ck.MaxKeepCkpts > 0 {
		lo.MaxKeepCkpts = ck.MaxKeepCkpts
	}
	switch best := ck.SaveBest; {
	case best == "":
	case best == "auto":
		if len(metrics) == 0 {
			n := hn.Get("checkpoint.save_best")
			return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "save_best: auto needs a val_evaluator to take the metric from"}
		}
		if lo.SaveBest = firstMetricKey(metrics[0]); lo.SaveBest == "" {
			n := hn.Get("checkpoint.save_best")
			return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("save_best: auto cannot tell the first score of %T: name the metric", metrics[0])}
		}
	default:
		if i := strings.LastIndex(best, "/"); i >= 0 {
			best = best[i+1:] // mmengine's "coco/bbox_mAP" is dp's "bbox_mAP"
		}
		lo.SaveBest = best
	}
	h.maxKeep, h.saveBest = lo.MaxKeepCkpts, lo.SaveBest
	return nil
}

func typeOf(t *typeOnly) string {
	if t == nil {
		return ""
	}
	return t.Type
}

// firstMetricKey is the key save_best: auto tracks for a metric, as
// mmengine takes the first key the evaluator returns.
func firstMetricKey(m Metric) string {
	switch m := m.(type) {
	case *CocoMetric:
		return m.opts.Metric[0] + "_mAP"
	case *Accuracy:
		return fmt.Sprintf("accuracy_top%d", m.opts.TopK[0])
	case *IoUMetric:
		return "aAcc" // mmseg's IoUMetric returns aAcc first
	}
	if k, ok := m.(interface{ PrimaryKey() string }); ok {
		return k.PrimaryKey()
	}
	return ""
}
