package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// LoopOptions configure the training loop and its hooks (mmengine's
// train_cfg and default_hooks, flattened).
type LoopOptions struct {
	ByEpoch     bool // epoch-based (MaxEpochs) or iteration-based (MaxIters)
	MaxEpochs   int
	MaxIters    int
	ValInterval int // validate every this many epochs (or iterations); 0: never during training
	LogInterval int // log every this many iterations; default 50
	// CheckpointInterval saves every this many epochs (or iterations);
	// default 1 epoch / ValInterval iterations.
	CheckpointInterval int
	MaxKeepCkpts       int     // keep the newest this many periodic checkpoints; 0 keeps all
	SaveBest           string  // metric name to track ("bbox_mAP", "mIoU"); "" for none
	GradClip           float64 // clip the global gradient norm to this; 0 disables
}

// ErrInterrupted is returned by Train when the context was cancelled (Ctrl-C)
// and a checkpoint was saved.
var ErrInterrupted = errors.New("engine: training interrupted")

// Runner trains and evaluates one model in one work directory.
type Runner struct {
	Model       models.Model
	Optimizer   optim.Optimizer // nil for test-only runners
	Schedule    optim.Schedule
	TrainLoader *datasets.Loader
	ValLoader   *datasets.Loader
	Metrics     []Metric
	Loop        LoopOptions
	WorkDir     string
	Seed        uint64
	ConfigHash  string
	// ResumeHint is the command line printed after an interruption.
	ResumeHint string
	Log        *Logger
	// Hooks run at the points of the loop (see Hook), in Priority order.
	// Nil means the default set (IterTimerHook, LoggerHook,
	// ParamSchedulerHook, CheckpointHook) with the options of Loop; Build
	// sets the hooks of default_hooks and custom_hooks.
	Hooks []Hook

	pos       Position
	total     int // iterations of the whole run; set by Train
	bestScore float64
	bestFile  string
	stop      string    // why a hook asked training to stop early; "" to go on
	savedAt   *Position // position of the newest checkpoint written, nil if none
	pool      *tensor.Pool
}

// hooks returns the hooks in the order they run, installing the default
// set first if there are none.
func (r *Runner) hooks() []Hook {
	if r.Hooks == nil {
		r.Hooks = defaultHooks(r.Loop)
	}
	SortHooks(r.Hooks)
	return r.Hooks
}

// callHooks calls fn on every hook in order and stops at the first error.
func (r *Runner) callHooks(fn func(h Hook) error) error {
	for _, h := range r.hooks() {
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// TotalIters returns the number of iterations of the whole run, known
// once Train has started.
func (r *Runner) TotalIters() int { return r.total }

// StopTraining asks the loop to stop after the current iteration (or the
// validation a hook calls it from), as mmengine's stop_training: the
// runner saves a checkpoint, logs why and returns nil from Train.
func (r *Runner) StopTraining(reason string) { r.stop = reason }

// validationDue reports whether the loop validates at the end of epoch
// (or iteration) n.
func (r *Runner) validationDue(n int, last bool) bool {
	return r.ValLoader != nil && r.Loop.ValInterval > 0 && (n%r.Loop.ValInterval == 0 || last)
}

// epochStarts returns, for a loop of n epochs, the first iteration of each
// epoch and, last, the total: epochs differ in length when aspect-ratio
// grouping is on, so they are counted from the loader's plans.
func (r *Runner) epochStarts(n int) []int {
	starts := make([]int, n+1)
	for e := 0; e < n; e++ {
		starts[e+1] = starts[e] + len(r.TrainLoader.Plan(e))
	}
	return starts
}

// Resume restores model, optimizer and position from a dp checkpoint.
func (r *Runner) Resume(path string) error {
	meta, err := loadTraining(path, r.Model, r.Optimizer, func(ck *CheckpointState) error {
		return r.callHooks(func(h Hook) error { return h.AfterLoadCheckpoint(r, ck) })
	})
	if err != nil {
		return err
	}
	if meta.Seed != r.Seed {
		r.Log.Printf("warning: checkpoint seed %d differs from the run's %d; using the checkpoint's\n", meta.Seed, r.Seed)
		r.Seed = meta.Seed
	}
	r.pos, r.bestScore, r.bestFile = meta.Position, meta.BestScore, meta.BestFile
	r.Log.Printf("resumed from %s at epoch %d, iter %d\n", path, r.pos.Epoch, r.pos.Iter)
	return nil
}

// stepSeed derives the RNG seed of one training iteration.
func stepSeed(seed uint64, iter int) uint64 {
	x := seed ^ (uint64(iter)+1)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	return x ^ x>>29
}

// Train runs the loop from the current position to the end. Cancelling ctx
// (Ctrl-C) finishes the current step, saves a checkpoint and returns
// ErrInterrupted. losses, if not nil, receives every iteration's total loss
// (for tests of reproducibility).
func (r *Runner) Train(ctx context.Context, losses func(iter int, loss float32)) error {
	if r.pool == nil {
		r.pool = tensor.NewPool()
	}
	if r.Log == nil {
		return errors.New("engine: runner has no logger")
	}
	if r.pos == (Position{}) {
		r.bestScore = math.NaN()
	}
	perEpoch := len(r.TrainLoader.Plan(0))
	if perEpoch == 0 {
		return errors.New("engine: the training set yields no batch (is it empty, or smaller than batch_size with drop_last?)")
	}
	// Iteration-based loops cycle through as many epochs as they need.
	nEpochs := r.Loop.MaxEpochs
	if !r.Loop.ByEpoch {
		nEpochs = r.Loop.MaxIters/perEpoch + 2
	}
	starts := r.epochStarts(nEpochs)
	r.total = starts[nEpochs]
	if !r.Loop.ByEpoch {
		r.total = r.Loop.MaxIters
	}
	groups := r.Optimizer.Groups()
	r.Schedule.ItersPerEpoch, r.Schedule.MaxIters, r.Schedule.MaxEpochs = perEpoch, r.total, r.Loop.MaxEpochs
	r.stop = ""
	nn.SetTraining(r.Model, true)
	if err := r.callHooks(func(h Hook) error { return h.BeforeTrain(r) }); err != nil {
		return err
	}
	r.Log.StartBar(r.total-r.pos.Iter, "train")
	defer r.Log.StartBar(0, "")
	for r.pos.Iter < r.total {
		epoch := r.pos.Epoch
		skip := r.pos.Iter - starts[epoch]
		seen, ended := 0, true
		if err := r.callHooks(func(h Hook) error { return h.BeforeTrainEpoch(r, epoch) }); err != nil {
			return err
		}
		for b, err := range r.TrainLoader.Batches(epoch) {
			if err != nil {
				return fmt.Errorf("engine: epoch %d: %w", epoch+1, err)
			}
			if seen++; seen <= skip {
				continue
			}
			it := &TrainIter{Epoch: epoch, Iter: r.pos.Iter, Batch: b, Values: map[string]float64{}}
			if err := r.callHooks(func(h Hook) error { return h.BeforeTrainIter(r, it) }); err != nil {
				return err
			}
			loss, parts, err := r.step(b, groups)
			if err != nil {
				return err
			}
			if losses != nil {
				losses(r.pos.Iter, loss)
			}
			it.Loss = loss
			for k, v := range parts {
				it.Values[k] = v
			}
			r.pos.Iter++
			if err := r.callHooks(func(h Hook) error { return h.AfterTrainIter(r, it) }); err != nil {
				return err
			}
			if ctx.Err() != nil {
				path, err := r.saveCheckpoint(fmt.Sprintf("iter_%d.safetensors", r.pos.Iter), "")
				if err != nil {
					return err
				}
				r.Log.Printf("\ninterrupted after iteration %d; checkpoint saved to %s\nresume with: %s\n", r.pos.Iter, path, r.ResumeHint)
				return ErrInterrupted
			}
			if !r.Loop.ByEpoch && r.validationDue(r.pos.Iter, r.pos.Iter == r.total) {
				if err := r.validateInTraining(); err != nil {
					return err
				}
			}
			if r.pos.Iter >= r.total || r.stop != "" {
				ended = seen == starts[epoch+1]-starts[epoch]
				break
			}
		}
		if ended {
			r.pos.Epoch++
			if err := r.callHooks(func(h Hook) error { return h.AfterTrainEpoch(r, epoch) }); err != nil {
				return err
			}
			if r.Loop.ByEpoch && r.validationDue(r.pos.Epoch, r.pos.Iter == r.total) {
				if err := r.validateInTraining(); err != nil {
					return err
				}
			}
		}
		if r.stop != "" {
			if r.savedAt == nil || *r.savedAt != r.pos {
				if _, err := r.saveCheckpoint(fmt.Sprintf("iter_%d.safetensors", r.pos.Iter), ""); err != nil {
					return err
				}
			}
			r.Log.Printf("stopped early after iteration %d: %s\n", r.pos.Iter, r.stop)
			break
		}
	}
	return r.callHooks(func(h Hook) error { return h.AfterTrain(r) })
}

// validateInTraining validates during training and returns the model to
// training mode.
func (r *Runner) validateInTraining() error {
	_, err := r.Validate("val")
	nn.SetTraining(r.Model, true)
	return err
}

// window averages the logged values over a logging interval.
type window struct {
	n, images int
	sums      map[string]float64
	start     time.Time
}

func newWindow() *window { return &window{sums: map[string]float64{}, start: time.Now()} }

func (w *window) add(images int, loss float32, parts map[string]float64) {
	w.n++
	w.images += images
	w.sums["loss"] += float64(loss)
	for k, v := range parts {
		w.sums[k] += v
	}
}

func (w *window) imagesPerSecond() float64 {
	return float64(w.images) / time.Since(w.start).Seconds()
}

// flush returns the window's means and images/s and starts a new window.
func (w *window) flush() map[string]float64 {
	vals := map[string]float64{"images_per_s": w.imagesPerSecond()}
	for k, v := range w.sums {
		vals[k] = v / float64(max(w.n, 1))
	}
	w.n, w.images, w.start = 0, 0, time.Now()
	clear(w.sums)
	return vals
}

func keysOf(m map[string]float64) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ", ")
}

// saveCheckpoint writes name (and, if best is set, replaces the previous best
// with a copy under that name) and updates last_checkpoint.
func (r *Runner) saveCheckpoint(name, best string) (string, error) {
	if best != "" {
		if r.bestFile != "" {
			os.Remove(filepath.Join(r.WorkDir, r.bestFile))
		}
		r.bestFile = best
	}
	meta := CheckpointMeta{Position: r.pos, Seed: r.Seed, ConfigHash: r.ConfigHash, BestScore: r.bestScore, BestFile: r.bestFile}
	ck := checkpointState(r.Model, r.Optimizer, meta)
	if err := r.callHooks(func(h Hook) error { return h.BeforeSaveCheckpoint(r, ck) }); err != nil {
		return "", err
	}
	path := filepath.Join(r.WorkDir, name)
	if err := ck.write(path); err != nil {
		return "", err
	}
	if best != "" {
		if err := ck.write(filepath.Join(r.WorkDir, best)); err != nil {
			return "", err
		}
	}
	if err := writeAtomic(filepath.Join(r.WorkDir, lastCheckpointFile), []byte(name+"\n")); err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	pos := r.pos
	r.savedAt = &pos
	return path, nil
}

// step runs one training iteration on b.
func (r *Runner) step(b *datasets.Batch, groups []*optim.Group) (float32, map[string]float64, error) {
	tp := nn.NewTape(r.pool, tensor.NewRNG(stepSeed(r.Seed, r.pos.Iter)))
	defer tp.Release()
	loss, parts, err := r.Model.Loss(tp, b)
	if err != nil {
		return 0, nil, fmt.Errorf("engine: iteration %d: %w", r.pos.Iter+1, err)
	}
	if parts == nil {
		parts = map[string]float64{}
	}
	v := loss.Data()[0]
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return 0, nil, fmt.Errorf("engine: iteration %d: the loss is %v (parts %v); lower the learning rate or check the data", r.pos.Iter+1, v, parts)
	}
	tp.Backward(loss)
	if r.Loop.GradClip > 0 {
		parts["grad_norm"] = optim.ClipGradNorm(groups, r.Loop.GradClip)
	}
	r.Optimizer.Step()
	optim.ZeroGrad(groups)
	return v, parts, nil
}

// Predict runs the model in inference mode over loader and calls fn with
// every batch and its results, in order.
func (r *Runner) Predict(loader *datasets.Loader, fn func(b *datasets.Batch, res []models.Result) error) error {
	if r.pool == nil {
		r.pool = tensor.NewPool()
	}
	nn.SetTraining(r.Model, false)
	r.Log.StartBar(len(loader.Plan(0)), "eval")
	defer r.Log.StartBar(0, "")
	for b, err := range loader.Batches(0) {
		if err != nil {
			return err
		}
		tp := nn.NewInferenceTape(r.pool)
		res, err := r.Model.Predict(tp, b)
		tp.Release()
		if err != nil {
			return fmt.Errorf("engine: predict: %w", err)
		}
		if err := fn(b, res); err != nil {
			return err
		}
		r.Log.StepBar("")
	}
	return nil
}

// Validate evaluates the model on ValLoader with every metric and logs the
// scores under mode ("val" or "test"). The hooks' BeforeVal runs first,
// and AfterValEpoch (with the scores) and AfterVal after the scores are
// logged, so EMAHook evaluates its averaged weights.
func (r *Runner) Validate(mode string) (map[string]float64, error) {
	if err := r.callHooks(func(h Hook) error { return h.BeforeVal(r) }); err != nil {
		return nil, err
	}
	for _, m := range r.Metrics {
		m.Reset()
	}
	err := r.Predict(r.ValLoader, func(b *datasets.Batch, res []models.Result) error {
		for _, m := range r.Metrics {
			if err := m.Process(b, res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	scores := map[string]float64{}
	for _, m := range r.Metrics {
		s, err := m.Compute()
		if err != nil {
			return nil, err
		}
		for k, v := range s {
			scores[k] = v
		}
	}
	if err := r.Log.Write(Record{Mode: mode, Epoch: r.pos.Epoch, Iter: r.pos.Iter, Values: scores}); err != nil {
		return nil, err
	}
	if err := r.callHooks(func(h Hook) error { return h.AfterValEpoch(r, scores) }); err != nil {
		return nil, err
	}
	if err := r.callHooks(func(h Hook) error { return h.AfterVal(r) }); err != nil {
		return nil, err
	}
	return scores, nil
}

// Position returns how far training has gone.
func (r *Runner) Position() Position { return r.pos }

// peakMemoryMB returns the process's peak resident memory (VmHWM) in MiB,
// or the Go heap size where /proc is unavailable.
func peakMemoryMB() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
						return kb / 1024
					}
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Sys) / (1 << 20)
}
