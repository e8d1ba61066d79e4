package tools

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets/vis"
	"github.com/densepred/dp/engine"
	"github.com/densepred/dp/tensor"
)

const browseUsage = "dp data browse [--split train|val|test] [--num 8] [--seed K] --out-dir DIR CONFIG [--cfg-options KEY=VALUE ...]"

// browseCommand renders samples as the model is fed them: read by the
// config's dataset, through its pipeline, with boxes, masks and labels drawn.
func browseCommand() *cli.Command {
	return &cli.Command{
		Name:      "browse",
		Usage:     "draw samples after the config's data pipeline (boxes, masks, labels) as PNG files",
		UsageText: browseUsage,
		Description: "Reads the first --num records of the split's dataset, runs each through the split's\n" +
			"pipeline with the run's per-sample randomness (seed --seed, epoch 0) and writes\n" +
			"<out-dir>/<index>_<image name>.png with the annotations drawn, so a person can check\n" +
			"what training sees. Flags may come before or after CONFIG.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "split", Value: "train", Usage: "which dataloader to read: train, val or test"},
			&cli.IntFlag{Name: "num", Value: 8, Usage: "number of samples to draw"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the augmentations"},
			&cli.StringFlag{Name: "out-dir", Usage: "directory for the PNG files", Required: true},
			newCfgOptionsFlag(),
		},
		Action: dataBrowse,
	}
}

func dataBrowse(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("data browse: expected one CONFIG, got %d arguments\nusage: %s", len(args), browseUsage)
	}
	split := c.String("split")
	if split != "train" && split != "val" && split != "test" {
		return fmt.Errorf("data browse: --split %q: want train, val or test", split)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	key := split + "_dataloader"
	dsNode := cfg.Get(key + ".dataset")
	if !dsNode.Exists() {
		return fmt.Errorf("data browse: %s has no %s.dataset", args[0], key)
	}
	ds, err := engine.BuildDataset(dsNode)
	if err != nil {
		return err
	}
	pipe, err := engine.BuildPipeline(engine.PipelineNode(cfg, key))
	if err != nil {
		return err
	}
	out := c.String("out-dir")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("data browse: %w", err)
	}
	n := min(c.Int("num"), ds.Len())
	rng := tensor.NewRNG(c.Uint64("seed"))
	for i := 0; i < n; i++ {
		s, err := ds.Get(i)
		if err != nil {
			return err
		}
		if err := pipe.Apply(s, rng.Split()); err != nil {
			return fmt.Errorf("data browse: record %d (%s): %w", i, s.Meta.File, err)
		}
		name := fmt.Sprintf("%04d_%s.png", i, trimExt(filepath.Base(s.Meta.File)))
		if err := writePNG(filepath.Join(out, name), vis.DrawSample(s, ds.Classes())); err != nil {
			return fmt.Errorf("data browse: %w", err)
		}
	}
	fmt.Fprintf(c.App.Writer, "wrote %d samples of %s to %s\n", n, key, out)
	return nil
}

func trimExt(name string) string { return name[:len(name)-len(filepath.Ext(name))] }

// writePNG encodes img to path through a temp file and a rename.
func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}
