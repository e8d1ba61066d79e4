package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/transforms"
)

// DataloaderOptions are the keys of train_dataloader, val_dataloader and
// test_dataloader: mmengine's DataLoader and sampler keys around the
// dataset.
type DataloaderOptions struct {
	Loader datasets.LoaderOptions `yaml:",inline"`
	// Dataset is built from the dataset registry; its pipeline key (or,
	// without one, the top-level train_pipeline / test_pipeline) lists the
	// transforms.
	Dataset config.Node `yaml:"dataset"`
	// Sampler is mmengine's sampler: DefaultSampler (shuffle: true|false)
	// or InfiniteSampler; its shuffle wins over the loader's.
	Sampler *SamplerOptions `yaml:"sampler"`
	// BatchSampler: AspectRatioBatchSampler turns on aspect-ratio grouping.
	BatchSampler *typeOnly `yaml:"batch_sampler"`
	// PersistentWorkers and PinMemory are accepted for mmengine configs;
	// dp's workers are goroutines and always persist.
	PersistentWorkers bool `yaml:"persistent_workers"`
	PinMemory         bool `yaml:"pin_memory"`
}

// SamplerOptions are the keys of a dataloader's sampler.
type SamplerOptions struct {
	Type    string `yaml:"type"`    // DefaultSampler or InfiniteSampler
	Shuffle *bool  `yaml:"shuffle"` // default true, as mmengine
	Seed    *int64 `yaml:"seed"`    // accepted; the run's seed is used
}

// BuildDataloader builds the loader of the config's dataloader key
// ("train_dataloader", "val_dataloader" or "test_dataloader") and its
// dataset. seed seeds the shuffle and the augmentations unless the loader
// sets its own seed. Training loaders shuffle by default (mmengine's
// DefaultSampler), others do not.
func BuildDataloader(cfg config.Node, key string, seed uint64) (*datasets.Loader, datasets.Dataset, error) {
	n := cfg.Field(key)
	if !n.Exists() || n.Kind() == config.Null {
		return nil, nil, &config.Error{File: cfg.File(), Path: key, Msg: "missing: add " + key + ": {batch_size: 2, num_workers: 2, dataset: {type: ..., data_root: ..., pipeline: [...]}}"}
	}
	opts := DataloaderOptions{Loader: datasets.DefaultLoaderOptions()}
	opts.Loader.Shuffle = key == "train_dataloader"
	if err := n.Decode(&opts); err != nil {
		return nil, nil, err
	}
	if !n.Get("seed").Exists() {
		opts.Loader.Seed = seed
	}
	if s := opts.Sampler; s != nil {
		switch s.Type {
		case "", "DefaultSampler", "InfiniteSampler":
		default:
			t := n.Get("sampler.type")
			return nil, nil, &config.Error{File: t.File(), Line: t.Line(), Path: t.Path(), Msg: fmt.Sprintf("unknown sampler %q: want DefaultSampler or InfiniteSampler", s.Type)}
		}
		opts.Loader.Shuffle = s.Shuffle == nil || *s.Shuffle
	}
	if b := opts.BatchSampler; b != nil {
		if b.Type != "AspectRatioBatchSampler" {
			t := n.Get("batch_sampler.type")
			return nil, nil, &config.Error{File: t.File(), Line: t.Line(), Path: t.Path(), Msg: fmt.Sprintf("unknown batch sampler %q: want AspectRatioBatchSampler", b.Type)}
		}
		opts.Loader.AspectRatioGrouping = true
	}
	ds, err := BuildDataset(opts.Dataset)
	if err != nil {
		return nil, nil, err
	}
	pipe, err := BuildPipeline(PipelineNode(cfg, key))
	if err != nil {
		return nil, nil, err
	}
	l, err := datasets.NewLoader(ds, pipe, opts.Loader)
	if err != nil {
		return nil, nil, &config.Error{File: n.File(), Line: n.Line(), Path: key, Err: err}
	}
	return l, ds, nil
}

// PipelineNode returns the transform list of a dataloader key: its
// dataset's pipeline, else the top-level train_pipeline (for
// train_dataloader) or test_pipeline (for the others), as mmdet configs
// define them beside the loaders.
func PipelineNode(cfg config.Node, key string) config.Node {
	if p := cfg.Get(key + ".dataset.pipeline"); p.Exists() {
		return p
	}
	if key == "train_dataloader" {
		return cfg.Field("train_pipeline")
	}
	return cfg.Field("test_pipeline")
}

// BuildPipeline builds a list of transforms (each a mapping with a "type"
// from the transforms registry) into a Pipeline; a missing list is the
// empty pipeline.
func BuildPipeline(n config.Node) (datasets.Pipeline, error) {
	switch n.Kind() {
	case config.Missing, config.Null:
		return nil, nil
	case config.List:
	default:
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "expected a list of transforms, each a mapping with a \"type\""}
	}
	syncTransforms()
	var p datasets.Pipeline
	for i := 0; i < n.Len(); i++ {
		t, err := transformRegistry.Build(n.Index(i))
		if err != nil {
			return nil, err
		}
		p = append(p, t)
	}
	return p, nil
}

// BuildInferencePipeline builds the test pipeline (as PipelineNode gives
// it for test_dataloader) without its LoadAnnotations steps, for running a
// model on images that have no annotations, as mmseg's inference API does.
func BuildInferencePipeline(cfg config.Node) (datasets.Pipeline, error) {
	n := PipelineNode(cfg, "test_dataloader")
	if n.Kind() != config.List {
		return BuildPipeline(n)
	}
	syncTransforms()
	var p datasets.Pipeline
	for i := 0; i < n.Len(); i++ {
		if n.Index(i).Type() == "LoadAnnotations" {
			continue
		}
		t, err := transformRegistry.Build(n.Index(i))
		if err != nil {
			return nil, err
		}
		p = append(p, t)
	}
	return p, nil
}

// transformRegistry mirrors the transforms package's table (which cannot
// import config) as the config.Transforms registry, so pipelines are built
// and listed like every other component.
var transformRegistry = config.NewRegistry[datasets.Transform](config.Transforms)

// syncTransforms registers every transform name not yet mirrored, including
// those a user package added with transforms.Register after this package's
// init.
func syncTransforms() {
	for _, name := range transforms.Names() {
		if transformRegistry.Has(name) {
			continue
		}
		transformRegistry.Register(name, func(n config.Node) (datasets.Transform, error) {
			opt, err := transforms.Options(name)
			if err != nil {
				return nil, err
			}
			if err := n.Decode(opt); err != nil {
				return nil, err
			}
			return transforms.Build(name, opt)
		})
	}
}

func init() { syncTransforms() }

// synthHint returns the dp data synth arguments that make a small dataset
// of a dataset type's layout, and the directory they write.
func synthHint(typ string) (args, dir string) {
	switch t := strings.ToLower(typ); {
	case strings.Contains(t, "coco"):
		return "--task det", "data/synth_coco"
	case strings.Contains(t, "voc"):
		return "--task det --format voc", "data/synth_voc"
	case strings.Contains(t, "imagenet") || strings.Contains(t, "folder") || strings.Contains(t, "cls"):
		return "--task cls", "data/synth_cls"
	case strings.Contains(t, "ade") || strings.Contains(t, "seg"):
		return "--task seg", "data/synth_ade"
	}
	return "--task det|seg|cls", "data/synth"
}

// CheckData reports, before anything is built, a dataset of the dataloader
// key whose data_root or ann_file does not exist: the error says where the
// data was expected, which key sets it, and how to get a dataset.
func CheckData(cfg config.Node, key string) error {
	ds := cfg.Get(key + ".dataset")
	if !ds.Exists() {
		return nil // BuildDataloader reports it
	}
	root := dataRoot(ds)
	check := func(keyName, path string) error {
		if path == "" {
			return nil
		}
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("engine: %s.dataset.%s: %w", key, keyName, err)
		}
		n := ds.Field(keyName)
		where := n.File()
		if n.Line() > 0 {
			where = fmt.Sprintf("%s:%d", where, n.Line())
		}
		args, dir := synthHint(ds.Type())
		return &MissingDataError{Key: key + ".dataset." + keyName, Path: path, Where: where, RootKey: key + ".dataset.data_root", SynthArgs: args, SynthDir: dir}
	}
	if err := check("data_root", root); err != nil {
		return err
	}
	if ann, ok := ds.Field("ann_file").Scalar(); ok && ds.Field("ann_file").Tag() == "!!str" {
		return check("ann_file", resolveAnnFile(ann, root))
	}
	return nil
}

// MissingDataError is a dataset path of the config that does not exist.
type MissingDataError struct {
	Key       string // config key that sets the path, e.g. "train_dataloader.dataset.data_root"
	Path      string // the path, as resolved
	Where     string // file:line of the key
	RootKey   string // the data_root key to override
	SynthArgs string // dp data synth arguments that make a small dataset of the right layout
	SynthDir  string // where those arguments write it
}

func (e *MissingDataError) Error() string {
	at := e.Path
	if abs, err := filepath.Abs(e.Path); err == nil && abs != filepath.Clean(e.Path) {
		at += " (" + abs + ")"
	}
	return fmt.Sprintf("engine: no data at %s, which %s sets in %s: put the dataset there or point the config at it with --cfg-options %s=DIR; to try dp on a small synthetic dataset, run `dp data synth %s --out %s` and pass --cfg-options %s=%s",
		at, e.Key, e.Where, e.RootKey, e.SynthArgs, e.SynthDir, e.RootKey, e.SynthDir)
}

// InferenceLoaderOptions returns the loader options of the config's
// test_dataloader (normalisation, padding: what the model was tested with)
// for running the model on loose images: batch size 1, no shuffle. The
// dataset part of test_dataloader is not read.
func InferenceLoaderOptions(cfg config.Node) (datasets.LoaderOptions, error) {
	opts := DataloaderOptions{Loader: datasets.DefaultLoaderOptions()}
	if n := cfg.Field("test_dataloader"); n.Exists() && n.Kind() != config.Null {
		if err := n.Decode(&opts); err != nil {
			return opts.Loader, err
		}
	}
	opts.Loader.BatchSize, opts.Loader.Shuffle, opts.Loader.AspectRatioGrouping, opts.Loader.DropLast = 1, false, false, false
	return opts.Loader, nil
}
