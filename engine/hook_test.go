package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// recorder is a hook that appends "name:point" to a shared log.
type recorder struct {
	BaseHook
	PriorityOption
	name string
	log  *[]string
}

func (h *recorder) add(point string) error { *h.log = append(*h.log, h.name+":"+point); return nil }

func (h *recorder) BeforeTrain(*Runner) error                 { return h.add("BeforeTrain") }
func (h *recorder) AfterTrain(*Runner) error                  { return h.add("AfterTrain") }
func (h *recorder) BeforeTrainEpoch(*Runner, int) error       { return h.add("BeforeTrainEpoch") }
func (h *recorder) AfterTrainEpoch(*Runner, int) error        { return h.add("AfterTrainEpoch") }
func (h *recorder) BeforeTrainIter(*Runner, *TrainIter) error { return h.add("BeforeTrainIter") }
func (h *recorder) AfterTrainIter(*Runner, *TrainIter) error  { return h.add("AfterTrainIter") }
func (h *recorder) BeforeVal(*Runner) error                   { return h.add("BeforeVal") }
func (h *recorder) AfterValEpoch(*Runner, map[string]float64) error {
	return h.add("AfterValEpoch")
}
func (h *recorder) AfterVal(*Runner) error { return h.add("AfterVal") }

func TestSortHooks(t *testing.T) {
	tests := []struct {
		prios []Priority
		want  string // names (indices) in run order
	}{
		{[]Priority{Normal, High, Lowest, Highest}, "3 1 0 2"},
		{[]Priority{Normal, Normal, Normal}, "0 1 2"},                   // stable
		{[]Priority{VeryLow, Normal, VeryLow, 49, Normal}, "3 1 4 0 2"}, // stable within equal priorities
		{nil, ""},
	}
	for _, tt := range tests {
		var hooks []Hook
		for i, p := range tt.prios {
			hooks = append(hooks, &recorder{PriorityOption: PriorityOption{p}, name: fmt.Sprint(i)})
		}
		SortHooks(hooks)
		var got []string
		for _, h := range hooks {
			got = append(got, h.(*recorder).name)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("priorities %v: order %q, want %q", tt.prios, strings.Join(got, " "), tt.want)
		}
	}
}

// TestConfigHookOrder builds default_hooks and custom_hooks from a config
// and checks the order the runner calls them in: by priority, then
// default hooks in key order, then custom hooks as listed.
func TestConfigHookOrder(t *testing.T) {
	cfg := parse(t, `train_cfg: {max_epochs: 1}
default_hooks:
  logger: {interval: 5, priority: 45}
  checkpoint: {type: CheckpointHook, priority: HIGHEST}
custom_hooks:
  - {type: CheckInvalidLossHook, interval: 10}
  - {type: EMAHook, priority: 49}
  - {type: EarlyStoppingHook, monitor: coco/bbox_mAP}
  - {type: EMAHook, momentum: 0.001, priority: VERY_LOW}`)
	_, hooks, err := buildLoop(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	custom, err := BuildCustomHooks(cfg.Field("custom_hooks"))
	if err != nil {
		t.Fatal(err)
	}
	hooks = append(hooks, custom...)
	SortHooks(hooks)
	var got []string
	for _, h := range hooks {
		got = append(got, fmt.Sprintf("%s/%v", hookTypeName(h), h.Priority()))
	}
	want := "CheckpointHook/HIGHEST LoggerHook/45 EMAHook/49 IterTimerHook/NORMAL CheckInvalidLossHook/NORMAL ParamSchedulerHook/LOW EMAHook/VERY_LOW EarlyStoppingHook/LOWEST"
	if strings.Join(got, " ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if es := hooks[len(hooks)-1].(*EarlyStoppingHook); es.Monitor != "bbox_mAP" || es.Rule != "greater" {
		t.Errorf("EarlyStoppingHook monitor %q rule %q, want bbox_mAP, greater", es.Monitor, es.Rule)
	}

	// null removes a default hook.
	_, hooks, err = buildLoop(parse(t, "train_cfg: {max_epochs: 1}\ndefault_hooks: {timer: null, logger: null, checkpoint: null}"), nil)
	if err != nil || len(hooks) != 1 || hookTypeName(hooks[0]) != "ParamSchedulerHook" {
		t.Errorf("with timer, logger and checkpoint null: %v, %v; want only ParamSchedulerHook", hooks, err)
	}
}

// TestHookCallOrder runs two epochs of the toy model with recording hooks
// and checks the sequence of points and the priority order within each.
func TestHookCallOrder(t *testing.T) {
	var log []string
	loop := LoopOptions{ByEpoch: true, MaxEpochs: 2, ValInterval: 2, LogInterval: 100}
	r := newToyRunner(t, t.TempDir(), loop)
	r.Hooks = append(defaultHooks(loop),
		&recorder{PriorityOption: PriorityOption{Lowest}, name: "b", log: &log},
		&recorder{PriorityOption: PriorityOption{Highest}, name: "a", log: &log})
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	it := strings.Repeat("a:BeforeTrainIter b:BeforeTrainIter a:AfterTrainIter b:AfterTrainIter ", 6)
	want := "a:BeforeTrain b:BeforeTrain " +
		"a:BeforeTrainEpoch b:BeforeTrainEpoch " + it + "a:AfterTrainEpoch b:AfterTrainEpoch " +
		"a:BeforeTrainEpoch b:BeforeTrainEpoch " + it + "a:AfterTrainEpoch b:AfterTrainEpoch " +
		"a:BeforeVal b:BeforeVal a:AfterValEpoch b:AfterValEpoch a:AfterVal b:AfterVal " +
		"a:AfterTrain b:AfterTrain"
	if got := strings.Join(log, " "); got != strings.TrimSpace(want) {
		t.Errorf("calls:\n got %s\nwant %s", got, want)
	}
}

func TestBuildCustomHooksErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"custom_hooks: [{type: EMAHok}]",
			`config: t.yaml:1: custom_hooks.0.type: registry "hooks" has no type "EMAHok" (did you mean "EMAHook"?); if not a typo, ` + notImported + "; registered hooks: " + strings.Join(HookRegistry.Names(), ", ")},
		{"custom_hooks: [{type: EMAHook, momentun: 0.001}]",
			`config: t.yaml:1: custom_hooks.0.momentun: unknown key "momentun" (did you mean "momentum"?); allowed keys: begin_epoch, begin_iter, ema_type, interval, momentum, priority, strict_load, update_buffers`},
		{"custom_hooks:\n  - {type: CheckInvalidLossHook}\n  - {type: EMAHook, priority: 101}",
			`config: t.yaml:3: custom_hooks.1.priority: priority 101 must lie in [0, 100]`},
		{"custom_hooks: [{type: EMAHook, priority: [1]}]",
			`config: t.yaml:1: custom_hooks.0.priority: priority of kind list: want an integer from 0 to 100 or one of HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST`},
		{"custom_hooks: [{type: EMAHook, momentum: 1.5}]",
			`config: t.yaml:1: custom_hooks.0: building hooks type "EMAHook": momentum 1.5 must lie in (0, 1)`},
		{"custom_hooks: [{type: EMAHook, ema_type: StochasticWeightAverage}]",
			`config: t.yaml:1: custom_hooks.0: building hooks type "EMAHook": ema_type "StochasticWeightAverage" is not supported: dp has ExponentialMovingAverage`},
		{"custom_hooks: [{type: CheckInvalidLossHook, interval: 0}]",
			`config: t.yaml:1: custom_hooks.0: building hooks type "CheckInvalidLossHook": interval 0 must be positive`},
		{"custom_hooks: [{type: EarlyStoppingHook}]",
			`config: t.yaml:1: custom_hooks.0: building hooks type "EarlyStoppingHook": monitor is required: the validation score to watch, e.g. bbox_mAP or mIoU`},
		{"custom_hooks: [{type: EarlyStoppingHook, monitor: score}]",
			`config: t.yaml:1: custom_hooks.0: building hooks type "EarlyStoppingHook": cannot infer rule from monitor "score": set rule: greater or rule: less`},
		{"custom_hooks: [{type: CheckpointHook, interval: 2}]",
			`config: t.yaml:1: custom_hooks.0.type: CheckpointHook is a default hook: configure it under default_hooks.checkpoint, not in custom_hooks`},
		{"custom_hooks: [{priority: 1}]",
			`config: t.yaml:1: custom_hooks.0: missing "type" key: set it to one of the hooks (` + strings.Join(HookRegistry.Names(), ", ") + ")"},
		{"custom_hooks: {type: EMAHook}",
			`config: t.yaml:1: custom_hooks: expected a list of hooks, each a mapping with a "type" (registered hooks: ` + strings.Join(HookRegistry.Names(), ", ") + "), found a mapping"},
	}
	for _, tt := range tests {
		_, err := BuildCustomHooks(parse(t, tt.cfg).Field("custom_hooks"))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
	for _, cfg := range []string{"x: 1", "custom_hooks: null", "custom_hooks: []"} {
		if hooks, err := BuildCustomHooks(parse(t, cfg).Field("custom_hooks")); err != nil || len(hooks) != 0 {
			t.Errorf("%s: %v, %v; want no hooks", cfg, hooks, err)
		}
	}
}

// scalarModel has one parameter p and one buffer b, both of 2 elements.
type scalarModel struct {
	nn.ModuleBase
	p *nn.Var
	b *tensor.Tensor
}

func (m *scalarModel) Loss(*nn.Tape, *datasets.Batch) (*nn.Var, map[string]float64, error) {
	return nil, nil, errors.New("not trainable")
}

func (m *scalarModel) Predict(*nn.Tape, *datasets.Batch) ([]models.Result, error) {
	return nil, errors.New("no predictions")
}

func newScalarModel() *scalarModel {
	m := &scalarModel{}
	m.p = m.RegisterParam("p", nn.NewParam(tensor.New(2)))
	m.b = m.RegisterBuffer("b", tensor.New(2))
	return m
}

// TestEMAMath drives EMAHook by hand and compares its average with the
// formula worked out on paper (momentum 1/4, so every value is exact).
func TestEMAMath(t *testing.T) {
	type step struct {
		p, b    [2]float32 // the model after the iteration
		avgP    [2]float32 // the average after the hook
		avgBufs [2]float32 // the averaged buffer (update_buffers)
	}
	tests := []struct {
		name  string
		opts  func(*EMAHookOptions)
		steps []step
	}{
		{"momentum 1/4", func(*EMAHookOptions) {}, []step{
			{p: [2]float32{4, 8}, avgP: [2]float32{4, 8}},  // first update copies
			{p: [2]float32{8, 0}, avgP: [2]float32{5, 6}},  // 4+(8-4)/4, 8+(0-8)/4
			{p: [2]float32{1, 2}, avgP: [2]float32{4, 5}},  // 5+(1-5)/4, 6+(2-6)/4
			{p: [2]float32{-4, 9}, avgP: [2]float32{2, 6}}, // 4+(-8)/4, 5+4/4
		}},
		{"interval 2", func(o *EMAHookOptions) { o.Interval = 2 }, []step{
			{p: [2]float32{4, 8}, avgP: [2]float32{4, 8}}, // steps 0: copy
			{p: [2]float32{8, 0}, avgP: [2]float32{4, 8}}, // steps 1: skipped
			{p: [2]float32{8, 0}, avgP: [2]float32{5, 6}}, // steps 2: averaged
		}},
		{"begin_iter 3", func(o *EMAHookOptions) { o.BeginIter = 3 }, []step{
			{p: [2]float32{4, 8}, avgP: [2]float32{4, 8}}, // iteration 1: copy
			{p: [2]float32{8, 0}, avgP: [2]float32{8, 0}}, // iteration 2: copy
			{p: [2]float32{0, 4}, avgP: [2]float32{0, 4}}, // iteration 3: first update copies
			{p: [2]float32{4, 0}, avgP: [2]float32{1, 3}},
		}},
		{"update_buffers", func(o *EMAHookOptions) { o.UpdateBuffers = true }, []step{
			{p: [2]float32{4, 8}, b: [2]float32{0, 4}, avgP: [2]float32{4, 8}, avgBufs: [2]float32{0, 4}},
			{p: [2]float32{8, 0}, b: [2]float32{4, 0}, avgP: [2]float32{5, 6}, avgBufs: [2]float32{1, 3}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultEMAHookOptions()
			o.Momentum = 0.25
			tt.opts(&o)
			h, err := NewEMAHook(o)
			if err != nil {
				t.Fatal(err)
			}
			m := newScalarModel()
			r := &Runner{Model: m}
			if err := h.BeforeTrain(r); err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				copy(m.p.Data(), s.p[:])
				copy(m.b.Data(), s.b[:])
				if err := h.AfterTrainIter(r, &TrainIter{Iter: i}); err != nil {
					t.Fatal(err)
				}
				if got := h.avg["p"].Data(); got[0] != s.avgP[0] || got[1] != s.avgP[1] {
					t.Errorf("iteration %d: average of p %v, want %v", i+1, got, s.avgP)
				}
				if o.UpdateBuffers {
					if got := h.avg["b"].Data(); got[0] != s.avgBufs[0] || got[1] != s.avgBufs[1] {
						t.Errorf("iteration %d: average of b %v, want %v", i+1, got, s.avgBufs)
					}
				} else if _, ok := h.avg["b"]; ok {
					t.Errorf("buffer averaged without update_buffers")
				}
			}
			// Validation sees the average and gives the model back intact.
			last := tt.steps[len(tt.steps)-1]
			h.BeforeVal(r)
			if got := m.p.Data(); got[0] != last.avgP[0] || got[1] != last.avgP[1] {
				t.Errorf("during validation p = %v, want the average %v", got, last.avgP)
			}
			h.AfterValEpoch(r, nil)
			h.AfterVal(r)
			if got := m.p.Data(); got[0] != last.p[0] || got[1] != last.p[1] {
				t.Errorf("after validation p = %v, want the trained %v", got, last.p)
			}
		})
	}
}

// lossyModel is the toy model whose reported loss terms or parameters go
// bad at a chosen iteration (1-based), counted by Loss calls.
type lossyModel struct {
	*toyModel
	calls    int
	badAt    int
	badParam bool
}

func (m *lossyModel) Loss(tp *nn.Tape, b *datasets.Batch) (*nn.Var, map[string]float64, error) {
	loss, parts, err := m.toyModel.Loss(tp, b)
	m.calls++
	if m.calls == m.badAt {
		if m.badParam {
			m.fc.Weight.Data()[5] = float32(math.Inf(1))
		} else {
			parts["loss_aux"] = math.NaN()
		}
	}
	return loss, parts, err
}

func TestCheckInvalidLossHook(t *testing.T) {
	tests := []struct {
		name     string
		interval int
		badAt    int
		badParam bool
		want     string
	}{
		{"NaN term", 1, 3, false, "engine: CheckInvalidLossHook: iteration 3: loss_aux is NaN; lower the learning rate, set optim_wrapper.clip_grad, or check the data"},
		{"NaN term off interval", 2, 3, false, ""},
		{"NaN term on interval", 3, 3, false, "engine: CheckInvalidLossHook: iteration 3: loss_aux is NaN; lower the learning rate, set optim_wrapper.clip_grad, or check the data"},
		{"infinite weight", 2, 4, true, "engine: CheckInvalidLossHook: iteration 4: parameter fc.weight holds "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop := LoopOptions{MaxIters: 5, LogInterval: 100}
			r := newToyRunner(t, t.TempDir(), loop)
			r.ValLoader = nil
			r.Model = &lossyModel{toyModel: r.Model.(*toyModel), badAt: tt.badAt, badParam: tt.badParam}
			h, err := NewCheckInvalidLossHook(CheckInvalidLossHookOptions{PriorityOption{Normal}, tt.interval})
			if err != nil {
				t.Fatal(err)
			}
			r.Hooks = append(defaultHooks(loop), h)
			err = r.Train(context.Background(), nil)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("err = %v\nwant %s...", err, tt.want)
			}
		})
	}
}

// emaRunner is newToyRunner with an EMAHook (momentum 0.1, so the average
// differs from the weights visibly within a few iterations).
func emaRunner(t *testing.T, dir string, loop LoopOptions) (*Runner, *EMAHook) {
	t.Helper()
	r := newToyRunner(t, dir, loop)
	o := DefaultEMAHookOptions()
	o.Momentum = 0.1
	h, err := NewEMAHook(o)
	if err != nil {
		t.Fatal(err)
	}
	r.Hooks = append(defaultHooks(loop), h)
	return r, h
}

// TestEMAResumeBitExact trains with EMAHook straight and interrupted then
// resumed: losses, weights and the average must agree to the bit; the
// checkpoint's model keys hold the average; resuming it without EMAHook is
// an error that says what to do.
func TestEMAResumeBitExact(t *testing.T) {
	loop := LoopOptions{ByEpoch: true, MaxEpochs: 3, ValInterval: 1, LogInterval: 2, SaveBest: "accuracy_top1"}
	straight := map[int]float32{}
	ra, ha := emaRunner(t, t.TempDir(), loop)
	if err := ra.Train(context.Background(), func(i int, l float32) { straight[i] = l }); err != nil {
		t.Fatal(err)
	}

	dirB := t.TempDir()
	rb, _ := emaRunner(t, dirB, loop)
	got, last, err := trainInterrupted(t, rb, 7)
	if err != nil {
		t.Fatal(err)
	}

	plain := newToyRunner(t, t.TempDir(), loop)
	if err := plain.Resume(last); err == nil || !strings.Contains(err.Error(), "saved with EMAHook (keys ema_source.*): add {type: EMAHook} to custom_hooks") {
		t.Errorf("resuming an EMA checkpoint without EMAHook: %v", err)
	}

	rc, hc := emaRunner(t, dirB, loop)
	resumeMatches(t, rc, last, got, straight, 18)
	for k, v := range nn.StateDict(ra.Model) {
		if d := tensor.MaxAbsDiff(v, nn.StateDict(rc.Model)[k]); d != 0 {
			t.Errorf("weight %s differs by %g after resume", k, d)
		}
	}
	if ha.steps != 18 || hc.steps != 18 {
		t.Errorf("EMA steps %d and %d, want 18", ha.steps, hc.steps)
	}
	for k, v := range ha.avg {
		if d := tensor.MaxAbsDiff(v, hc.avg[k]); d != 0 {
			t.Errorf("average of %s differs by %g after resume", k, d)
		}
		if d := tensor.MaxAbsDiff(v, nn.StateDict(ra.Model)[k]); d == 0 {
			t.Errorf("average of %s equals the weights: nothing was averaged", k)
		}
	}

	// The final checkpoint: model keys hold the average, ema_source.* the
	// weights; LoadWeights (dp test, load_from) takes the average.
	final := filepath.Join(dirB, "epoch_3.safetensors")
	if _, err := os.Stat(final); err != nil {
		t.Fatal(err)
	}
	m := newToyModel()
	if _, err := LoadWeights(final, m, true); err != nil {
		t.Fatal(err)
	}
	for k, v := range nn.StateDict(m) {
		if d := tensor.MaxAbsDiff(v, ha.avg[k]); d != 0 {
			t.Errorf("checkpoint %s is not the average (differs by %g)", k, d)
		}
	}
	// Validation scores the average: the straight run's last validation
	// equals a validation of a model holding the average.
	want, err := ra.Validate("test")
	if err != nil {
		t.Fatal(err)
	}
	rd := newToyRunner(t, t.TempDir(), loop)
	rd.Model = m
	gotScores, err := rd.Validate("test")
	if err != nil {
		t.Fatal(err)
	}
	if gotScores["accuracy_top1"] != want["accuracy_top1"] {
		t.Errorf("validation with EMAHook %v, of the averaged weights %v", want, gotScores)
	}
}

func TestEarlyStoppingHook(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*EarlyStoppingHookOptions)
		scores []float64
		stopAt int // 1-based validation that stops; 0 for none
	}{
		{"patience 2", func(o *EarlyStoppingHookOptions) { o.Patience = 2 }, []float64{0.5, 0.55, 0.62, 0.6, 0.625, 0.7}, 5},
		{"improves", func(o *EarlyStoppingHookOptions) { o.Patience = 1 }, []float64{0.1, 0.2, 0.3, 0.4}, 0},
		{"min_delta", func(o *EarlyStoppingHookOptions) { o.Patience = 1; o.MinDelta = 0.2 }, []float64{0.1, 0.2}, 2},
		{"less", func(o *EarlyStoppingHookOptions) { o.Monitor = "loss"; o.Patience = 1; o.MinDelta = 0 }, []float64{3, 2, 2.5}, 3},
		{"not finite", func(*EarlyStoppingHookOptions) {}, []float64{0.1, math.NaN()}, 2},
		{"threshold", func(o *EarlyStoppingHookOptions) { o.StoppingThreshold = new(float64); *o.StoppingThreshold = 0.5 }, []float64{0.1, 0.4, 0.6}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultEarlyStoppingHookOptions()
			o.Monitor, o.MinDelta = "mIoU", 0.01
			tt.opts(&o)
			h, err := NewEarlyStoppingHook(o)
			if err != nil {
				t.Fatal(err)
			}
			r := &Runner{}
			stopAt := 0
			for i, s := range tt.scores {
				if err := h.AfterValEpoch(r, map[string]float64{h.Monitor: s}); err != nil {
					t.Fatal(err)
				}
				if r.stop != "" {
					stopAt = i + 1
					break
				}
			}
			if stopAt != tt.stopAt {
				t.Errorf("stopped at validation %d (%q), want %d", stopAt, r.stop, tt.stopAt)
			}
		})
	}

	// End to end: accuracy cannot rise by 2, so the run stops after the
	// second validation, saves its state and returns normally.
	dir := t.TempDir()
	loop := LoopOptions{ByEpoch: true, MaxEpochs: 5, ValInterval: 1, LogInterval: 100}
	r := newToyRunner(t, dir, loop)
	o := DefaultEarlyStoppingHookOptions()
	o.Monitor, o.MinDelta, o.Patience = "accuracy_top1", 2, 1
	h, err := NewEarlyStoppingHook(o)
	if err != nil {
		t.Fatal(err)
	}
	r.Hooks = append(defaultHooks(loop), h)
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if r.Position().Epoch != 2 {
		t.Errorf("stopped at %+v, want after epoch 2", r.Position())
	}
	if last, err := LastCheckpoint(dir); err != nil || filepath.Base(last) != "epoch_2.safetensors" {
		t.Errorf("last checkpoint %q, %v; want epoch_2.safetensors", last, err)
	}
}
