package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/densepred/dp/config"
)

// IterTimerHookOptions are the keys of default_hooks.timer.
type IterTimerHookOptions struct {
	PriorityOption `yaml:",inline"` // default NORMAL
}

// IterTimerHook measures each training iteration, as mmengine's: data_time
// is the wait for the batch and iter_time the whole iteration including
// that wait, both in seconds; LoggerHook logs their means. (The key is
// iter_time rather than mmengine's time, which log.jsonl uses for the
// timestamp.)
type IterTimerHook struct {
	BaseHook
	IterTimerHookOptions
	last time.Time // end of the previous iteration, or the start of training
}

// NewIterTimerHook returns an IterTimerHook.
func NewIterTimerHook(o IterTimerHookOptions) *IterTimerHook {
	return &IterTimerHook{IterTimerHookOptions: o}
}

// BeforeTrain implements Hook.
func (h *IterTimerHook) BeforeTrain(*Runner) error { h.last = time.Now(); return nil }

// BeforeTrainIter implements Hook.
func (h *IterTimerHook) BeforeTrainIter(_ *Runner, it *TrainIter) error {
	if it.Values == nil {
		it.Values = map[string]float64{}
	}
	it.Values["data_time"] = time.Since(h.last).Seconds()
	return nil
}

// AfterTrainIter implements Hook.
func (h *IterTimerHook) AfterTrainIter(_ *Runner, it *TrainIter) error {
	now := time.Now()
	it.Values["iter_time"] = now.Sub(h.last).Seconds()
	h.last = now
	return nil
}

// LoggerHookOptions are the keys of default_hooks.logger.
type LoggerHookOptions struct {
	PriorityOption `yaml:",inline"` // default BELOW_NORMAL
	// Interval logs every this many iterations (and the last); default 50.
	Interval int `yaml:"interval"`
}

// LoggerHook writes a "train" record to log.jsonl, log.txt and the console
// every Interval iterations and at the end: the means over the interval of
// the loss, its terms and the values other hooks add, with the learning
// rate, the peak memory (MiB) and images per second. It also advances the
// progress bar.
type LoggerHook struct {
	BaseHook
	LoggerHookOptions
	win *window
}

// NewLoggerHook returns a LoggerHook; an Interval below 1 logs every
// iteration.
func NewLoggerHook(o LoggerHookOptions) *LoggerHook { return &LoggerHook{LoggerHookOptions: o} }

// BeforeTrain implements Hook.
func (h *LoggerHook) BeforeTrain(*Runner) error { h.win = newWindow(); return nil }

// AfterTrainIter implements Hook.
func (h *LoggerHook) AfterTrainIter(r *Runner, it *TrainIter) error {
	lr := r.Optimizer.Groups()[0].LR
	h.win.add(len(it.Batch.Samples), it.Loss, it.Values)
	r.Log.StepBar(fmt.Sprintf("epoch %d loss %.4f lr %.2e %.1f img/s", it.Epoch+1, it.Loss, lr, h.win.imagesPerSecond()))
	if r.pos.Iter%max(h.Interval, 1) != 0 && r.pos.Iter != r.total {
		return nil
	}
	vals := h.win.flush()
	vals["lr"], vals["memory"] = lr, peakMemoryMB()
	return r.Log.Write(Record{Mode: "train", Epoch: it.Epoch + 1, Iter: r.pos.Iter, Values: vals})
}

// ParamSchedulerHookOptions are the keys of default_hooks.param_scheduler.
type ParamSchedulerHookOptions struct {
	PriorityOption `yaml:",inline"` // default LOW
}

// ParamSchedulerHook sets every parameter group's learning rate from the
// runner's Schedule (param_scheduler) before each iteration. The schedule
// is a closed-form function of the iteration and epoch, so it has no state
// to checkpoint.
type ParamSchedulerHook struct {
	BaseHook
	ParamSchedulerHookOptions
}

// NewParamSchedulerHook returns a ParamSchedulerHook.
func NewParamSchedulerHook(o ParamSchedulerHookOptions) *ParamSchedulerHook {
	return &ParamSchedulerHook{ParamSchedulerHookOptions: o}
}

// BeforeTrainIter implements Hook.
func (h *ParamSchedulerHook) BeforeTrainIter(r *Runner, it *TrainIter) error {
	r.Schedule.Apply(r.Optimizer.Groups(), it.Iter, it.Epoch)
	return nil
}

// CheckpointHookOptions are the keys of default_hooks.checkpoint.
type CheckpointHookOptions struct {
	PriorityOption `yaml:",inline"` // default VERY_LOW
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

// DefaultCheckpointHookOptions returns mmengine's defaults.
func DefaultCheckpointHookOptions() CheckpointHookOptions {
	return CheckpointHookOptions{PriorityOption: PriorityOption{VeryLow}, MaxKeepCkpts: -1, Rule: "greater"}
}

// CheckpointHook saves a checkpoint every interval epochs (iterations) and
// at the end, keeps the newest max_keep_ckpts, and keeps a copy of the
// checkpoint with the best save_best score. The Runner's
// LoopOptions.CheckpointInterval, MaxKeepCkpts and SaveBest are its
// resolved options (save_best: auto replaced by the metric's name).
type CheckpointHook struct {
	BaseHook
	CheckpointHookOptions
	interval int    // resolved in BeforeTrain; > 0 then
	maxKeep  int    // 0 keeps all
	saveBest string // resolved metric name, or ""
	pending  string // file name of a checkpoint waiting for the validation that is due
}

// BeforeTrain implements Hook.
func (h *CheckpointHook) BeforeTrain(r *Runner) error {
	h.interval = h.Interval
	if h.interval <= 0 {
		h.interval = 1
		if !r.Loop.ByEpoch {
			h.interval = max(r.Loop.ValInterval, 1)
		}
	}
	h.pending = ""
	return nil
}

// AfterTrainIter implements Hook.
func (h *CheckpointHook) AfterTrainIter(r *Runner, _ *TrainIter) error {
	if r.Loop.ByEpoch {
		return nil
	}
	return h.periodic(r, r.pos.Iter, "iter_")
}

// AfterTrainEpoch implements Hook.
func (h *CheckpointHook) AfterTrainEpoch(r *Runner, _ int) error {
	if !r.Loop.ByEpoch {
		return nil
	}
	return h.periodic(r, r.pos.Epoch, "epoch_")
}

// periodic saves prefix_n when n ends an interval or training ends; when
// the loop is about to validate, it waits for the scores.
func (h *CheckpointHook) periodic(r *Runner, n int, prefix string) error {
	last := r.pos.Iter == r.total
	if n%h.interval != 0 && !last {
		return nil
	}
	name := fmt.Sprintf("%s%d.safetensors", prefix, n)
	if r.validationDue(n, last) {
		h.pending = name
		return nil
	}
	return h.save(r, name, nil)
}

// AfterValEpoch implements Hook: it writes the checkpoint that waited for
// this validation, keeping it as the best if its score is the best so far.
func (h *CheckpointHook) AfterValEpoch(r *Runner, scores map[string]float64) error {
	if h.pending == "" {
		return nil
	}
	name := h.pending
	h.pending = ""
	return h.save(r, name, scores)
}

func (h *CheckpointHook) save(r *Runner, name string, scores map[string]float64) error {
	best := ""
	if h.saveBest != "" && scores != nil {
		v, ok := scores[h.saveBest]
		if !ok {
			return fmt.Errorf("engine: save_best metric %q is not among the metrics computed (%s)", h.saveBest, keysOf(scores))
		}
		if math.IsNaN(r.bestScore) || v > r.bestScore {
			best = fmt.Sprintf("best_%s_%s", h.saveBest, name)
			r.bestScore = v
		}
	}
	if _, err := r.saveCheckpoint(name, best); err != nil {
		return err
	}
	prefix := "epoch_"
	if !r.Loop.ByEpoch {
		prefix = "iter_"
	}
	return pruneCheckpoints(r.WorkDir, prefix, h.maxKeep, r.bestFile)
}

// defaultHooks returns the hooks a Runner without Hooks uses: the
// default_hooks of a config, with the options lo holds.
func defaultHooks(lo LoopOptions) []Hook {
	ck := &CheckpointHook{CheckpointHookOptions: DefaultCheckpointHookOptions(), maxKeep: max(lo.MaxKeepCkpts, 0), saveBest: lo.SaveBest}
	ck.Interval = lo.CheckpointInterval
	return []Hook{
		NewIterTimerHook(IterTimerHookOptions{PriorityOption{Normal}}),
		NewLoggerHook(LoggerHookOptions{PriorityOption: PriorityOption{BelowNormal}, Interval: lo.LogInterval}),
		NewParamSchedulerHook(ParamSchedulerHookOptions{PriorityOption{Low}}),
		ck,
	}
}

func init() {
	config.RegisterOptions(HookRegistry, "IterTimerHook", IterTimerHookOptions{PriorityOption{Normal}},
		func(o IterTimerHookOptions) (Hook, error) { return NewIterTimerHook(o), nil })
	config.RegisterOptions(HookRegistry, "LoggerHook", LoggerHookOptions{PriorityOption: PriorityOption{BelowNormal}, Interval: 50},
		func(o LoggerHookOptions) (Hook, error) { return NewLoggerHook(o), nil })
	config.RegisterOptions(HookRegistry, "ParamSchedulerHook", ParamSchedulerHookOptions{PriorityOption{Low}},
		func(o ParamSchedulerHookOptions) (Hook, error) { return NewParamSchedulerHook(o), nil })
	config.RegisterOptions(HookRegistry, "CheckpointHook", DefaultCheckpointHookOptions(),
		func(o CheckpointHookOptions) (Hook, error) {
			return &CheckpointHook{CheckpointHookOptions: o, maxKeep: max(o.MaxKeepCkpts, 0)}, nil
		})
}
