package engine

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

func parse(t *testing.T, text string) config.Node {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const notImported = "the package that registers it may not be imported: add a blank import of it (import _ \"path/to/pkg\") to the main package"

func TestBuildOptimizerErrors(t *testing.T) {
	m := nn.NewLinear(4, 2, tensor.NewRNG(1), nn.LinearOptions{})
	tests := []struct{ cfg, want string }{
		{"optim_wrapper: {optimizer: {type: SDG, lr: 0.1}}",
			`config: t.yaml:1: optim_wrapper.optimizer.type: registry "optimizers" has no type "SDG" (did you mean "SGD"?); if not a typo, ` + notImported + "; registered optimizers: AdamW, LAMB, SGD"},
		{"optim_wrapper: {optimizer: {type: SGD, lr: 0.1, momentun: 0.9}}",
			`config: t.yaml:1: optim_wrapper.optimizer.momentun: unknown key "momentun" (did you mean "momentum"?); allowed keys: dampening, lr, momentum, nesterov, weight_decay`},
		{"optim_wrapper: {optimizer: {type: SGD}}",
			`config: t.yaml:1: optim_wrapper.optimizer: building optimizers type "SGD": lr is required and must be positive, got 0`},
		{"optim_wrapper: {optimizer: {type: SGD, lr: 0.1, nesterov: true}}",
			`config: t.yaml:1: optim_wrapper.optimizer: building optimizers type "SGD": nesterov needs momentum > 0 and dampening 0 (got momentum 0, dampening 0)`},
		{"optim_wrapper: {optimizer: {type: AdamW, lr: 0.1, betas: [0.9]}}",
			`config: t.yaml:1: optim_wrapper.optimizer.betas: expected a list of 2 items, found a list of 1 item`},
		{"optim_wrapper: {type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.1}}",
			`config: t.yaml:1: optim_wrapper.type: optim_wrapper type "AmpOptimWrapper" is not supported: dp has only OptimWrapper (float32, no loss scaling)`},
		{"optim_wrapper: {optimizer: {type: AdamW, lr: 0.1}, clip_grad: {max_norm: 1, norm_type: 1}}",
			`config: t.yaml:1: optim_wrapper.clip_grad.norm_type: norm_type 1 is not supported: only the L2 norm (2)`},
		{"optim_wrapper: {optimizer: {type: AdamW, lr: 0.1}, paramwise_cfg: {custom_key: {}}}",
			`config: t.yaml:1: optim_wrapper.paramwise_cfg.custom_key: unknown key "custom_key" (did you mean "custom_keys"?); allowed keys: bias_decay_mult, custom_keys, norm_decay_mult`},
		{"x: 1",
			`engine: the config has no optim_wrapper: add one, e.g. optim_wrapper: {optimizer: {type: SGD, lr: 0.02, momentum: 0.9, weight_decay: 0.0001}}`},
	}
	for _, tt := range tests {
		_, _, err := BuildOptimizer(parse(t, tt.cfg).Field("optim_wrapper"), m)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
}

func TestBuildOptimizer(t *testing.T) {
	m := nn.NewLinear(4, 2, tensor.NewRNG(1), nn.LinearOptions{})
	cfg := parse(t, `optim_wrapper:
  optimizer: {type: SGD, lr: 0.5, momentum: 0.9, weight_decay: 0.01}
  paramwise_cfg: {bias_decay_mult: 0}
  clip_grad: {max_norm: 3}`)
	opt, clip, err := BuildOptimizer(cfg.Field("optim_wrapper"), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := opt.(*optim.SGD); !ok || clip != 3 {
		t.Fatalf("got %T, clip %g; want *optim.SGD, 3", opt, clip)
	}
	g := opt.Groups()
	if len(g) != 2 || g[0].BaseLR != 0.5 || g[0].WeightDecay != 0.01 || g[1].WeightDecay != 0 || g[1].Params[0].Name != "bias" {
		t.Errorf("groups: %+v, %+v; want weight with decay 0.01, bias without", *g[0], *g[1])
	}
}

func TestBuildScheduleErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"param_scheduler: [{type: StepLR}]",
			`config: t.yaml:1: param_scheduler.0: optim: StepLR needs step_size > 0, got 0`},
		{"param_scheduler: [{type: LinearLR, end: 5}, {type: MultiStepLR, milestone: [8]}]",
			`config: t.yaml:1: param_scheduler.1.milestone: unknown key "milestone" (did you mean "milestones"?); allowed keys: begin, by_epoch, convert_to_iter_based, end, gamma, milestones`},
		{"param_scheduler: [{type: MultiStepLR}]",
			`config: t.yaml:1: param_scheduler.0: building schedules type "MultiStepLR": milestones is required: the epochs (or iterations) at which the lr is multiplied by gamma`},
		{"param_scheduler: [{type: MultiStepLR, milestones: [8, 3]}]",
			`config: t.yaml:1: param_scheduler.0: building schedules type "MultiStepLR": milestones [8 3] must increase`},
		{"param_scheduler: [{type: CosineLR}]",
			`config: t.yaml:1: param_scheduler.0.type: registry "schedules" has no type "CosineLR"; ` + notImported + "; registered schedules: ConstantLR, CosineAnnealingLR, LinearLR, MultiStepLR, PolyLR, StepLR"},
		{"param_scheduler: [{type: PolyLR, begin: 10, end: 5}]",
			`config: t.yaml:1: param_scheduler.0: optim: PolyLR: end 5 must be after begin 10`},
		{"param_scheduler: {type: ConstantLR, factor: 2}",
			`config: t.yaml:1: param_scheduler: building schedules type "ConstantLR": factor 2 must lie in (0, 1]`},
		{"param_scheduler: [{type: LinearLR, start_factor: 0}]",
			`config: t.yaml:1: param_scheduler.0: building schedules type "LinearLR": start_factor 0 and end_factor 1 must lie in (0, 1] and [0, 1]`},
		{"param_scheduler: 3",
			`config: t.yaml:1: param_scheduler: expected a list of schedulers, each a mapping with a "type"`},
	}
	for _, tt := range tests {
		_, err := BuildSchedule(parse(t, tt.cfg).Field("param_scheduler"))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
}

// TestBuildScheduleDefaults checks mmengine's defaults: by_epoch true,
// LinearLR from 1/3, gamma 0.1.
func TestBuildScheduleDefaults(t *testing.T) {
	s, err := BuildSchedule(parse(t, `param_scheduler:
  - {type: LinearLR, by_epoch: false, end: 10}
  - {type: MultiStepLR, milestones: [2, 4]}`).Field("param_scheduler"))
	if err != nil {
		t.Fatal(err)
	}
	want := []optim.Scheduler{
		{Type: "LinearLR", End: 10, StartFac: 1.0 / 3, EndFac: 1},
		{Type: "MultiStepLR", ByEpoch: true, Milestones: []float64{2, 4}, Gamma: 0.1},
	}
	for i, r := range s.Rules {
		if r.Type != want[i].Type || r.ByEpoch != want[i].ByEpoch || r.End != want[i].End || r.StartFac != want[i].StartFac ||
			r.EndFac != want[i].EndFac || r.Gamma != want[i].Gamma || len(r.Milestones) != len(want[i].Milestones) {
			t.Errorf("rule %d: %+v, want %+v", i, r, want[i])
		}
	}
	s.MaxEpochs, s.MaxIters = 6, 60
	if f := s.Factor(0, 0, 1); f != 1.0/3 {
		t.Errorf("factor at iteration 0: %v, want 1/3", f)
	}
	if f := s.Factor(50, 4, 1); f != math.Pow(0.1, 2) {
		t.Errorf("factor in epoch 5: %v, want 0.01", f)
	}
}

func TestBuildMetricErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"val_evaluator: {type: CocoMetrics, ann_file: a.json}",
			`config: t.yaml:1: val_evaluator.type: registry "metrics" has no type "CocoMetrics" (did you mean "CocoMetric"?); if not a typo, ` + notImported + "; registered metrics: " + strings.Join(MetricRegistry.Names(), ", ")},
		{"val_evaluator: {type: Accuracy, top_k: [1]}",
			`config: t.yaml:1: val_evaluator.top_k: unknown key "top_k" (did you mean "topk"?); allowed keys: topk`},
		{"val_evaluator: {type: CocoMetric}",
			`config: t.yaml:1: val_evaluator.ann_file: CocoMetric needs ann_file: the ground-truth instances JSON`},
		{"val_evaluator: {type: CocoMetric, ann_file: a.json, metrics: [bbox]}",
			`config: t.yaml:1: val_evaluator.metrics: unknown key "metrics" (did you mean "metric"?); allowed keys: ann_file, classwise, metric, type`},
		{"val_evaluator: [{type: CocoMetric, ann_file: missing.json}]",
			`config: t.yaml:1: val_evaluator.0: building metrics type "CocoMetric": coco: open missing.json: no such file or directory`},
		{"val_evaluator: 1",
			`config: t.yaml:1: val_evaluator: expected a metric mapping with a "type" (or a list of them)`},
	}
	for _, tt := range tests {
		_, err := BuildMetrics(parse(t, tt.cfg).Field("val_evaluator"), config.Node{}, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
}

func TestResolveAnnFile(t *testing.T) {
	for _, tt := range []struct{ ann, root, want string }{
		{"annotations/a.json", "data/coco/", "data/coco/annotations/a.json"},
		{"data/coco/annotations/a.json", "data/coco/", "data/coco/annotations/a.json"},
		{"/abs/a.json", "data/coco", "/abs/a.json"},
		{"a.json", "", "a.json"},
	} {
		if got := resolveAnnFile(tt.ann, tt.root); got != tt.want {
			t.Errorf("resolveAnnFile(%q, %q) = %q, want %q", tt.ann, tt.root, got, tt.want)
		}
	}
}

func TestBuildLoopErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"x: 1",
			`config: t.yaml: train_cfg: missing: add train_cfg: {type: EpochBasedTrainLoop, max_epochs: 12, val_interval: 1} or {type: IterBasedTrainLoop, max_iters: 80000, val_interval: 8000}`},
		{"train_cfg: {type: EpochBasedTrainLoop}",
			`config: t.yaml:1: train_cfg.max_epochs: an epoch-based loop needs max_epochs > 0, got 0`},
		{"train_cfg: {type: IterBasedTrainLoop, max_iters: 10, max_epochs: 3}",
			`config: t.yaml:1: train_cfg.max_epochs: an iteration-based loop takes max_iters, not max_epochs (use type: EpochBasedTrainLoop to count epochs)`},
		{"train_cfg: {type: EpochLoop, max_epochs: 3}",
			`config: t.yaml:1: train_cfg.type: unknown train loop "EpochLoop": want EpochBasedTrainLoop or IterBasedTrainLoop`},
		{"train_cfg: {max_epochs: 3, val_begin: 2}",
			`config: t.yaml:1: train_cfg.val_begin: unknown key "val_begin"; allowed keys: by_epoch, max_epochs, max_iters, type, val_interval`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {checkpoint: {save_best: auto}}",
			`config: t.yaml:2: default_hooks.checkpoint.save_best: save_best: auto needs a val_evaluator to take the metric from`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {logger: {type: TextLoggerHook}}",
			`config: t.yaml:2: default_hooks.logger.type: registry "hooks" has no type "TextLoggerHook" (did you mean "LoggerHook"?); if not a typo, ` + notImported + "; registered hooks: " + strings.Join(HookRegistry.Names(), ", ")},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {logger: {type: CheckpointHook}}",
			`config: t.yaml:2: default_hooks.logger.type: hook type "CheckpointHook": default_hooks.logger must be LoggerHook (add other hooks to custom_hooks)`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {logger: {interval: 0}}",
			`config: t.yaml:2: default_hooks.logger.interval: interval 0 must be positive`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {logger: {priority: SUPER}}",
			`config: t.yaml:2: default_hooks.logger.priority: priority "SUPER": want an integer from 0 to 100 or one of HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {param_scheduler: null}",
			`config: t.yaml:2: default_hooks.param_scheduler: ParamSchedulerHook cannot be removed: it applies param_scheduler; for a fixed learning rate use param_scheduler: [{type: ConstantLR, factor: 1}]`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {sampler_seed: {type: InfiniteSampler}}",
			`config: t.yaml:2: default_hooks.sampler_seed.type: hook type "InfiniteSampler": default_hooks.sampler_seed must be DistSamplerSeedHook`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {runtime_info: {type: RuntimeInfoHook}}",
			`config: t.yaml:2: default_hooks.runtime_info: unknown key "runtime_info"; allowed keys: checkpoint, logger, param_scheduler, sampler_seed, timer, visualization`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {checkpoint: {by_epoch: false}}",
			`config: t.yaml:2: default_hooks.checkpoint.by_epoch: by_epoch false disagrees with the train loop (by_epoch true): checkpoints follow the loop's unit`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {checkpoint: {intervall: 2}}",
			`config: t.yaml:2: default_hooks.checkpoint.intervall: unknown key "intervall" (did you mean "interval"?); allowed keys: by_epoch, interval, max_keep_ckpts, priority, rule, save_best, save_last`},
		{"train_cfg: {max_epochs: 3}\ndefault_hooks: {checkpoint: {rule: less}}",
			`config: t.yaml:2: default_hooks.checkpoint.rule: rule "less" is not supported: dp's metrics are all scores, kept by rule greater`},
	}
	for _, tt := range tests {
		_, err := BuildLoop(parse(t, tt.cfg), nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
}

func TestBuildLoop(t *testing.T) {
	acc, _ := NewAccuracy(AccuracyOptions{TopK: []int{1, 5}})
	tests := []struct {
		cfg  string
		want LoopOptions
	}{
		{"train_cfg: {type: EpochBasedTrainLoop, max_epochs: 12, val_interval: 2}",
			LoopOptions{ByEpoch: true, MaxEpochs: 12, ValInterval: 2, LogInterval: 50}},
		{"train_cfg: {by_epoch: false, max_iters: 100}\ndefault_hooks: {logger: {interval: 10}, checkpoint: {interval: 20, max_keep_ckpts: 3, save_best: coco/accuracy_top1}}",
			LoopOptions{MaxIters: 100, ValInterval: 1000, LogInterval: 10, CheckpointInterval: 20, MaxKeepCkpts: 3, SaveBest: "accuracy_top1"}},
		{"train_cfg: {max_epochs: 1, val_interval: 0}\ndefault_hooks: {timer: {type: IterTimerHook}, checkpoint: {type: CheckpointHook, save_best: auto, max_keep_ckpts: -1}}",
			LoopOptions{ByEpoch: true, MaxEpochs: 1, LogInterval: 50, SaveBest: "accuracy_top1"}},
	}
	iou, err := NewIoUMetric(DefaultIoUMetricOptions())
	if err != nil {
		t.Fatal(err)
	}
	lo, err := BuildLoop(parse(t, "train_cfg: {max_epochs: 1}\ndefault_hooks: {checkpoint: {save_best: auto}}"), []Metric{iou})
	if err != nil || lo.SaveBest != "aAcc" {
		t.Errorf("save_best: auto with IoUMetric: %q, %v; want aAcc, mmseg's first key", lo.SaveBest, err)
	}
	for _, tt := range tests {
		got, err := BuildLoop(parse(t, tt.cfg), []Metric{acc})
		if err != nil {
			t.Errorf("%s: %v", tt.cfg, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.cfg, got, tt.want)
		}
	}
}

func TestCheckData(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	tests := []struct{ cfg, want string }{
		{"train_dataloader: {dataset: {type: CocoDataset, data_root: data/nowhere/, ann_file: annotations/x.json}}",
			"engine: no data at data/nowhere/ (" + abs("data/nowhere") + "), which train_dataloader.dataset.data_root sets in t.yaml:1: put the dataset there or point the config at it with --cfg-options train_dataloader.dataset.data_root=DIR; to try dp on a small synthetic dataset, run `dp data synth --task det --out data/synth_coco` and pass --cfg-options train_dataloader.dataset.data_root=data/synth_coco"},
		{"train_dataloader:\n  dataset:\n    type: ImageNet\n    data_root: " + dir + "/none",
			"engine: no data at " + dir + "/none, which train_dataloader.dataset.data_root sets in t.yaml:4: put the dataset there or point the config at it with --cfg-options train_dataloader.dataset.data_root=DIR; to try dp on a small synthetic dataset, run `dp data synth --task cls --out data/synth_cls` and pass --cfg-options train_dataloader.dataset.data_root=data/synth_cls"},
		{"train_dataloader: {dataset: {type: CocoDataset, data_root: " + dir + ", ann_file: annotations/x.json}}",
			"engine: no data at " + dir + "/annotations/x.json, which train_dataloader.dataset.ann_file sets in t.yaml:1: put the dataset there or point the config at it with --cfg-options train_dataloader.dataset.data_root=DIR; to try dp on a small synthetic dataset, run `dp data synth --task det --out data/synth_coco` and pass --cfg-options train_dataloader.dataset.data_root=data/synth_coco"},
	}
	for _, tt := range tests {
		err := CheckData(parse(t, tt.cfg), "train_dataloader")
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
	os.MkdirAll(filepath.Join(dir, "annotations"), 0o755)
	os.WriteFile(filepath.Join(dir, "annotations", "x.json"), []byte("{}"), 0o644)
	if err := CheckData(parse(t, "train_dataloader: {dataset: {type: CocoDataset, data_root: "+dir+", ann_file: annotations/x.json}}"), "train_dataloader"); err != nil {
		t.Errorf("existing data: %v", err)
	}
}

func TestAutoScaleLR(t *testing.T) {
	cfg := parse(t, `train_dataloader: {batch_size: 4}
optim_wrapper: {optimizer: {type: SGD, lr: 0.02}}
auto_scale_lr: {enable: false, base_batch_size: 16}`)
	for _, force := range []bool{false, true} {
		out, note, err := autoScaleLR(cfg, force)
		if err != nil {
			t.Fatal(err)
		}
		var lr float64
		if err := out.Get("optim_wrapper.optimizer.lr").Decode(&lr); err != nil {
			t.Fatal(err)
		}
		want := 0.02
		if force {
			want = 0.02 * 4 / 16
		}
		if lr != want {
			t.Errorf("force %v: lr %v, want %v (%s)", force, lr, want, note)
		}
	}
	_, _, err := autoScaleLR(parse(t, "optim_wrapper: {optimizer: {type: SGD, lr: 0.02}}"), true)
	want := "config: t.yaml:1: auto_scale_lr.base_batch_size: scaling the learning rate needs auto_scale_lr: {base_batch_size: N}, the total batch size the config's lr is meant for"
	if err == nil || err.Error() != want {
		t.Errorf("no base batch size:\n got %v\nwant %s", err, want)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ cfg, want string }{
		{"model: {type: ImageClassifier}",
			"config: t.yaml: train_dataloader: missing: add train_dataloader: {batch_size: 2, num_workers: 2, dataset: {type: ..., data_root: ..., pipeline: [...]}}"},
		{"randomness: {seed: -1}",
			"config: t.yaml:1: randomness.seed: expected a non-negative integer, found integer -1"},
	}
	for _, tt := range tests {
		_, err := Build(parse(t, tt.cfg), BuildOptions{WorkDir: filepath.Join(dir, "wd")})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "wd")); err == nil {
		t.Error("a failed build created the work dir")
	}
}
