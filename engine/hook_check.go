package engine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
)

// CheckInvalidLossHookOptions are the keys of a CheckInvalidLossHook in
// custom_hooks (mmdet's).
type CheckInvalidLossHookOptions struct {
	PriorityOption `yaml:",inline"` // default NORMAL
	// Interval checks after every this many iterations; default 50.
	Interval int `yaml:"interval"`
}

// CheckInvalidLossHook stops training with an error naming the iteration
// when, after an iteration that ends an interval, a logged loss term or the
// gradient norm is NaN or infinite, or a parameter holds a NaN or an
// infinity (an update that diverged while the loss was still finite).
//
// The runner itself refuses, at every iteration, to apply an update from
// a non-finite total loss, naming the iteration and the loss terms; this
// hook catches what a finite total hides, before it spreads through the
// next forward pass.
type CheckInvalidLossHook struct {
	BaseHook
	CheckInvalidLossHookOptions
}

// NewCheckInvalidLossHook checks the options and returns the hook.
func NewCheckInvalidLossHook(o CheckInvalidLossHookOptions) (*CheckInvalidLossHook, error) {
	if o.Interval < 1 {
		return nil, fmt.Errorf("interval %d must be positive", o.Interval)
	}
	return &CheckInvalidLossHook{CheckInvalidLossHookOptions: o}, nil
}

// AfterTrainIter implements Hook.
func (h *CheckInvalidLossHook) AfterTrainIter(r *Runner, it *TrainIter) error {
	if (it.Iter+1)%h.Interval != 0 {
		return nil
	}
	const fix = "lower the learning rate, set optim_wrapper.clip_grad, or check the data"
	if bad(float64(it.Loss)) {
		return fmt.Errorf("engine: CheckInvalidLossHook: iteration %d: the loss is %v; %s", it.Iter+1, it.Loss, fix)
	}
	keys := make([]string, 0, len(it.Values))
	for k := range it.Values {
		if strings.HasPrefix(k, "loss") || k == "grad_norm" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := it.Values[k]; bad(v) {
			return fmt.Errorf("engine: CheckInvalidLossHook: iteration %d: %s is %v; %s", it.Iter+1, k, v, fix)
		}
	}
	for _, p := range nn.NamedParams(r.Model) {
		for _, v := range p.Param.Data() {
			if bad(float64(v)) {
				return fmt.Errorf("engine: CheckInvalidLossHook: iteration %d: parameter %s holds %v after the update (the loss was %v); %s",
					it.Iter+1, p.Name, v, it.Loss, fix)
			}
		}
	}
	return nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// EarlyStoppingHookOptions are the keys of an EarlyStoppingHook in
// custom_hooks (mmengine's).
type EarlyStoppingHookOptions struct {
	PriorityOption `yaml:",inline"` // default LOWEST
	// Monitor is the validation score to watch (required); an mmengine
	// prefix such as "coco/" is dropped.
	Monitor string `yaml:"monitor"`
	// Rule is "greater" or "less"; default inferred from Monitor as
	// mmengine does: greater for accuracy-like names (acc, top, AR@, auc,
	// precision, mAP, mDice, mIoU, mAcc, aAcc), less for loss.
	Rule string `yaml:"rule"`
	// MinDelta is the least change that counts as an improvement; default
	// 0.1.
	MinDelta float64 `yaml:"min_delta"`
	// Strict makes a validation without Monitor an error; default false
	// (the validation is skipped with a warning).
	Strict bool `yaml:"strict"`
	// CheckFinite stops when the score is NaN or infinite; default true.
	CheckFinite bool `yaml:"check_finite"`
	// Patience is how many validations without improvement stop training;
	// default 5.
	Patience int `yaml:"patience"`
	// StoppingThreshold, if set, stops as soon as the score is better than
	// it.
	StoppingThreshold *float64 `yaml:"stopping_threshold"`
}

// DefaultEarlyStoppingHookOptions returns mmengine's defaults.
func DefaultEarlyStoppingHookOptions() EarlyStoppingHookOptions {
	return EarlyStoppingHookOptions{PriorityOption: PriorityOption{Lowest}, MinDelta: 0.1, CheckFinite: true, Patience: 5}
}

// EarlyStoppingHook stops training when the monitored validation score has
// not improved by min_delta for patience validations, or is not finite, or
// passes stopping_threshold, as mmengine's. The runner then saves a
// checkpoint (if the position has none yet) and Train returns normally.
// Its best score and count are kept in checkpoints, so a resumed run
// stops where the uninterrupted one would.
type EarlyStoppingHook struct {
	BaseHook
	EarlyStoppingHookOptions
	best float64 // best score so far; -Inf (greater) or +Inf (less) before the first
	wait int     // validations since the last improvement
}

// earlyStoppingGreater and earlyStoppingLess are mmengine's name parts
// that choose the rule when none is given.
var (
	earlyStoppingGreater = []string{"acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"}
	earlyStoppingLess    = []string{"loss"}
)

// NewEarlyStoppingHook checks the options, infers the rule if unset, and
// returns the hook.
func NewEarlyStoppingHook(o EarlyStoppingHookOptions) (*EarlyStoppingHook, error) {
	if i := strings.LastIndex(o.Monitor, "/"); i >= 0 {
		o.Monitor = o.Monitor[i+1:]
	}
	if o.Monitor == "" {
		return nil, fmt.Errorf("monitor is required: the validation score to watch, e.g. bbox_mAP or mIoU")
	}
	if o.Rule == "" {
		for _, k := range earlyStoppingGreater {
			if strings.Contains(o.Monitor, k) {
				o.Rule = "greater"
				break
			}
		}
		for _, k := range earlyStoppingLess {
			if o.Rule == "" && strings.Contains(o.Monitor, k) {
				o.Rule = "less"
			}
		}
		if o.Rule == "" {
			return nil, fmt.Errorf("cannot infer rule from monitor %q: set rule: greater or rule: less", o.Monitor)
		}
	}
	if o.Rule != "greater" && o.Rule != "less" {
		return nil, fmt.Errorf("rule %q: want greater or less", o.Rule)
	}
	if o.MinDelta < 0 {
		return nil, fmt.Errorf("min_delta %g must not be negative", o.MinDelta)
	}
	if o.Patience < 1 {
		return nil, fmt.Errorf("patience %d must be positive", o.Patience)
	}
	h := &EarlyStoppingHook{EarlyStoppingHookOptions: o}
	h.reset()
	return h, nil
}

func (h *EarlyStoppingHook) reset() {
	h.best, h.wait = math.Inf(-1), 0
	if h.Rule == "less" {
		h.best = math.Inf(1)
	}
}

// better reports whether a beats b under the rule.
func (h *EarlyStoppingHook) better(a, b float64) bool {
	if h.Rule == "less" {
		return a < b
	}
	return a > b
}

// AfterValEpoch implements Hook.
func (h *EarlyStoppingHook) AfterValEpoch(r *Runner, scores map[string]float64) error {
	v, ok := scores[h.Monitor]
	if !ok {
		if h.Strict {
			return fmt.Errorf("engine: EarlyStoppingHook: monitor %q is not among the scores (%s)", h.Monitor, keysOf(scores))
		}
		r.Log.Printf("warning: EarlyStoppingHook: monitor %q is not among the scores (%s); skipped\n", h.Monitor, keysOf(scores))
		return nil
	}
	delta := h.MinDelta
	if h.Rule == "less" {
		delta = -delta
	}
	switch {
	case h.CheckFinite && bad(v):
		r.StopTraining(fmt.Sprintf("%s is %v (best so far %.4f)", h.Monitor, v, h.best))
	case h.StoppingThreshold != nil && h.better(v, *h.StoppingThreshold):
		r.StopTraining(fmt.Sprintf("%s %.4f passed stopping_threshold %g", h.Monitor, v, *h.StoppingThreshold))
	case h.better(h.best+delta, v):
		if h.wait++; h.wait >= h.Patience {
			r.StopTraining(fmt.Sprintf("%s has not improved by min_delta %g in %d validations (best %.4f)", h.Monitor, h.MinDelta, h.wait, h.best))
		}
	default:
		h.best, h.wait = v, 0
	}
	return nil
}

// BeforeTrain implements Hook: a fresh run starts from no best score.
func (h *EarlyStoppingHook) BeforeTrain(r *Runner) error {
	if r.pos == (Position{}) {
		h.reset()
	}
	return nil
}

// BeforeSaveCheckpoint implements Hook: keep the best score and count.
func (h *EarlyStoppingHook) BeforeSaveCheckpoint(_ *Runner, ck *CheckpointState) error {
	ck.Meta["early_stopping_best"] = strconv.FormatFloat(h.best, 'g', -1, 64)
	ck.Meta["early_stopping_wait"] = strconv.Itoa(h.wait)
	return nil
}

// AfterLoadCheckpoint implements Hook: restore the best score and count
// (a checkpoint without them starts afresh).
func (h *EarlyStoppingHook) AfterLoadCheckpoint(_ *Runner, ck *CheckpointState) error {
	bs, ok1 := ck.Meta["early_stopping_best"]
	ws, ok2 := ck.Meta["early_stopping_wait"]
	if !ok1 || !ok2 {
		h.reset()
		return nil
	}
	best, err1 := strconv.ParseFloat(bs, 64)
	wait, err2 := strconv.Atoi(ws)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("EarlyStoppingHook: metadata early_stopping_best %q, early_stopping_wait %q are not numbers", bs, ws)
	}
	h.best, h.wait = best, wait
	return nil
}

func init() {
	config.RegisterOptions(HookRegistry, "CheckInvalidLossHook", CheckInvalidLossHookOptions{PriorityOption: PriorityOption{Normal}, Interval: 50},
		func(o CheckInvalidLossHookOptions) (Hook, error) { return NewCheckInvalidLossHook(o) })
	config.RegisterOptions(HookRegistry, "EarlyStoppingHook", DefaultEarlyStoppingHookOptions(),
		func(o EarlyStoppingHookOptions) (Hook, error) { return NewEarlyStoppingHook(o) })
}
