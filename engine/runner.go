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

	pos       Position
	bestScore float64
	bestFile  string
	pool      *tensor.Pool
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
	meta, err := loadTraining(path, r.Model, r.Optimizer)
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
	total := starts[nEpochs]
	if !r.Loop.ByEpoch {
		total = r.Loop.MaxIters
	}
	groups := r.Optimizer.Groups()
	r.Schedule.ItersPerEpoch, r.Schedule.MaxIters, r.Schedule.MaxEpochs = perEpoch, total, r.Loop.MaxEpochs
	logEvery := max(r.Loop.LogInterval, 1)
	ckptEvery := r.Loop.CheckpointInterval
	if ckptEvery <= 0 {
		ckptEvery = 1
		if !r.Loop.ByEpoch {
			ckptEvery = max(r.Loop.ValInterval, 1)
		}
	}
	win := newWindow()
	nn.SetTraining(r.Model, true)
	r.Log.StartBar(total-r.pos.Iter, "train")
	defer r.Log.StartBar(0, "")
	for r.pos.Iter < total {
		epoch := r.pos.Epoch
		skip := r.pos.Iter - starts[epoch]
		seen, ended := 0, true
		for b, err := range r.TrainLoader.Batches(epoch) {
			if err != nil {
				return fmt.Errorf("engine: epoch %d: %w", epoch+1, err)
			}
			if seen++; seen <= skip {
				continue
			}
			r.Schedule.Apply(groups, r.pos.Iter, epoch)
			loss, parts, err := r.step(b, groups)
			if err != nil {
				return err
			}
			if losses != nil {
				losses(r.pos.Iter, loss)
			}
			r.pos.Iter++
			win.add(len(b.Samples), loss, parts)
			r.Log.StepBar(fmt.Sprintf("epoch %d loss %.4f lr %.2e %.1f img/s", epoch+1, loss, groups[0].LR, win.imagesPerSecond()))
			if r.pos.Iter%logEvery == 0 || r.pos.Iter == total {
				vals := win.flush()
				vals["lr"], vals["memory"] = groups[0].LR, peakMemoryMB()
				if err := r.Log.Write(Record{Mode: "train", Epoch: epoch + 1, Iter: r.pos.Iter, Values: vals}); err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				path, err := r.saveCheckpoint(fmt.Sprintf("iter_%d.safetensors", r.pos.Iter), "")
				if err != nil {
					return err
				}
				r.Log.Printf("\ninterrupted after iteration %d; checkpoint saved to %s\nresume with: %s\n", r.pos.Iter, path, r.ResumeHint)
				return ErrInterrupted
			}
			if !r.Loop.ByEpoch {
				if err := r.afterInterval(r.pos.Iter, ckptEvery, "iter_", r.pos.Iter == total); err != nil {
					return err
				}
			}
			if r.pos.Iter >= total {
				ended = seen == starts[epoch+1]-starts[epoch]
				break
			}
		}
		if ended {
			r.pos.Epoch++
			if r.Loop.ByEpoch {
				if err := r.afterInterval(r.pos.Epoch, ckptEvery, "epoch_", r.pos.Iter == total); err != nil {
					return err
				}
			}
		}
	}
	return nil
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

// afterInterval validates and checkpoints at the end of epoch/iteration n.
func (r *Runner) afterInterval(n, ckptEvery int, prefix string, last bool) error {
	var scores map[string]float64
	if r.ValLoader != nil && r.Loop.ValInterval > 0 && (n%r.Loop.ValInterval == 0 || last) {
		var err error
		if scores, err = r.Validate("val"); err != nil {
			return err
		}
		nn.SetTraining(r.Model, true)
	}
	if n%ckptEvery != 0 && !last {
		return nil
	}
	name := fmt.Sprintf("%s%d.safetensors", prefix, n)
	best := ""
	if r.Loop.SaveBest != "" && scores != nil {
		v, ok := scores[r.Loop.SaveBest]
		if !ok {
			return fmt.Errorf("engine: save_best metric %q is not among the metrics computed (%s)", r.Loop.SaveBest, keysOf(scores))
		}
		if math.IsNaN(r.bestScore) || v > r.bestScore {
			best = fmt.Sprintf("best_%s_%s", r.Loop.SaveBest, name)
			r.bestScore = v
		}
	}
	if _, err := r.saveCheckpoint(name, best); err != nil {
		return err
	}
	return pruneCheckpoints(r.WorkDir, prefix, r.Loop.MaxKeepCkpts, r.bestFile)
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
	path := filepath.Join(r.WorkDir, name)
	if err := SaveCheckpoint(path, r.Model, r.Optimizer, meta); err != nil {
		return "", err
	}
	if best != "" {
		if err := SaveCheckpoint(filepath.Join(r.WorkDir, best), r.Model, r.Optimizer, meta); err != nil {
			return "", err
		}
	}
	if err := writeAtomic(filepath.Join(r.WorkDir, lastCheckpointFile), []byte(name+"\n")); err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
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
// scores under mode ("val" or "test").
func (r *Runner) Validate(mode string) (map[string]float64, error) {
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
