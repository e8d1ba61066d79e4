package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/optim"
	"github.com/densepred/dp/tensor"
)

// optimPrefix marks optimizer-state tensors in a dp checkpoint; model
// tensors are stored under their state-dict keys as they are, so a dp
// checkpoint loads as plain weights anywhere a state dict is expected.
const optimPrefix = "optimizer."

// emaSourcePrefix marks, in a checkpoint written with EMAHook, the model's
// own (trained) weights; the unprefixed keys then hold the averaged
// weights, so that evaluating or fine-tuning from the checkpoint uses
// them, as with mmengine's EMAHook.
const emaSourcePrefix = "ema_source."

// lastCheckpointFile names the file in the work dir holding the path of the
// newest checkpoint, as mmengine's last_checkpoint.
const lastCheckpointFile = "last_checkpoint"

// Position is where training stands: Epoch epochs and Iter iterations are
// complete.
type Position struct {
	Epoch, Iter int
}

// CheckpointMeta is what a dp checkpoint records besides tensors.
type CheckpointMeta struct {
	Position
	Seed       uint64
	ConfigHash string
	BestScore  float64 // best value of the save_best metric so far; NaN if none
	BestFile   string  // file name of the best checkpoint so far
}

func (m CheckpointMeta) encode() map[string]string {
	return map[string]string{
		"format":      "dp-checkpoint-1",
		"epoch":       strconv.Itoa(m.Epoch),
		"iter":        strconv.Itoa(m.Iter),
		"seed":        strconv.FormatUint(m.Seed, 10),
		"config_hash": m.ConfigHash,
		"best_score":  strconv.FormatFloat(m.BestScore, 'g', -1, 64),
		"best_file":   m.BestFile,
	}
}

func decodeMeta(path string, md map[string]string) (CheckpointMeta, error) {
	var m CheckpointMeta
	if md["format"] != "dp-checkpoint-1" {
		return m, fmt.Errorf("engine: %s: not a dp training checkpoint (no format metadata); use it with load_from or init.checkpoint instead", path)
	}
	var err error
	get := func(k string) string { return md[k] }
	if m.Epoch, err = strconv.Atoi(get("epoch")); err != nil {
		return m, fmt.Errorf("engine: %s: metadata epoch %q: %v", path, get("epoch"), err)
	}
	if m.Iter, err = strconv.Atoi(get("iter")); err != nil {
		return m, fmt.Errorf("engine: %s: metadata iter %q: %v", path, get("iter"), err)
	}
	if m.Seed, err = strconv.ParseUint(get("seed"), 10, 64); err != nil {
		return m, fmt.Errorf("engine: %s: metadata seed %q: %v", path, get("seed"), err)
	}
	if m.BestScore, err = strconv.ParseFloat(get("best_score"), 64); err != nil {
		return m, fmt.Errorf("engine: %s: metadata best_score %q: %v", path, get("best_score"), err)
	}
	m.ConfigHash, m.BestFile = get("config_hash"), get("best_file")
	return m, nil
}

// SaveCheckpoint writes the model's state dict, the optimizer state (if opt
// is not nil) and meta to path atomically (temp file, fsync, rename).
func SaveCheckpoint(path string, model nn.Module, opt optim.Optimizer, meta CheckpointMeta) error {
	return checkpointState(model, opt, meta).write(path)
}

// checkpointState collects what SaveCheckpoint writes. The tensors are the
// model's and optimizer's own, not copies.
func checkpointState(model nn.Module, opt optim.Optimizer, meta CheckpointMeta) *CheckpointState {
	all := map[string]*tensor.Tensor{}
	for k, t := range nn.StateDict(model) {
		all[k] = t
	}
	if opt != nil {
		for k, t := range opt.State() {
			all[optimPrefix+k] = t
		}
	}
	return &CheckpointState{Tensors: all, Meta: meta.encode()}
}

// write writes the checkpoint to path atomically.
func (ck *CheckpointState) write(path string) error {
	if err := checkpoint.WriteSafetensors(path, ck.Tensors, ck.Meta); err != nil {
		return fmt.Errorf("engine: save checkpoint: %w", err)
	}
	return nil
}

// LoadWeights reads model weights from a dp checkpoint, a safetensors file or
// a PyTorch .pth/.pt file into model and returns the load report. Optimizer
// state in a dp checkpoint is skipped, and so are the trained weights kept
// beside the averaged ones by EMAHook: a checkpoint written with EMAHook
// loads its exponential moving average. With strict, missing or unexpected
// keys are errors; a shape mismatch always is.
func LoadWeights(path string, model nn.Module, strict bool) (nn.LoadReport, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nn.LoadReport{}, err
	}
	sd := map[string]*tensor.Tensor{}
	for k, t := range f.Tensors {
		if !strings.HasPrefix(k, optimPrefix) && !strings.HasPrefix(k, emaSourcePrefix) {
			sd[k] = t
		}
	}
	rep, err := nn.LoadStateDict(model, sd, strict)
	if err != nil {
		return rep, fmt.Errorf("engine: %s: %w", path, err)
	}
	return rep, nil
}

// loadTraining restores model, optimizer and meta from a dp checkpoint.
// afterLoad, if not nil, sees the checkpoint first and takes out the keys
// its hooks added (EMAHook's).
func loadTraining(path string, model nn.Module, opt optim.Optimizer, afterLoad func(*CheckpointState) error) (CheckpointMeta, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return CheckpointMeta{}, err
	}
	meta, err := decodeMeta(path, f.Metadata)
	if err != nil {
		return meta, err
	}
	ck := &CheckpointState{Tensors: f.Tensors, Meta: f.Metadata}
	if afterLoad != nil {
		if err := afterLoad(ck); err != nil {
			return meta, fmt.Errorf("engine: resume from %s: %w", path, err)
		}
	}
	sd, st := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for k, t := range ck.Tensors {
		if strings.HasPrefix(k, emaSourcePrefix) {
			return meta, fmt.Errorf("engine: resume from %s: it was saved with EMAHook (keys %s*): add {type: EMAHook} to custom_hooks to resume it, or start from its averaged weights with load_from", path, emaSourcePrefix)
		}
		if s, ok := strings.CutPrefix(k, optimPrefix); ok {
			st[s] = t
		} else {
			sd[k] = t
		}
	}
	if _, err := nn.LoadStateDict(model, sd, true); err != nil {
		return meta, fmt.Errorf("engine: resume from %s: %w", path, err)
	}
	if opt != nil {
		if err := opt.LoadState(st); err != nil {
			return meta, fmt.Errorf("engine: resume from %s: %w", path, err)
		}
	}
	return meta, nil
}

// writeAtomic writes data to path through a temp file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LastCheckpoint returns the checkpoint named by workDir/last_checkpoint, or
// an error saying that there is none to resume from.
func LastCheckpoint(workDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(workDir, lastCheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("engine: nothing to resume in %s: no %s file (train first, or pass --resume FILE)", workDir, lastCheckpointFile)
	}
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if !filepath.IsAbs(name) {
		name = filepath.Join(workDir, name)
	}
	return name, nil
}

// pruneCheckpoints removes the oldest periodic checkpoints (prefix_N) of
// workDir beyond keep, never the one named protect.
func pruneCheckpoints(workDir, prefix string, keep int, protect string) error {
	if keep <= 0 {
		return nil
	}
	matches, err := filepath.Glob(filepath.Join(workDir, prefix+"*.safetensors"))
	if err != nil {
		return err
	}
	type ck struct {
		path string
		n    int
	}
	var cks []ck
	for _, m := range matches {
		s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), prefix), ".safetensors")
		if n, err := strconv.Atoi(s); err == nil {
			cks = append(cks, ck{m, n})
		}
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].n < cks[j].n })
	for len(cks) > keep {
		if filepath.Base(cks[0].path) != protect {
			if err := os.Remove(cks[0].path); err != nil {
				return err
			}
		}
		cks = cks[1:]
	}
	return nil
}
