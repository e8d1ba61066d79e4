package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCustomBinary builds this example as a user would (go build) and runs
// the result: its help lists dp's commands, its registry listing shows the
// custom backbone beside dp's own, and it trains a config that names it.
func TestCustomBinary(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mydp")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("mydp %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	help := run("--help")
	for _, cmd := range []string{"train", "test", "infer", "plot", "config", "data"} {
		if !strings.Contains(help, "\n   "+cmd) {
			t.Errorf("mydp --help does not list %s:\n%s", cmd, help)
		}
	}
	regs := run("config", "registries")
	_, backbones, _ := strings.Cut(regs, "backbones:")
	backbones, _, _ = strings.Cut(backbones, "necks:")
	for _, name := range []string{"SNNMLP", "TinyConvNet"} {
		if !strings.Contains(backbones, "\n  "+name+"\n") {
			t.Errorf("mydp config registries does not list backbone %s:\n%s", name, regs)
		}
	}

	data := filepath.Join(dir, "data")
	run("data", "synth", "--task", "cls", "--num", "2", "--size", "64", "--out", data)
	wd := filepath.Join(dir, "work")
	out := run("train", "config.yaml", "--work-dir", wd, "--cfg-options",
		"train_dataloader.dataset.data_root="+filepath.Join(data, "train"),
		"val_dataloader.dataset.data_root="+filepath.Join(data, "val"),
		"train_cfg.max_epochs=1")
	if !strings.Contains(out, "accuracy_top1") {
		t.Errorf("training printed no validation:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(wd, "epoch_1.safetensors")); err != nil {
		t.Errorf("no checkpoint: %v", err)
	}
}
