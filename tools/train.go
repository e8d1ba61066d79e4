package tools

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/urfave/cli/v2"

	// The components a config can name; a custom main that calls Main gets
	// them too.
	_ "github.com/densepred/dp/backbone/resnet"
	_ "github.com/densepred/dp/backbone/snnmlp"
	"github.com/densepred/dp/config"
	_ "github.com/densepred/dp/datasets/coco"
	_ "github.com/densepred/dp/datasets/imagenet"
	_ "github.com/densepred/dp/datasets/seg"
	_ "github.com/densepred/dp/datasets/voc"
	"github.com/densepred/dp/engine"
)

const trainUsage = "usage: dp train [flags] CONFIG [--cfg-options KEY=VALUE ...]"

func init() {
	registerCommand(&cli.Command{
		Name:      "train",
		Usage:     "train a model from a config, writing checkpoints and logs to its work dir",
		UsageText: trainUsage[len("usage: "):],
		Description: "The work dir (--work-dir, else the config's work_dir, else work_dirs/<config name>)\n" +
			"receives the merged config, log.jsonl, log.txt, checkpoints (*.safetensors) and\n" +
			"last_checkpoint. Ctrl-C finishes the current step, saves a checkpoint and prints\n" +
			"the command that resumes; a second Ctrl-C quits at once. Flags may come before or\n" +
			"after CONFIG.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "work-dir", Usage: "`DIR` for checkpoints and logs (default: the config's work_dir, else work_dirs/<config name>)"},
			&cli.StringFlag{Name: "resume", Usage: "continue training from the checkpoint `[FILE]`, or with no FILE from the work dir's last_checkpoint (starting afresh if there is none)"},
			&cli.StringFlag{Name: "load-from", Usage: "initialise the model with the weights in `FILE` (dp, safetensors or PyTorch checkpoint) and train from iteration 0"},
			&cli.BoolFlag{Name: "auto-scale-lr", Usage: "scale the learning rate by the batch size over auto_scale_lr.base_batch_size (the linear scaling rule)"},
			&cli.Uint64Flag{Name: "seed", Usage: "random seed `N` of the run", DefaultText: "the config's randomness.seed, else random"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole run to `FILE`, for go tool pprof"},
			newCfgOptionsFlag(),
		},
		Action: trainMain,
	})
}

func trainMain(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("train: expected one CONFIG, got %d arguments %q\n%s", len(args), args, trainUsage)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	bo := engine.BuildOptions{
		ConfigPath:  args[0],
		WorkDir:     c.String("work-dir"),
		Resume:      c.String("resume"),
		LoadFrom:    c.String("load-from"),
		AutoScaleLR: c.Bool("auto-scale-lr"),
		Console:     c.App.Writer,
	}
	if c.IsSet("seed") {
		s := c.Uint64("seed")
		bo.Seed = &s
	}
	r, err := engine.Build(cfg, bo)
	if err != nil {
		return err
	}
	defer r.Log.Close()
	r.ResumeHint = resumeCommand(args[0], c.String("work-dir"), opts)
	if path := c.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("train: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("train: cpu profile %s: %w", path, err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := engine.WithInterrupt(context.Background(), c.App.ErrWriter)
	defer stop()
	if err := r.Train(ctx, nil); err != nil {
		return err
	}
	r.Log.Printf("training finished: checkpoints and logs in %s\n", r.WorkDir)
	return nil
}

// resumeCommand is the command line that continues an interrupted run.
func resumeCommand(cfgPath, workDir string, opts []string) string {
	parts := []string{"dp", "train", shellQuote(cfgPath)}
	if workDir != "" {
		parts = append(parts, "--work-dir", shellQuote(workDir))
	}
	parts = append(parts, "--resume")
	if len(opts) > 0 {
		parts = append(parts, "--cfg-options")
		for _, o := range opts {
			parts = append(parts, shellQuote(o))
		}
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
