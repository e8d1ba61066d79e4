package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// toyData is an in-memory classification set: class c images are bright in
// channel c, with noise.
type toyData struct{ n int }

func (d toyData) Len() int          { return d.n }
func (d toyData) Classes() []string { return []string{"r", "g", "b"} }
func (d toyData) Get(i int) (*datasets.Sample, error) {
	rng := tensor.NewRNG(uint64(i))
	x := tensor.New(3, 4, 4)
	rng.FillUniform(x, 0, 0.5)
	c := i % 3
	for k := 0; k < 16; k++ {
		x.Data()[c*16+k] += 1
	}
	return &datasets.Sample{Input: x, Label: c, Meta: datasets.Meta{Index: i}}, nil
}

// toyModel is a linear classifier with dropout, so training uses the step RNG.
type toyModel struct {
	nn.ModuleBase
	fc *nn.Linear
}

func newToyModel() *toyModel {
	m := &toyModel{fc: nn.NewLinear(48, 3, tensor.NewRNG(7), nn.LinearOptions{})}
	m.RegisterModule("fc", m.fc)
	return m
}

func (m *toyModel) logits(tp *nn.Tape, b *datasets.Batch) *nn.Var {
	x := nn.Flatten(tp.Input(b.Inputs), 1, -1)
	x = nn.Dropout(x, 0.2, m.Training())
	return m.fc.Forward(x)
}

func (m *toyModel) Loss(tp *nn.Tape, b *datasets.Batch) (*nn.Var, map[string]float64, error) {
	loss := nn.CrossEntropy(m.logits(tp, b), b.Labels, nn.CrossEntropyOptions{})
	return loss, map[string]float64{"loss_cls": float64(loss.Data()[0])}, nil
}

func (m *toyModel) Predict(tp *nn.Tape, b *datasets.Batch) ([]models.Result, error) {
	y := m.logits(tp, b)
	out := make([]models.Result, len(b.Samples))
	for i := range out {
		out[i].Logits = append([]float32(nil), y.Data()[i*3:(i+1)*3]...)
	}
	return out, nil
}

func newToyRunner(t *testing.T, dir string, loop LoopOptions) *Runner {
	t.Helper()
	opts := datasets.DefaultLoaderOptions()
	opts.BatchSize, opts.Shuffle, opts.Seed = 4, true, 3
	train, err := datasets.NewLoader(toyData{24}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Shuffle = false
	val, err := datasets.NewLoader(toyData{12}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := newToyModel()
	groups := optim.BuildGroups(m, 0.1, 1e-4, optim.ParamwiseOptions{})
	acc, _ := NewAccuracy(AccuracyOptions{TopK: []int{1}})
	log, err := NewLogger(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return &Runner{
		Model: m, Optimizer: optim.NewSGD(groups, optim.SGDOptions{Momentum: 0.9}),
		Schedule:    optim.Schedule{Rules: []optim.Scheduler{{Type: "LinearLR", StartFac: 0.1, End: 4}, {Type: "MultiStepLR", ByEpoch: true, Milestones: []float64{2}}}},
		TrainLoader: train, ValLoader: val, Metrics: []Metric{acc},
		Loop: loop, WorkDir: dir, Seed: 11, Log: log, ResumeHint: "dp train toy.yaml --resume",
	}
}

// TestTrainResumeBitExact trains 3 epochs straight, and again interrupted in
// the middle of epoch 2 and resumed from the checkpoint: the losses must be
// identical to the bit, and the run must learn.
func TestTrainResumeBitExact(t *testing.T) {
	loop := LoopOptions{ByEpoch: true, MaxEpochs: 3, ValInterval: 1, LogInterval: 2, MaxKeepCkpts: 2, SaveBest: "accuracy_top1", GradClip: 10}
	straight := map[int]float32{}
	dirA := t.TempDir()
	ra := newToyRunner(t, dirA, loop)
	if err := ra.Train(context.Background(), func(i int, l float32) { straight[i] = l }); err != nil {
		t.Fatal(err)
	}
	if len(straight) != 18 {
		t.Fatalf("%d iterations, want 18 (3 epochs of 6)", len(straight))
	}
	if !(straight[17] < straight[0]) {
		t.Errorf("loss did not fall: %v -> %v", straight[0], straight[17])
	}
	scores, err := ra.Validate("test")
	if err != nil {
		t.Fatal(err)
	}
	if scores["accuracy_top1"] < 0.9 {
		t.Errorf("accuracy %v after training, want >= 0.9", scores["accuracy_top1"])
	}

	// Interrupted run: cancel after iteration 8 (inside epoch 2).
	dirB := t.TempDir()
	rb := newToyRunner(t, dirB, loop)
	got, last, err := trainInterrupted(t, rb, 7)
	if err != nil || filepath.Base(last) != "iter_8.safetensors" {
		t.Fatalf("last checkpoint %q, %v; want iter_8.safetensors", last, err)
	}
	rc := newToyRunner(t, dirB, loop)
	resumeMatches(t, rc, last, got, straight, 18)
	// Checkpoints: the newest two periodic ones, the best, and the pointer.
	for _, name := range []string{"epoch_2.safetensors", "epoch_3.safetensors", "last_checkpoint", "log.jsonl", "log.txt"} {
		if _, err := os.Stat(filepath.Join(dirB, name)); err != nil {
			t.Errorf("work dir lacks %s", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dirB, "epoch_1.safetensors")); err == nil {
		t.Errorf("epoch_1 should have been pruned (max_keep_ckpts 2)")
	}
	if m, _ := filepath.Glob(filepath.Join(dirB, "best_accuracy_top1_epoch_*.safetensors")); len(m) != 1 {
		t.Errorf("best checkpoints: %v, want exactly one", m)
	}
	// The final weights equal the uninterrupted run's.
	for k, v := range nn.StateDict(ra.Model) {
		if d := tensor.MaxAbsDiff(v, nn.StateDict(rc.Model)[k]); d != 0 {
			t.Errorf("%s differs by %g after resume", k, d)
		}
	}
}

func TestIterBasedLoop(t *testing.T) {
	dir := t.TempDir()
	r := newToyRunner(t, dir, LoopOptions{MaxIters: 10, ValInterval: 4, LogInterval: 5})
	n := 0
	if err := r.Train(context.Background(), func(int, float32) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 10 || r.Position().Iter != 10 {
		t.Errorf("ran %d iterations, position %+v; want 10", n, r.Position())
	}
	for _, name := range []string{"iter_4.safetensors", "iter_8.safetensors", "iter_10.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s", name)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	if lines := strings.Count(string(b), "\n"); lines != 2+3 { // 2 train logs + 3 validations
		t.Errorf("log.jsonl has %d lines:\n%s", lines, b)
	}
	if !strings.Contains(string(b), `"mode":"val"`) || !strings.Contains(string(b), `"accuracy_top1"`) {
		t.Errorf("log.jsonl lacks validation records:\n%s", b)
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LastCheckpoint(dir); err == nil || err.Error() != fmt.Sprintf("engine: nothing to resume in %s: no last_checkpoint file (train first, or pass --resume FILE)", dir) {
		t.Errorf("LastCheckpoint on an empty dir: %v", err)
	}
	r := newToyRunner(t, dir, LoopOptions{MaxIters: 1})
	path := filepath.Join(dir, "c.safetensors")
	if err := SaveCheckpoint(path, r.Model, r.Optimizer, CheckpointMeta{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	trunc := filepath.Join(dir, "trunc.safetensors")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	err := r.Resume(trunc)
	if err == nil || !strings.Contains(err.Error(), trunc) {
		t.Errorf("truncated checkpoint: err = %v, want an error naming the file", err)
	}
	// Plain weights (no dp metadata) cannot be resumed from but load as weights.
	plain := filepath.Join(dir, "plain.safetensors")
	if err := SaveCheckpoint(plain, r.Model, nil, CheckpointMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWeights(plain, newToyModel(), true); err != nil {
		t.Errorf("LoadWeights: %v", err)
	}
}

// trainInterrupted trains r, cancelling it once iteration stopAt (0-based)
// has run, and returns the losses it logged by iteration and the last
// checkpoint it saved (with the error of finding it).
func trainInterrupted(t *testing.T, r *Runner, stopAt int) (map[int]float32, string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := map[int]float32{}
	err := r.Train(ctx, func(i int, l float32) {
		got[i] = l
		if i == stopAt {
			cancel()
		}
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: err = %v, want ErrInterrupted", err)
	}
	last, err := LastCheckpoint(r.WorkDir)
	return got, last, err
}

// resumeMatches resumes r from last, trains it to the end, adding its losses
// to got (those logged before the interruption), and checks the first n
// against the uninterrupted run's, to the bit.
func resumeMatches(t *testing.T, r *Runner, last string, got, straight map[int]float32, n int) {
	t.Helper()
	if err := r.Resume(last); err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), func(i int, l float32) { got[i] = l }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if got[i] != straight[i] {
			t.Errorf("iteration %d: resumed loss %v, uninterrupted %v", i, got[i], straight[i])
		}
	}
}
