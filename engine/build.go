package engine

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
)

// BuildOptions carry what the command line adds to a config when a runner
// is built; each field, when set, wins over the config's key of the same
// meaning.
type BuildOptions struct {
	// ConfigPath is the config file the node was loaded from. It names the
	// dumped config (<name>.yaml in the work dir) and the default work dir
	// (work_dirs/<name>).
	ConfigPath string
	// WorkDir is --work-dir; "" takes the config's work_dir, else
	// config.WorkDirFor(ConfigPath).
	WorkDir string
	// Seed is --seed; nil takes randomness.seed, else a random seed (which
	// is logged and stored in every checkpoint).
	Seed *uint64
	// Resume is --resume: "auto" continues from the work dir's
	// last_checkpoint (starting afresh if there is none), a path continues
	// from that checkpoint, and "" defers to the config's resume key
	// (mmengine's rule: resume true with load_from resumes from load_from,
	// without it from last_checkpoint).
	Resume string
	// LoadFrom is a checkpoint whose weights initialise the model when not
	// resuming; "" takes the config's load_from.
	LoadFrom string
	// AutoScaleLR is --auto-scale-lr: scale the learning rate linearly by
	// the training batch size over auto_scale_lr.base_batch_size, as if the
	// config set auto_scale_lr.enable.
	AutoScaleLR bool
	// Console receives log lines and the progress bar; nil means os.Stdout.
	Console io.Writer
}

// runtimeOptions are the top-level keys Build reads besides the
// components: randomness, work_dir, load_from and resume.
type randomnessOptions struct {
	Seed          *uint64 `yaml:"seed"`
	Deterministic bool    `yaml:"deterministic"`  // dp is always deterministic; accepted for mmengine configs
	DiffRankSeed  bool    `yaml:"diff_rank_seed"` // one process only; accepted for mmengine configs
}

// Build makes a training runner from a loaded config: the model
// (model), the training and validation data (train_dataloader,
// val_dataloader with val_evaluator), the optimizer (optim_wrapper), the
// learning-rate schedule (param_scheduler), the loop (train_cfg) and its
// hooks (default_hooks), the seed (randomness.seed) and the work dir, which
// it creates and writes the merged config into. It then resumes from a
// checkpoint or loads initial weights as opts and the config ask.
//
// The keys it reads, with mmengine's meaning:
//
//	model                      models.Registry
//	train_dataloader           batch_size, num_workers, shuffle, drop_last, seed, ... (datasets.LoaderOptions),
//	val_dataloader               sampler {type, shuffle}, batch_sampler {type: AspectRatioBatchSampler},
//	                             persistent_workers, pin_memory, dataset {type, pipeline, data_root, ...}
//	train_pipeline             used when train_dataloader.dataset has no pipeline
//	test_pipeline              used when val/test_dataloader.dataset has no pipeline
//	val_evaluator              one metric or a list (MetricRegistry)
//	optim_wrapper              type: OptimWrapper, optimizer {type: SGD|AdamW|LAMB, lr, weight_decay, ...},
//	                             paramwise_cfg {custom_keys, norm_decay_mult, bias_decay_mult}, clip_grad {max_norm}
//	param_scheduler            list of LinearLR, ConstantLR, StepLR, MultiStepLR, CosineAnnealingLR, PolyLR
//	train_cfg                  type: EpochBasedTrainLoop|IterBasedTrainLoop (or by_epoch), max_epochs|max_iters, val_interval
//	default_hooks              timer, logger {interval}, param_scheduler, checkpoint {interval, max_keep_ckpts,
//	                             save_best, by_epoch, rule}, each {type, priority} from HookRegistry;
//	                             sampler_seed, visualization accepted
//	custom_hooks               list of {type: EMAHook|CheckInvalidLossHook|EarlyStoppingHook, priority, ...}
//	auto_scale_lr              enable, base_batch_size
//	randomness                 seed (deterministic, diff_rank_seed accepted)
//	work_dir, load_from, resume
//
// Other top-level keys (val_cfg, test_cfg, env_cfg, log_level, data_root,
// ...) are left alone, as mmengine leaves variables of a config alone.
//
// Missing data is reported before anything is built, with where the data
// was expected, the key that sets it and how to make a small dataset. The
// caller closes r.Log when done.
func Build(cfg config.Node, opts BuildOptions) (r *Runner, err error) {
	workDir, err := resolveWorkDir(cfg, opts)
	if err != nil {
		return nil, err
	}
	hasVal := cfg.Field("val_dataloader").Exists() && cfg.Field("val_dataloader").Kind() != config.Null
	dataKeys := []string{"train_dataloader"}
	if hasVal {
		dataKeys = append(dataKeys, "val_dataloader")
	}
	for _, k := range dataKeys {
		if err := CheckData(cfg, k); err != nil {
			return nil, err
		}
	}

	custom, err := BuildCustomHooks(cfg.Field("custom_hooks"))
	if err != nil {
		return nil, err
	}
	resumeFrom, loadFrom, wantResume, err := resumePlan(cfg, opts, workDir)
	if err != nil {
		return nil, err
	}
	seed, err := resolveSeed(cfg, opts)
	if err != nil {
		return nil, err
	}
	if resumeFrom != "" {
		// The loaders' shuffles derive from the seed, so the checkpoint's
		// seed must be known before they are built.
		if s, ok := checkpointSeed(resumeFrom); ok {
			seed = s
		}
	}

	train, trainSet, err := BuildDataloader(cfg, "train_dataloader", seed)
	if err != nil {
		return nil, err
	}
	if err := CheckNumClasses(cfg, trainSet, "train_dataloader"); err != nil {
		return nil, err
	}
	var val *datasets.Loader
	var metrics []Metric
	if hasVal {
		var valSet datasets.Dataset
		val, valSet, err = BuildDataloader(cfg, "val_dataloader", seed)
		if err != nil {
			return nil, err
		}
		if !cfg.Field("val_evaluator").Exists() {
			return nil, &config.Error{File: cfg.Field("val_dataloader").File(), Path: "val_evaluator",
				Msg: "val_dataloader is set but val_evaluator is missing: add one (e.g. val_evaluator: {type: CocoMetric, ann_file: annotations/instances_val.json}) or remove val_dataloader to train without validation"}
		}
		if metrics, err = BuildMetrics(cfg.Field("val_evaluator"), cfg.Get("val_dataloader.dataset"), valSet); err != nil {
			return nil, err
		}
	}
	sched, err := BuildSchedule(cfg.Field("param_scheduler"))
	if err != nil {
		return nil, err
	}
	loop, hooks, err := buildLoop(cfg, metrics)
	if err != nil {
		return nil, err
	}
	hooks = append(hooks, custom...)
	if loop.SaveBest != "" && !hasVal {
		return nil, &config.Error{File: cfg.Get("default_hooks.checkpoint.save_best").File(), Line: cfg.Get("default_hooks.checkpoint.save_best").Line(),
			Path: "default_hooks.checkpoint.save_best", Msg: "save_best needs validation: add val_dataloader and val_evaluator, or remove save_best"}
	}
	scaled, lrNote, err := autoScaleLR(cfg, opts.AutoScaleLR)
	if err != nil {
		return nil, err
	}
	model, err := BuildModel(cfg)
	if err != nil {
		return nil, err
	}
	opt, clip, err := BuildOptimizer(scaled.Field("optim_wrapper"), model)
	if err != nil {
		return nil, err
	}
	loop.GradClip = clip

	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: work dir: %w", err)
	}
	dumped, err := cfg.Set("work_dir", workDir)
	if err != nil {
		return nil, err
	}
	name := configName(opts.ConfigPath)
	if err := writeAtomic(filepath.Join(workDir, name+".yaml"), dumped.Dump()); err != nil {
		return nil, fmt.Errorf("engine: write the merged config: %w", err)
	}
	console := opts.Console
	if console == nil {
		console = os.Stdout
	}
	log, err := NewLogger(workDir, console)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			log.Close()
		}
	}()
	train.SetLogf(func(format string, args ...any) { log.Printf(format+"\n", args...) })
	r = &Runner{
		Model: model, Optimizer: opt, Schedule: sched,
		TrainLoader: train, ValLoader: val, Metrics: metrics,
		Loop: loop, WorkDir: workDir, Seed: seed, ConfigHash: cfg.Hash(), Log: log, Hooks: hooks,
	}
	log.Printf("work dir %s, seed %d\n", workDir, seed)
	logInitLoads(log, model)
	if lrNote != "" {
		log.Printf("%s\n", lrNote)
	}
	switch {
	case resumeFrom != "":
		if err := r.Resume(resumeFrom); err != nil {
			return nil, err
		}
	case wantResume:
		log.Printf("no last_checkpoint in %s to resume from; starting afresh\n", workDir)
	}
	if resumeFrom == "" && loadFrom != "" {
		rep, err := LoadWeights(loadFrom, model, false)
		if err != nil {
			return nil, err
		}
		log.Printf("loaded weights from %s\n", loadFrom)
		if len(rep.Missing)+len(rep.Unexpected) > 0 {
			log.Printf("%s\n", rep)
		}
	}
	return r, nil
}

// BuildTest makes a runner that evaluates the weights in ckpt on the test
// data (test_dataloader, test_evaluator): its ValLoader is the test loader
// and its Metrics the test metrics, so r.Validate("test") scores it. It
// returns the test dataset too, whose class names and ids callers need to
// write results and pictures. Logs go to the work dir resolved as Build
// does. The caller closes r.Log.
func BuildTest(cfg config.Node, ckpt string, opts BuildOptions) (r *Runner, ds datasets.Dataset, err error) {
	workDir, err := resolveWorkDir(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckData(cfg, "test_dataloader"); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(ckpt); err != nil {
		return nil, nil, fmt.Errorf("engine: checkpoint %s: %w", ckpt, unwrapPathError(err))
	}
	model, err := BuildModel(cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := LoadWeights(ckpt, model, true); err != nil {
		return nil, nil, err
	}
	test, ds, err := BuildDataloader(cfg, "test_dataloader", 0)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckNumClasses(cfg, ds, "test_dataloader"); err != nil {
		return nil, nil, err
	}
	if !cfg.Field("test_evaluator").Exists() {
		return nil, nil, &config.Error{File: cfg.Field("test_dataloader").File(), Path: "test_evaluator",
			Msg: "missing: add the metric to test with, e.g. test_evaluator: {type: CocoMetric, ann_file: annotations/instances_val.json}"}
	}
	metrics, err := BuildMetrics(cfg.Field("test_evaluator"), cfg.Get("test_dataloader.dataset"), ds)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("engine: work dir: %w", err)
	}
	console := opts.Console
	if console == nil {
		console = os.Stdout
	}
	log, err := NewLogger(workDir, console)
	if err != nil {
		return nil, nil, err
	}
	r = &Runner{Model: model, ValLoader: test, Metrics: metrics, WorkDir: workDir, ConfigHash: cfg.Hash(), Log: log}
	return r, ds, nil
}

// BuildModel builds the config's model from models.Registry.
func BuildModel(cfg config.Node) (models.Model, error) {
	return models.Registry.Build(cfg.Field("model"))
}

// autoScaleOptions are the keys of auto_scale_lr.
type autoScaleOptions struct {
	Enable        bool `yaml:"enable"`
	BaseBatchSize int  `yaml:"base_batch_size"`
}

// autoScaleLR applies mmengine's linear scaling rule when auto_scale_lr is
// enabled (by the config or force): the optimizer's lr times the training
// batch size over base_batch_size. It returns the config to build the
// optimizer from and a line for the log.
func autoScaleLR(cfg config.Node, force bool) (config.Node, string, error) {
	var a autoScaleOptions
	n := cfg.Field("auto_scale_lr")
	if err := n.Decode(&a); err != nil {
		return cfg, "", err
	}
	if !a.Enable && !force {
		return cfg, "", nil
	}
	if a.BaseBatchSize <= 0 {
		return cfg, "", &config.Error{File: n.File(), Line: n.Line(), Path: "auto_scale_lr.base_batch_size",
			Msg: "scaling the learning rate needs auto_scale_lr: {base_batch_size: N}, the total batch size the config's lr is meant for"}
	}
	batch := datasets.DefaultLoaderOptions().BatchSize
	if b := cfg.Get("train_dataloader.batch_size"); b.Exists() {
		if err := b.Decode(&batch); err != nil {
			return cfg, "", err
		}
	}
	lrNode := cfg.Get("optim_wrapper.optimizer.lr")
	var lr float64
	if err := lrNode.Decode(&lr); err != nil || !lrNode.Exists() {
		return cfg, "", err // BuildOptimizer reports a missing lr
	}
	scaled := lr * float64(batch) / float64(a.BaseBatchSize)
	out, err := cfg.Set("optim_wrapper.optimizer.lr", scaled)
	if err != nil {
		return cfg, "", err
	}
	return out, fmt.Sprintf("auto_scale_lr: lr %g x batch %d / base batch %d = %g", lr, batch, a.BaseBatchSize, scaled), nil
}

// CheckNumClasses compares every num_classes key of the model config
// (except the class-agnostic RPN's) with the number of classes of the
// dataset read by the dataloader key, as mmdet's NumClassCheckHook does, so
// that a config trained on another dataset fails at once with the fix
// rather than after an epoch.
func CheckNumClasses(cfg config.Node, ds datasets.Dataset, key string) error {
	if ds == nil || len(ds.Classes()) == 0 {
		return nil
	}
	classes := ds.Classes()
	var walk func(n config.Node) error
	walk = func(n config.Node) error {
		switch n.Kind() {
		case config.Map:
			for _, k := range n.Keys() {
				if k == "rpn_head" {
					continue
				}
				if err := walk(n.Field(k)); err != nil {
					return err
				}
			}
		case config.List:
			for i := 0; i < n.Len(); i++ {
				if err := walk(n.Index(i)); err != nil {
					return err
				}
			}
		}
		if !strings.HasSuffix(n.Path(), ".num_classes") {
			return nil
		}
		var nc int
		if err := n.Decode(&nc); err != nil {
			return err
		}
		if nc != len(classes) {
			shown := classes
			if len(shown) > 10 {
				shown = append(shown[:10:10], "...")
			}
			return &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(),
				Msg: fmt.Sprintf("the model predicts %d classes but %s.dataset (%s) has %d (%s): set --cfg-options %s=%d, or use a dataset with these classes",
					nc, key, cfg.Get(key+".dataset").Type(), len(classes), strings.Join(shown, ", "), n.Path(), len(classes))}
		}
		return nil
	}
	return walk(cfg.Field("model"))
}

// resolveWorkDir applies mmdet's order: the flag, the config's work_dir,
// work_dirs/<config name>.
func resolveWorkDir(cfg config.Node, opts BuildOptions) (string, error) {
	if opts.WorkDir != "" {
		return opts.WorkDir, nil
	}
	if n := cfg.Field("work_dir"); n.Exists() && n.Kind() != config.Null {
		var s string
		if err := n.Decode(&s); err != nil {
			return "", err
		}
		if s != "" {
			return s, nil
		}
	}
	if opts.ConfigPath == "" {
		return "", errors.New("engine: no work dir: pass --work-dir, set work_dir in the config, or give the config's path")
	}
	return config.WorkDirFor(opts.ConfigPath), nil
}

// configName is the config file's name without directory and extension.
func configName(path string) string {
	if path == "" {
		return "config"
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// resolveSeed applies the order --seed, randomness.seed, random.
func resolveSeed(cfg config.Node, opts BuildOptions) (uint64, error) {
	if opts.Seed != nil {
		return *opts.Seed, nil
	}
	var rnd randomnessOptions
	if err := cfg.Field("randomness").Decode(&rnd); err != nil {
		return 0, err
	}
	if rnd.Seed != nil {
		return *rnd.Seed, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("engine: random seed: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]) >> 33, nil // small enough to read and type
}

// resumePlan decides, as mmengine's load_or_resume, which checkpoint to
// resume from and which to load weights from (at most one is set).
// wantResume reports whether resuming was asked for (it may find nothing).
func resumePlan(cfg config.Node, opts BuildOptions, workDir string) (resumeFrom, loadFrom string, wantResume bool, err error) {
	var cfgLoad string
	if n := cfg.Field("load_from"); n.Exists() && n.Kind() != config.Null {
		if err := n.Decode(&cfgLoad); err != nil {
			return "", "", false, err
		}
	}
	var cfgResume bool
	if n := cfg.Field("resume"); n.Exists() && n.Kind() != config.Null {
		if err := n.Decode(&cfgResume); err != nil {
			return "", "", false, err
		}
	}
	loadFrom = cfgLoad
	if opts.LoadFrom != "" {
		loadFrom = opts.LoadFrom
	}
	mode := opts.Resume
	if mode == "" && cfgResume {
		mode = "auto"
		if loadFrom != "" {
			mode = loadFrom
		}
	}
	switch mode {
	case "":
		return "", loadFrom, false, nil
	case "auto":
		last, err := LastCheckpoint(workDir)
		if err != nil {
			if _, statErr := os.Stat(filepath.Join(workDir, lastCheckpointFile)); statErr != nil {
				return "", loadFrom, true, nil // nothing to resume: start afresh
			}
			return "", "", false, err
		}
		if _, err := os.Stat(last); err != nil {
			return "", "", true, fmt.Errorf("engine: %s names %s, which cannot be read: %w", filepath.Join(workDir, lastCheckpointFile), last, unwrapPathError(err))
		}
		return last, "", true, nil
	default:
		if _, err := os.Stat(mode); err != nil {
			return "", "", true, fmt.Errorf("engine: resume from %s: %w", mode, unwrapPathError(err))
		}
		return mode, "", true, nil
	}
}

// checkpointSeed reads the seed recorded in a dp checkpoint's metadata.
func checkpointSeed(path string) (uint64, bool) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return 0, false // Resume reports the problem with the file
	}
	m, err := decodeMeta(path, f.Metadata)
	if err != nil {
		return 0, false
	}
	return m.Seed, true
}

// unwrapPathError drops the *fs.PathError wrapper, whose text repeats the
// path the caller's message already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
