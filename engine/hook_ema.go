package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// EMAHookOptions are the keys of an EMAHook in custom_hooks (mmengine's
// EMAHook with its ExponentialMovingAverage model).
type EMAHookOptions struct {
	PriorityOption `yaml:",inline"` // default NORMAL; mmdet's YOLOX configs use 49
	// EMAType must be ExponentialMovingAverage (the default).
	EMAType string `yaml:"ema_type"`
	// Momentum is the weight of the current parameters in each update;
	// default 0.0002:
	//
	//	averaged = (1-momentum)·averaged + momentum·param
	Momentum float64 `yaml:"momentum"`
	// Interval updates the average every this many iterations; default 1.
	Interval int `yaml:"interval"`
	// UpdateBuffers averages the buffers (BatchNorm statistics) too;
	// default false: the average keeps the model's buffers.
	UpdateBuffers bool `yaml:"update_buffers"`
	// BeginIter and BeginEpoch delay averaging: before them the average is
	// a copy of the model. Default 0 (from the start); set at most one.
	BeginIter  int `yaml:"begin_iter"`
	BeginEpoch int `yaml:"begin_epoch"`
	// StrictLoad is accepted for mmengine configs: dp always loads the
	// average strictly.
	StrictLoad bool `yaml:"strict_load"`
}

// DefaultEMAHookOptions returns mmengine's defaults.
func DefaultEMAHookOptions() EMAHookOptions {
	return EMAHookOptions{PriorityOption: PriorityOption{Normal}, EMAType: "ExponentialMovingAverage", Momentum: 0.0002, Interval: 1, StrictLoad: true}
}

// EMAHook keeps an exponential moving average of the model's parameters
// (Polyak averaging), updated after every interval-th training iteration
// with mmengine's ExponentialMovingAverage:
//
//	averaged ← averaged + momentum·(param − averaged)   (torch.lerp, in float32)
//
// The first update copies the parameters, and until begin_iter (or
// begin_epoch) every update copies them. Validation runs on the averaged
// weights (they are swapped into the model for it), and every checkpoint
// holds the averaged weights under the model's keys, so dp test, dp infer
// and load_from use them, with the trained weights under "ema_source."
// keys and the update count in the metadata ("ema_steps"): resuming
// restores both, to the bit.
type EMAHook struct {
	BaseHook
	EMAHookOptions
	keys    []string                  // averaged state-dict keys, sorted
	avg     map[string]*tensor.Tensor // the average by key; nil until the first BeforeTrain or load
	steps   int                       // updates made, counting copies before the first average
	swapped bool                      // the model holds the average (during validation)
}

// NewEMAHook checks the options and returns an EMAHook.
func NewEMAHook(o EMAHookOptions) (*EMAHook, error) {
	switch {
	case o.EMAType != "ExponentialMovingAverage":
		return nil, fmt.Errorf("ema_type %q is not supported: dp has ExponentialMovingAverage", o.EMAType)
	case !(o.Momentum > 0 && o.Momentum < 1):
		return nil, fmt.Errorf("momentum %g must lie in (0, 1)", o.Momentum)
	case o.Interval < 1:
		return nil, fmt.Errorf("interval %d must be positive", o.Interval)
	case o.BeginIter < 0 || o.BeginEpoch < 0:
		return nil, fmt.Errorf("begin_iter %d and begin_epoch %d must not be negative", o.BeginIter, o.BeginEpoch)
	case o.BeginIter > 0 && o.BeginEpoch > 0:
		return nil, fmt.Errorf("set begin_iter or begin_epoch, not both")
	}
	return &EMAHook{EMAHookOptions: o}, nil
}

// tracked returns the model's tensors the average covers, by key: the
// parameters, and the buffers too with UpdateBuffers.
func (h *EMAHook) tracked(m nn.Module) map[string]*tensor.Tensor {
	if h.UpdateBuffers {
		return nn.StateDict(m)
	}
	out := map[string]*tensor.Tensor{}
	for _, p := range nn.NamedParams(m) {
		out[p.Name] = p.Param.Value
	}
	return out
}

// init starts the average as a copy of the model.
func (h *EMAHook) init(m nn.Module) {
	src := h.tracked(m)
	h.avg = make(map[string]*tensor.Tensor, len(src))
	h.keys = h.keys[:0]
	for k, t := range src {
		h.avg[k] = t.Clone()
		h.keys = append(h.keys, k)
	}
	sort.Strings(h.keys)
}

// BeforeTrain implements Hook: the average starts as a copy of the model,
// unless a resumed checkpoint restored it.
func (h *EMAHook) BeforeTrain(r *Runner) error {
	if h.avg == nil {
		h.init(r.Model)
	}
	return nil
}

// started reports whether averaging has begun at the iteration that just
// ended (mmengine's _ema_started).
func (h *EMAHook) started(it *TrainIter) bool {
	return it.Iter+1 >= h.BeginIter && it.Epoch+1 >= h.BeginEpoch
}

// AfterTrainIter implements Hook: update the average.
func (h *EMAHook) AfterTrainIter(r *Runner, it *TrainIter) error {
	src := h.tracked(r.Model)
	if !h.started(it) {
		for _, k := range h.keys {
			h.avg[k].CopyFrom(src[k])
		}
		return nil
	}
	h.update(src)
	return nil
}

// update is mmengine's BaseAveragedModel.update_parameters: the first
// update copies, later ones average every Interval updates.
func (h *EMAHook) update(src map[string]*tensor.Tensor) {
	if h.steps == 0 {
		for _, k := range h.keys {
			h.avg[k].CopyFrom(src[k])
		}
	} else if h.steps%h.Interval == 0 {
		m := float32(h.Momentum)
		for _, k := range h.keys {
			lerp(h.avg[k].Data(), src[k].Data(), m)
		}
	}
	h.steps++
}

// lerp sets a to a + w·(b − a), elementwise, as torch.lerp does for a
// weight below 0.5. The conversion keeps the product rounded to float32
// before the addition (no fused multiply-add), so the result does not
// depend on the machine.
func lerp(a, b []float32, w float32) {
	b = b[:len(a)]
	for i := range a {
		a[i] += float32(w * (b[i] - a[i]))
	}
}

// swap exchanges the contents of the average and the model's tensors.
func (h *EMAHook) swap(m nn.Module) {
	src := h.tracked(m)
	for _, k := range h.keys {
		a, b := h.avg[k].Data(), src[k].Data()
		for i := range a {
			a[i], b[i] = b[i], a[i]
		}
	}
	h.swapped = !h.swapped
}

// BeforeVal implements Hook: validate with the average.
func (h *EMAHook) BeforeVal(r *Runner) error {
	if h.avg != nil && !h.swapped {
		h.swap(r.Model)
	}
	return nil
}

// AfterValEpoch implements Hook: put the trained weights back (before
// CheckpointHook, of lower priority, saves).
func (h *EMAHook) AfterValEpoch(r *Runner, _ map[string]float64) error {
	if h.swapped {
		h.swap(r.Model)
	}
	return nil
}

// AfterVal implements Hook.
func (h *EMAHook) AfterVal(r *Runner) error { return h.AfterValEpoch(r, nil) }

// BeforeSaveCheckpoint implements Hook: the model's keys get the average
// and "ema_source." keys the trained weights.
func (h *EMAHook) BeforeSaveCheckpoint(r *Runner, ck *CheckpointState) error {
	if h.avg == nil {
		return nil
	}
	for _, k := range h.keys {
		trained, avg := ck.Tensors[k], h.avg[k]
		if h.swapped {
			trained, avg = avg, trained
		}
		ck.Tensors[k], ck.Tensors[emaSourcePrefix+k] = avg, trained
	}
	ck.Meta["ema_steps"] = strconv.Itoa(h.steps)
	return nil
}

// AfterLoadCheckpoint implements Hook: take the average from the model's
// keys and put the trained weights back under them. A checkpoint saved
// without EMAHook starts the average from the loaded model.
func (h *EMAHook) AfterLoadCheckpoint(r *Runner, ck *CheckpointState) error {
	s, ok := ck.Meta["ema_steps"]
	if !ok {
		h.avg, h.steps = nil, 0
		r.Log.Printf("EMAHook: the checkpoint has no moving average; it starts from the resumed weights\n")
		return nil
	}
	steps, err := strconv.Atoi(s)
	if err != nil || steps < 0 {
		return fmt.Errorf("EMAHook: metadata ema_steps %q is not a count", s)
	}
	want := h.tracked(r.Model)
	h.avg, h.keys = make(map[string]*tensor.Tensor, len(want)), h.keys[:0]
	for k := range want {
		avg, ok1 := ck.Tensors[k]
		src, ok2 := ck.Tensors[emaSourcePrefix+k]
		if !ok1 || !ok2 {
			return fmt.Errorf("EMAHook: %s or %s%s missing (was the checkpoint saved with update_buffers %v?)", k, emaSourcePrefix, k, !h.UpdateBuffers)
		}
		if !tensor.SameShape(avg.Shape(), want[k].Shape()) {
			return fmt.Errorf("EMAHook: %s: shape %v in checkpoint, %v in model", k, avg.Shape(), want[k].Shape())
		}
		h.avg[k] = avg.Clone()
		h.keys = append(h.keys, k)
		ck.Tensors[k] = src
		delete(ck.Tensors, emaSourcePrefix+k)
	}
	sort.Strings(h.keys)
	for k := range ck.Tensors {
		if strings.HasPrefix(k, emaSourcePrefix) {
			return fmt.Errorf("EMAHook: the checkpoint averages %s, which this model does not (update_buffers %v)", strings.TrimPrefix(k, emaSourcePrefix), h.UpdateBuffers)
		}
	}
	h.steps, h.swapped = steps, false
	return nil
}

func init() {
	config.RegisterOptions(HookRegistry, "EMAHook", DefaultEMAHookOptions(),
		func(o EMAHookOptions) (Hook, error) { return NewEMAHook(o) })
}
