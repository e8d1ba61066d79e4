package tools

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/config"
)

// walkCommands calls fn with every command and subcommand and its full
// name ("config show").
func walkCommands(cmds []*cli.Command, prefix string, fn func(name string, c *cli.Command)) {
	for _, c := range cmds {
		if c.Name == "help" {
			continue // urfave/cli's own, added when an app runs
		}
		name := strings.TrimSpace(prefix + " " + c.Name)
		fn(name, c)
		walkCommands(c.Subcommands, name, fn)
	}
}

// TestHelpComplete checks that dp --help lists every command and that each
// command's help has its one-line usage, a usage line starting with its
// full name, and every flag with its own usage string.
func TestHelpComplete(t *testing.T) {
	app := App(nil, nil)
	top, _, code := dp(t, "--help")
	if code != 0 {
		t.Fatalf("dp --help exited %d", code)
	}
	for _, c := range app.Commands {
		if !strings.Contains(top, c.Name) || !strings.Contains(top, c.Usage) {
			t.Errorf("dp --help does not list %s: %s", c.Name, c.Usage)
		}
	}
	n := 0
	walkCommands(app.Commands, "", func(name string, c *cli.Command) {
		n++
		if c.Usage == "" {
			t.Errorf("dp %s has no Usage", name)
		}
		if c.Action == nil { // a group: its help lists the subcommands
			return
		}
		help, _, code := dp(t, append(strings.Fields(name), "--help")...)
		if code != 0 {
			t.Errorf("dp %s --help exited %d", name, code)
		}
		if !strings.Contains(help, "USAGE:\n   dp "+name) {
			t.Errorf("dp %s --help has no usage line starting with its name:\n%s", name, help)
		}
		if c.UsageText != "" && !strings.Contains(help, c.UsageText) {
			t.Errorf("dp %s --help lacks its usage line %q:\n%s", name, c.UsageText, help)
		}
		for _, f := range c.Flags {
			usage := ""
			if d, ok := f.(cli.DocGenerationFlag); ok {
				usage = d.GetUsage()
			}
			if usage == "" {
				t.Errorf("dp %s: flag --%s has no usage string", name, f.Names()[0])
			}
			if !strings.Contains(help, "--"+f.Names()[0]) {
				t.Errorf("dp %s --help does not show --%s", name, f.Names()[0])
			}
		}
	})
	if n < 5 {
		t.Errorf("only %d commands registered", n)
	}
}

func TestReorderArgs(t *testing.T) {
	app := App(nil, nil)
	tests := []struct {
		in, want string
	}{
		{"dp train c.yaml --work-dir w --seed 3", "dp train --work-dir w --seed 3 c.yaml"},
		{"dp train c.yaml --resume", "dp train --resume=auto c.yaml"},
		{"dp train --resume c.yaml", "dp train --resume=auto c.yaml"},
		{"dp train c.yaml --resume w/iter_8.safetensors --seed=2", "dp train --resume=w/iter_8.safetensors --seed=2 c.yaml"},
		{"dp train c.yaml --resume --cfg-options a=1 b=[1,2] --work-dir w", "dp train --resume=auto --cfg-options a=1 --cfg-options b=[1,2] --work-dir w c.yaml"},
		{"dp test c.yaml k.safetensors --eval bbox segm --out r.json", "dp test --eval bbox --eval segm --out r.json c.yaml k.safetensors"},
		{"dp test --eval bbox c.yaml k.safetensors", "dp test --eval bbox c.yaml k.safetensors"},
		{"dp plot log.jsonl --keys loss bbox_mAP --out c.png", "dp plot --keys loss --keys bbox_mAP --out c.png log.jsonl"},
		{"dp config show c.yaml --cfg-options a=1", "dp config show --cfg-options a=1 c.yaml"},
		{"dp --help", "dp --help"},
		{"dp infer c.yaml k a.png -- -odd.png", "dp infer c.yaml k a.png -- -odd.png"},
		{"dp nosuch c.yaml --x", "dp nosuch c.yaml --x"},
	}
	for _, tt := range tests {
		got := strings.Join(reorderArgs(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("reorderArgs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	nodata := filepath.Join(dir, "nodata")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"train"}, "dp: train: expected one CONFIG, got 0 arguments []\n" + trainUsage + "\n"},
		{[]string{"train", tinyConfig, "--work-dir", filepath.Join(dir, "wd"), "--cfg-options", "train_dataloader.dataset.data_root=" + nodata},
			"dp: engine: no data at " + nodata + ", which train_dataloader.dataset.data_root sets in --cfg-options: put the dataset there or point the config at it with --cfg-options train_dataloader.dataset.data_root=DIR; to try dp on a small synthetic dataset, run `dp data synth --task cls --out data/synth_cls` and pass --cfg-options train_dataloader.dataset.data_root=data/synth_cls\n"},
		{[]string{"train", tinyConfig, "--work-dir", filepath.Join(dir, "wd"), "--resume", filepath.Join(dir, "none.safetensors"), "--cfg-options",
			"train_dataloader.dataset.data_root=" + dir, "val_dataloader.dataset.data_root=" + dir},
			"dp: engine: resume from " + filepath.Join(dir, "none.safetensors") + ": no such file or directory\n"},
		{[]string{"test", tinyConfig}, "dp: test: expected CONFIG and CHECKPOINT, got 1 arguments [\"" + tinyConfig + "\"]\n" + testUsage + "\n"},
		{[]string{"infer", tinyConfig, "k.safetensors", "--out-dir", dir}, "dp: infer: expected CONFIG, CHECKPOINT and at least one IMAGE, got 2 arguments [\"" + tinyConfig + "\" \"k.safetensors\"]\n" + inferUsage + "\n"},
		{[]string{"plot", "--out", filepath.Join(dir, "c.png")}, "dp: plot: expected at least one LOG.jsonl\n" + plotUsage + "\n"},
	}
	for _, tt := range tests {
		_, stderr, code := dp(t, tt.args...)
		if code != 1 || stderr != tt.want {
			t.Errorf("dp %s: exit %d, stderr\n%s\nwant exit 1 and\n%s", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
	// The error came before anything was written.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs wrote %v", entries)
	}
}

func TestSelectMetrics(t *testing.T) {
	cfg := parseConfig(t, "test_evaluator: [{type: CocoMetric, ann_file: a.json, metric: [bbox, segm]}, {type: Accuracy}]")
	got, err := selectMetrics(cfg, []string{"segm"})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := got.Field("test_evaluator").Decode(&v); err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"type": "CocoMetric", "ann_file": "a.json", "metric": []any{"segm"}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("--eval segm: test_evaluator %v, want %v", v, want)
	}
	if _, err := selectMetrics(cfg, []string{"mIoU"}); err == nil || err.Error() != "test: --eval mIoU: the config's test_evaluator does not compute it (it offers: bbox, segm, accuracy)" {
		t.Errorf("--eval mIoU: %v", err)
	}
}

func parseConfig(t *testing.T, text string) config.Node {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
