package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// Hook is code the runner calls at fixed points of training and
// validation, as mmengine's Hook: logging, checkpoints, the learning-rate
// schedule and the hooks a config adds under custom_hooks (EMAHook,
// CheckInvalidLossHook, EarlyStoppingHook) are all hooks.
//
// The runner calls the methods from its own goroutine, one at a time, in
// this order:
//
//	BeforeTrain
//	  for each pass over the training data:
//	    BeforeTrainEpoch
//	      for each iteration: BeforeTrainIter, the step, AfterTrainIter
//	      (iteration-based loops validate here when due)
//	    AfterTrainEpoch
//	    (epoch-based loops validate here when due)
//	AfterTrain
//
// and around every validation (during training and from Runner.Validate)
// BeforeVal, then AfterValEpoch with the scores, then AfterVal.
// BeforeSaveCheckpoint sees every checkpoint before it is written and may
// add to it; AfterLoadCheckpoint sees a checkpoint read by Runner.Resume
// before the model and optimizer load it, and must take out the keys it
// added. As in mmengine, the loop validates after AfterTrainIter (or
// AfterTrainEpoch) when a validation is due; CheckpointHook, which saves
// there, then defers the checkpoint to AfterValEpoch so that it knows the
// scores when it writes it (dp keeps the best checkpoint as a copy of a
// periodic one).
//
// A non-nil error stops the run and is returned by Train (Validate,
// Resume). Hooks run in order of Priority, lowest value first; hooks of
// equal priority run in the order they were added (default_hooks in the
// order timer, logger, param_scheduler, checkpoint, then custom_hooks as
// listed). Embed BaseHook to implement only the points a hook needs.
type Hook interface {
	// Priority orders the hooks; see Priority.
	Priority() Priority

	BeforeTrain(r *Runner) error
	AfterTrain(r *Runner) error
	BeforeTrainEpoch(r *Runner, epoch int) error
	AfterTrainEpoch(r *Runner, epoch int) error
	BeforeTrainIter(r *Runner, it *TrainIter) error
	AfterTrainIter(r *Runner, it *TrainIter) error
	BeforeVal(r *Runner) error
	AfterValEpoch(r *Runner, scores map[string]float64) error
	AfterVal(r *Runner) error
	BeforeSaveCheckpoint(r *Runner, ck *CheckpointState) error
	AfterLoadCheckpoint(r *Runner, ck *CheckpointState) error
}

// TrainIter is one training iteration as hooks see it.
type TrainIter struct {
	Epoch int             // 0-based index of the pass over the data
	Iter  int             // 0-based index of the iteration; Position().Iter is Iter+1 in AfterTrainIter
	Batch *datasets.Batch // the batch trained on
	// Loss is the total loss; set for AfterTrainIter.
	Loss float32
	// Values holds the model's logged loss terms (and grad_norm when
	// clipping) for AfterTrainIter; hooks may add values to be logged
	// (IterTimerHook adds iter_time and data_time), which LoggerHook
	// averages over its interval.
	Values map[string]float64
}

// CheckpointState is the content of a checkpoint: tensors by key (the
// model's state-dict keys, "optimizer."-prefixed optimizer state and any
// keys hooks add) and string metadata.
type CheckpointState struct {
	Tensors map[string]*tensor.Tensor
	Meta    map[string]string
}

// BaseHook implements every point of Hook as a no-op, except Priority;
// embed it in a hook and override what the hook needs.
type BaseHook struct{}

// BeforeTrain implements Hook.
func (BaseHook) BeforeTrain(*Runner) error { return nil }

// AfterTrain implements Hook.
func (BaseHook) AfterTrain(*Runner) error { return nil }

// BeforeTrainEpoch implements Hook.
func (BaseHook) BeforeTrainEpoch(*Runner, int) error { return nil }

// AfterTrainEpoch implements Hook.
func (BaseHook) AfterTrainEpoch(*Runner, int) error { return nil }

// BeforeTrainIter implements Hook.
func (BaseHook) BeforeTrainIter(*Runner, *TrainIter) error { return nil }

// AfterTrainIter implements Hook.
func (BaseHook) AfterTrainIter(*Runner, *TrainIter) error { return nil }

// BeforeVal implements Hook.
func (BaseHook) BeforeVal(*Runner) error { return nil }

// AfterValEpoch implements Hook.
func (BaseHook) AfterValEpoch(*Runner, map[string]float64) error { return nil }

// AfterVal implements Hook.
func (BaseHook) AfterVal(*Runner) error { return nil }

// BeforeSaveCheckpoint implements Hook.
func (BaseHook) BeforeSaveCheckpoint(*Runner, *CheckpointState) error { return nil }

// AfterLoadCheckpoint implements Hook.
func (BaseHook) AfterLoadCheckpoint(*Runner, *CheckpointState) error { return nil }

// Priority orders hooks: lower values run first. Configs give it as an
// integer from 0 to 100 or as one of mmengine's names.
type Priority int

// mmengine's named priorities.
const (
	Highest     Priority = 0
	VeryHigh    Priority = 10
	High        Priority = 30
	AboveNormal Priority = 40
	Normal      Priority = 50
	BelowNormal Priority = 60
	Low         Priority = 70
	VeryLow     Priority = 90
	Lowest      Priority = 100
)

var priorityNames = []struct {
	name string
	p    Priority
}{
	{"HIGHEST", Highest}, {"VERY_HIGH", VeryHigh}, {"HIGH", High}, {"ABOVE_NORMAL", AboveNormal},
	{"NORMAL", Normal}, {"BELOW_NORMAL", BelowNormal}, {"LOW", Low}, {"VERY_LOW", VeryLow}, {"LOWEST", Lowest},
}

// String returns mmengine's name of p, or its number.
func (p Priority) String() string {
	for _, n := range priorityNames {
		if n.p == p {
			return n.name
		}
	}
	return strconv.Itoa(int(p))
}

// UnmarshalConfig implements config.Unmarshaler: an integer from 0 to 100
// or a name (HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL,
// LOW, VERY_LOW, LOWEST).
func (p *Priority) UnmarshalConfig(n config.Node) error {
	s, ok := n.Scalar()
	if ok && n.Tag() == "!!int" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 100 {
			return fmt.Errorf("priority %s must lie in [0, 100]", s)
		}
		*p = Priority(v)
		return nil
	}
	if ok && n.Tag() == "!!str" {
		for _, pn := range priorityNames {
			if pn.name == s {
				*p = pn.p
				return nil
			}
		}
	}
	names := make([]string, len(priorityNames))
	for i, pn := range priorityNames {
		names[i] = pn.name
	}
	return fmt.Errorf("priority %s: want an integer from 0 to 100 or one of %s", describe(n), strings.Join(names, ", "))
}

func describe(n config.Node) string {
	if s, ok := n.Scalar(); ok {
		return strconv.Quote(s)
	}
	return "of kind " + n.Kind().String()
}

// PriorityOption is the priority key every hook takes; hook options embed
// it inline, and its default is the hook's mmengine priority.
type PriorityOption struct {
	Value Priority `yaml:"priority"`
}

// Priority implements Hook.
func (o PriorityOption) Priority() Priority { return o.Value }

// HookRegistry holds the hook types configs name under default_hooks and
// custom_hooks: IterTimerHook, LoggerHook, ParamSchedulerHook,
// CheckpointHook, EMAHook, CheckInvalidLossHook and EarlyStoppingHook.
var HookRegistry = config.NewRegistry[Hook](config.Hooks)

// SortHooks orders hooks by priority, keeping the order of hooks of equal
// priority, as mmengine's register_hook does.
func SortHooks(hooks []Hook) {
	slices.SortStableFunc(hooks, func(a, b Hook) int { return int(a.Priority()) - int(b.Priority()) })
}

// hookTypeName is the registry name of a hook, for messages.
func hookTypeName(h Hook) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", h), "*engine.")
}

// defaultHookSlots are the keys of default_hooks with a hook, in the order
// they are added, and the one type each may hold.
var defaultHookSlots = []struct{ key, typ string }{
	{"timer", "IterTimerHook"},
	{"logger", "LoggerHook"},
	{"param_scheduler", "ParamSchedulerHook"},
	{"checkpoint", "CheckpointHook"},
}

// BuildCustomHooks builds custom_hooks, a list of hook mappings each with
// a "type" from HookRegistry and optionally a "priority"; absent or null is
// no hooks. The types of default_hooks are refused here: each has its own
// key there.
func BuildCustomHooks(n config.Node) ([]Hook, error) {
	switch n.Kind() {
	case config.Missing, config.Null:
		return nil, nil
	case config.List:
	default:
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(),
			Msg: fmt.Sprintf("expected a list of hooks, each a mapping with a \"type\" (registered hooks: %s), found a %s", strings.Join(HookRegistry.Names(), ", "), n.Kind())}
	}
	var out []Hook
	for i := 0; i < n.Len(); i++ {
		it := n.Index(i)
		for _, s := range defaultHookSlots {
			if it.Type() == s.typ {
				t := it.Field("type")
				return nil, &config.Error{File: t.File(), Line: t.Line(), Path: t.Path(),
					Msg: fmt.Sprintf("%s is a default hook: configure it under default_hooks.%s, not in custom_hooks", s.typ, s.key)}
			}
		}
		h, err := HookRegistry.Build(it)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
