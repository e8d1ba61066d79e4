package tools

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataBrowse(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "coco")
	if _, err := runData(t, "data", "synth", "--task", "det", "--out", data, "--num", "4", "--size", "64"); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "browse.yaml")
	yaml := `train_dataloader:
  dataset:
    type: CocoDataset
    data_root: ` + data + `/
    ann_file: annotations/instances_train.json
    data_prefix: {img: train/}
    pipeline:
      - {type: LoadImage}
      - {type: LoadAnnotations, with_bbox: true, with_mask: true}
      - {type: Resize, img_scale: [[128, 128]], keep_ratio: true}
      - {type: RandomFlip, prob: 0.5}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "browse")
	stdout, err := runData(t, "data", "browse", "--num", "3", "--out-dir", out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote 3 samples of train_dataloader") {
		t.Errorf("stdout %q", stdout)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(files) != 3 {
		t.Fatalf("wrote %v, want 3 PNG files", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Resized to fit 128×128 keeping the ratio: the long side is 128.
	if b := img.Bounds(); max(b.Dx(), b.Dy()) != 128 {
		t.Errorf("picture is %v, want a long side of 128 (after the pipeline's Resize)", b)
	}
	if _, err := runData(t, "data", "browse", "--split", "dev", "--out-dir", out, cfg); err == nil || err.Error() != `data browse: --split "dev": want train, val or test` {
		t.Errorf("bad split: %v", err)
	}
}
