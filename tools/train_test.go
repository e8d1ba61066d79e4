package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/engine"
)

// TestMain lets the test binary stand in for the dp command, so that a
// test can run training in a child process and interrupt it with SIGINT.
func TestMain(m *testing.M) {
	if os.Getenv("DP_TOOLS_TEST_MAIN") == "1" {
		os.Exit(Main(append([]string{"dp"}, os.Args[1:]...)))
	}
	os.Exit(m.Run())
}

// dp runs the CLI in-process as Main does (flags after arguments allowed)
// and returns its output and exit status.
func dp(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = mainWith(append([]string{"dp"}, args...), &o, &e)
	return o.String(), e.String(), code
}

const tinyConfig = "testdata/cls_tiny.yaml"

// logRecord is one line of log.jsonl.
type logRecord struct {
	Mode   string
	Iter   int
	Values map[string]float64
}

func readLog(t *testing.T, path string) []logRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := logRecord{Mode: raw["mode"].(string), Iter: int(raw["iter"].(float64)), Values: map[string]float64{}}
		for k, v := range raw {
			if f, ok := v.(float64); ok {
				r.Values[k] = f
			}
		}
		out = append(out, r)
	}
	return out
}

// trainLosses returns the loss logged at every iteration (the logger
// interval is 1) and the validation accuracy by iteration.
func trainLosses(t *testing.T, recs []logRecord) (loss, acc map[int]float64) {
	loss, acc = map[int]float64{}, map[int]float64{}
	for _, r := range recs {
		switch r.Mode {
		case "train":
			if _, dup := loss[r.Iter]; dup {
				t.Errorf("iteration %d logged twice", r.Iter)
			}
			loss[r.Iter] = r.Values["loss"]
		case "val":
			acc[r.Iter] = r.Values["accuracy_top1"]
		}
	}
	return loss, acc
}

// TestTrainInterruptResumeTestInferPlot is the end-to-end run: synthetic
// data, a tiny SNN-MLP classifier trained in a child process and stopped
// with SIGINT, resumed, and compared to the bit with an uninterrupted run;
// then dp test, dp infer and dp plot on the result.
func TestTrainInterruptResumeTestInferPlot(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, stderr, code := dp(t, "data", "synth", "--task", "cls", "--num", "2", "--size", "64", "--seed", "1", "--out", data); code != 0 {
		t.Fatalf("dp data synth: %s", stderr)
	}
	dataOpts := []string{
		"train_dataloader.dataset.data_root=" + filepath.Join(data, "train"),
		"val_dataloader.dataset.data_root=" + filepath.Join(data, "val"),
		"test_dataloader.dataset.data_root=" + filepath.Join(data, "val"),
		"default_hooks.logger.interval=1",
	}

	// The interrupted run: long enough never to finish, stopped by SIGINT
	// once a few iterations are logged. The schedule's ends are explicit,
	// so max_epochs changes nothing but the length.
	wdB := filepath.Join(dir, "interrupted")
	args := append([]string{"train", tinyConfig, "--work-dir", wdB, "--seed", "5", "--cfg-options"}, dataOpts...)
	cmd := exec.Command(os.Args[0], append(args, "train_cfg.max_epochs=1000")...)
	cmd.Env = append(os.Environ(), "DP_TOOLS_TEST_MAIN=1")
	var childOut, childErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &childOut, &childErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(wdB, "log.jsonl"))
		if bytes.Count(b, []byte(`"mode":"train"`)) >= 6 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("training logged no 6 iterations in 30 s\nstdout:\n%s\nstderr:\n%s", childOut.String(), childErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != engine.InterruptExitCode {
		t.Fatalf("interrupted run: %v, want exit status %d\nstderr:\n%s", err, engine.InterruptExitCode, childErr.String())
	}
	if !strings.Contains(childOut.String(), "resume with: dp train "+tinyConfig+" --work-dir "+wdB+" --resume --cfg-options ") {
		t.Errorf("interrupted run printed no resume command:\n%s", childOut.String())
	}
	last, err := engine.LastCheckpoint(wdB)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`iter_(\d+)\.safetensors$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last checkpoint %s, want iter_N.safetensors", last)
	}
	k, _ := strconv.Atoi(m[1])
	cfg, err := config.Load(tinyConfig)
	if err != nil {
		t.Fatal(err)
	}
	model, err := engine.BuildModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.LoadWeights(last, model, true); err != nil {
		t.Errorf("the checkpoint saved on SIGINT does not load: %v", err)
	}

	// Resume to the end of a short run, and run the same straight.
	const perEpoch = 4 // 8 images, batch 2
	epochs := k/perEpoch + 2
	short := "train_cfg.max_epochs=" + strconv.Itoa(epochs)
	if _, stderr, code := dp(t, append([]string{"train", tinyConfig, "--work-dir", wdB, "--resume", "--cfg-options", short}, dataOpts...)...); code != 0 {
		t.Fatalf("resume: %s", stderr)
	}
	wdA := filepath.Join(dir, "straight")
	// Flags after CONFIG, as with mmdet's tools.
	if _, stderr, code := dp(t, append([]string{"train", tinyConfig, "--seed", "5", "--cfg-options", short}, append(dataOpts, "--work-dir", wdA)...)...); code != 0 {
		t.Fatalf("straight run: %s", stderr)
	}
	lossA, accA := trainLosses(t, readLog(t, filepath.Join(wdA, "log.jsonl")))
	lossB, accB := trainLosses(t, readLog(t, filepath.Join(wdB, "log.jsonl")))
	if len(lossA) != epochs*perEpoch || len(lossB) != len(lossA) {
		t.Fatalf("logged %d and %d iterations, want %d", len(lossA), len(lossB), epochs*perEpoch)
	}
	for i := 1; i <= epochs*perEpoch; i++ {
		if lossA[i] != lossB[i] {
			t.Errorf("iteration %d (interrupted after %d): loss %v resumed, %v uninterrupted", i, k, lossB[i], lossA[i])
		}
	}
	for it, a := range accA {
		if b, ok := accB[it]; !ok || a != b {
			t.Errorf("validation at iteration %d: accuracy %v resumed, %v uninterrupted", it, b, a)
		}
	}
	if !(lossA[epochs*perEpoch] < lossA[1]) {
		t.Errorf("loss did not fall: %v -> %v", lossA[1], lossA[epochs*perEpoch])
	}
	if _, err := config.Load(filepath.Join(wdA, "cls_tiny.yaml")); err != nil {
		t.Errorf("merged config in the work dir: %v", err)
	}

	// dp test prints the metrics: the same as the last validation.
	ckpt := filepath.Join(wdA, fmt.Sprintf("epoch_%d.safetensors", epochs))
	show := filepath.Join(dir, "show")
	stdout, stderr, code := dp(t, append([]string{"test", tinyConfig, ckpt, "--work-dir", wdA, "--show-dir", show, "--eval", "accuracy", "--cfg-options"}, dataOpts...)...)
	if code != 0 {
		t.Fatalf("dp test: %s", stderr)
	}
	want := fmt.Sprintf("accuracy_top1: %.4f\naccuracy_top2: ", accA[epochs*perEpoch])
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("dp test printed\n%s\nwant it to begin\n%s", stdout, want)
	}
	var saved map[string]float64
	if b, err := os.ReadFile(filepath.Join(wdA, "eval.json")); err != nil {
		t.Errorf("dp test wrote no eval.json: %v", err)
	} else if err := json.Unmarshal(b, &saved); err != nil || saved["accuracy_top1"] != accA[epochs*perEpoch] {
		t.Errorf("eval.json = %s (%v), want accuracy_top1 %v", b, err, accA[epochs*perEpoch])
	}
	shown, _ := filepath.Glob(filepath.Join(show, "*.png"))
	if len(shown) != 4 {
		t.Errorf("--show-dir wrote %d pictures, want 4 (one per test image)", len(shown))
	}

	// dp infer writes a decodable PNG per image, enlarged for legibility.
	img := filepath.Join(data, "val", "circle", "circle_000001.png")
	vis := filepath.Join(dir, "vis")
	if _, stderr, code := dp(t, "infer", tinyConfig, ckpt, img, "--out-dir", vis); code != 0 {
		t.Fatalf("dp infer: %s", stderr)
	}
	checkPNG(t, filepath.Join(vis, "circle_000001.png"), 256, 256)

	// A truncated checkpoint is an error naming the file.
	trunc := filepath.Join(dir, "trunc.safetensors")
	b, _ := os.ReadFile(ckpt)
	os.WriteFile(trunc, b[:len(b)/3], 0o644)
	if _, stderr, code := dp(t, "infer", tinyConfig, trunc, img, "--out-dir", vis); code != 1 || !strings.Contains(stderr, trunc) {
		t.Errorf("dp infer with a truncated checkpoint: exit %d, stderr %q; want 1 and the file named", code, stderr)
	}

	// load_from starts a new run from the trained weights.
	stdout, stderr, code = dp(t, append([]string{"train", tinyConfig, "--work-dir", filepath.Join(dir, "finetune"), "--load-from", ckpt, "--cfg-options", "train_cfg.max_epochs=1"}, dataOpts...)...)
	if code != 0 || !strings.Contains(stdout, "loaded weights from "+ckpt) {
		t.Errorf("--load-from: exit %d, stdout\n%s\nstderr\n%s", code, stdout, stderr)
	}

	// dp plot draws the curves.
	curve := filepath.Join(dir, "curve.png")
	if _, stderr, code := dp(t, "plot", filepath.Join(wdA, "log.jsonl"), "--keys", "loss,accuracy_top1", "--out", curve); code != 0 {
		t.Fatalf("dp plot: %s", stderr)
	}
	checkPNG(t, curve, 0, 0)
}

// checkPNG decodes a PNG and checks its size (0 for any).
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	b := img.Bounds()
	if (w > 0 && b.Dx() != w) || (h > 0 && b.Dy() != h) || b.Dx() < 64 || b.Dy() < 64 {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
}
