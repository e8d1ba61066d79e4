package tools

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/datasets/imagenet"
	"github.com/densepred/dp/datasets/synth"
)

func init() {
	registerCommand(&cli.Command{
		Name:  "data",
		Usage: "make and convert datasets",
		Subcommands: []*cli.Command{
			{
				Name:      "synth",
				Usage:     "write a small learnable dataset of coloured shapes in a real format",
				UsageText: "dp data synth --task det|seg|cls --out DIR [--num N] [--size S] [--seed K] [--format coco|voc]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "task", Usage: "det (COCO or VOC layout), seg (ADE20K layout) or cls (class folders)", Required: true},
					&cli.StringFlag{Name: "out", Usage: "output directory", Required: true},
					&cli.IntFlag{Name: "num", Value: 64, Usage: "training images (per class for cls); validation gets a quarter"},
					&cli.IntFlag{Name: "size", Value: 256, Usage: "long side of each image in pixels"},
					&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "random seed; the same flags give the same files"},
					&cli.StringFlag{Name: "format", Value: "coco", Usage: "det layout: coco or voc"},
				},
				Action: dataSynth,
			},
			{
				Name:      "convert",
				Usage:     "write a class-folder image dataset (ImageNet layout) as Parquet shards",
				UsageText: "dp data convert --in DIR --out DIR [--prefix train] [--rows-per-shard N] [--class-map FILE]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "in", Usage: "split directory with one folder per class", Required: true},
					&cli.StringFlag{Name: "out", Usage: "directory for the shards", Required: true},
					&cli.StringFlag{Name: "prefix", Usage: "shard name prefix (default: the input directory's name)"},
					&cli.IntFlag{Name: "rows-per-shard", Value: 1000, Usage: "images per shard"},
					&cli.StringFlag{Name: "class-map", Usage: "file of class folder names, one per line, in label order (default: sorted folders)"},
				},
				Action: dataConvert,
			},
			browseCommand(),
		},
	})
}

func dataSynth(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("data synth: unexpected arguments %v\nusage: %s", c.Args().Slice(), c.Command.UsageText)
	}
	opt := synth.Options{
		Task: c.String("task"), Out: c.String("out"), Num: c.Int("num"), Size: c.Int("size"),
		Seed: c.Uint64("seed"), Format: c.String("format"),
	}
	if err := synth.Generate(opt); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s dataset to %s\n", opt.Task, opt.Out)
	return nil
}

func dataConvert(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("data convert: unexpected arguments %v\nusage: %s", c.Args().Slice(), c.Command.UsageText)
	}
	src, err := imagenet.OpenFolder(imagenet.FolderOptions{Root: c.String("in"), ClassMap: c.String("class-map")})
	if err != nil {
		return err
	}
	if src.Len() == 0 {
		return fmt.Errorf("data convert: no images under %s", c.String("in"))
	}
	prefix := c.String("prefix")
	if prefix == "" {
		prefix = filepath.Base(filepath.Clean(c.String("in")))
	}
	paths, err := imagenet.WriteParquet(src, c.String("out"), imagenet.WriteOptions{Prefix: prefix, RowsPerShard: c.Int("rows-per-shard")})
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(c.App.Writer, p)
	}
	fmt.Fprintf(c.App.Writer, "%d images of %d classes in %d shards\n", src.Len(), len(src.Classes()), len(paths))
	return nil
}
