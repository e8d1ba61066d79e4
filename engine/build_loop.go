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

// HooksOptions are the keys of default_hooks that dp reads. The timer,
// param_scheduler and sampler_seed hooks of mmdet's runtime are built in
// (timing, the schedule and per-epoch seeding always run), so only their
// type is checked; visualization is accepted and ignored (dp draws with
// dp test --show-dir and dp infer).
type HooksOptions struct {
	Timer          *typeOnly          `yaml:"timer"`
	Logger         LoggerHookOptions  `yaml:"logger"`
	ParamScheduler *typeOnly          `yaml:"param_scheduler"`
	Checkpoint     CheckpointHookOpts `yaml:"checkpoint"`
	SamplerSeed    *typeOnly          `yaml:"sampler_seed"`
	Visualization  config.Node        `yaml:"visualization"`
}

type typeOnly struct {
	Type string `yaml:"type"`
}

// LoggerHookOptions are the keys of default_hooks.logger.
type LoggerHookOptions struct {
	Type     string `yaml:"type"`     // LoggerHook
	Interval int    `yaml:"interval"` // log every this many iterations; default 50
}

// CheckpointHookOpts are the keys of default_hooks.checkpoint.
type CheckpointHookOpts struct {
	Type string `yaml:"type"` // CheckpointHook
	// Interval saves every this many epochs (iterations when the loop is
	// iteration-based); default 1 epoch, or val_interval iterations.
	Interval int `yaml:"interval"`
	// ByEpoch must agree with the loop; it is accepted for mmengine configs.
	ByEpoch *bool `yaml:"by_epoch"`
	// MaxKeepCkpts keeps the newest this many periodic checkpoints; -1 or
	// 0 keeps all (mmengine's default -1).
	MaxKeepCkpts int `yaml:"max_keep_ckpts"`
	// SaveBest names the metric whose best value is kept as
	// best_<metric>_<epoch|iter>_N.safetensors; "auto" takes the first
	// metric of val_evaluator. mmengine prefixes such as "coco/" are
	// accepted and dropped.
	SaveBest string `yaml:"save_best"`
	// Rule is "greater" (the only rule dp has: every dp metric is a score).
	Rule string `yaml:"rule"`
	// SaveLast is accepted for mmengine configs: the last checkpoint is
	// always saved.
	SaveLast *bool `yaml:"save_last"`
}

// BuildLoop reads train_cfg and default_hooks into LoopOptions; metrics
// are the validation metrics, which save_best: auto chooses from.
func BuildLoop(cfg config.Node, metrics []Metric) (LoopOptions, error) {
	var lo LoopOptions
	tn := cfg.Field("train_cfg")
	if !tn.Exists() {
		return lo, &config.Error{File: cfg.File(), Path: "train_cfg", Msg: "missing: add train_cfg: {type: EpochBasedTrainLoop, max_epochs: 12, val_interval: 1} or {type: IterBasedTrainLoop, max_iters: 80000, val_interval: 8000}"}
	}
	var t TrainLoopOptions
	if err := tn.Decode(&t); err != nil {
		return lo, err
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
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("unknown train loop %q: want EpochBasedTrainLoop or IterBasedTrainLoop", t.Type)}
	}
	if t.Type != "" && t.ByEpoch != nil && *t.ByEpoch != lo.ByEpoch {
		n := tn.Field("by_epoch")
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("by_epoch %v contradicts type %s", *t.ByEpoch, t.Type)}
	}
	if lo.ByEpoch {
		if t.MaxEpochs <= 0 {
			return lo, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_epochs", Msg: fmt.Sprintf("an epoch-based loop needs max_epochs > 0, got %d", t.MaxEpochs)}
		}
		if t.MaxIters != 0 {
			return lo, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_iters", Msg: "an epoch-based loop takes max_epochs, not max_iters (use type: IterBasedTrainLoop to count iterations)"}
		}
		lo.MaxEpochs, lo.ValInterval = t.MaxEpochs, 1
	} else {
		if t.MaxIters <= 0 {
			return lo, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_iters", Msg: fmt.Sprintf("an iteration-based loop needs max_iters > 0, got %d", t.MaxIters)}
		}
		if t.MaxEpochs != 0 {
			return lo, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.max_epochs", Msg: "an iteration-based loop takes max_iters, not max_epochs (use type: EpochBasedTrainLoop to count epochs)"}
		}
		lo.MaxIters, lo.ValInterval = t.MaxIters, 1000
	}
	if tn.Field("val_interval").Exists() {
		lo.ValInterval = t.ValInterval
	}
	if lo.ValInterval < 0 {
		return lo, &config.Error{File: tn.File(), Line: tn.Line(), Path: "train_cfg.val_interval", Msg: fmt.Sprintf("val_interval %d must not be negative", lo.ValInterval)}
	}

	hn := cfg.Field("default_hooks")
	h := HooksOptions{Logger: LoggerHookOptions{Interval: 50}, Checkpoint: CheckpointHookOpts{Interval: 0, MaxKeepCkpts: -1, Rule: "greater"}}
	if err := hn.Decode(&h); err != nil {
		return lo, err
	}
	for _, c := range []struct {
		key, want string
		got       string
	}{
		{"timer", "IterTimerHook", typeOf(h.Timer)},
		{"logger", "LoggerHook", h.Logger.Type},
		{"param_scheduler", "ParamSchedulerHook", typeOf(h.ParamScheduler)},
		{"checkpoint", "CheckpointHook", h.Checkpoint.Type},
		{"sampler_seed", "DistSamplerSeedHook", typeOf(h.SamplerSeed)},
	} {
		if c.got != "" && c.got != c.want {
			n := hn.Get(c.key + ".type")
			return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("hook type %q: default_hooks.%s must be %s", c.got, c.key, c.want)}
		}
	}
	if h.Logger.Interval <= 0 {
		n := hn.Get("logger.interval")
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: "default_hooks.logger.interval", Msg: fmt.Sprintf("interval %d must be positive", h.Logger.Interval)}
	}
	lo.LogInterval = h.Logger.Interval
	ck := h.Checkpoint
	if ck.ByEpoch != nil && *ck.ByEpoch != lo.ByEpoch {
		n := hn.Get("checkpoint.by_epoch")
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("by_epoch %v disagrees with the train loop (by_epoch %v): checkpoints follow the loop's unit", *ck.ByEpoch, lo.ByEpoch)}
	}
	if ck.Interval < 0 {
		n := hn.Get("checkpoint.interval")
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("interval %d must be positive", ck.Interval)}
	}
	if ck.Rule != "greater" {
		n := hn.Get("checkpoint.rule")
		return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("rule %q is not supported: dp's metrics are all scores, kept by rule greater", ck.Rule)}
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
			return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "save_best: auto needs a val_evaluator to take the metric from"}
		}
		if lo.SaveBest = firstMetricKey(metrics[0]); lo.SaveBest == "" {
			n := hn.Get("checkpoint.save_best")
			return lo, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("save_best: auto cannot tell the first score of %T: name the metric", metrics[0])}
		}
	default:
		if i := strings.LastIndex(best, "/"); i >= 0 {
			best = best[i+1:] // mmengine's "coco/bbox_mAP" is dp's "bbox_mAP"
		}
		lo.SaveBest = best
	}
	return lo, nil
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
