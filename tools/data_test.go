package tools

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets/coco"
	"github.com/densepred/dp/datasets/imagenet"
)

func runData(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := App(&out, &errOut).Run(append([]string{"dp"}, args...))
	return out.String(), err
}

func TestDataSynthAndConvert(t *testing.T) {
	dir := t.TempDir()
	det := filepath.Join(dir, "det")
	if _, err := runData(t, "data", "synth", "--task", "det", "--out", det, "--num", "4", "--size", "96", "--seed", "2"); err != nil {
		t.Fatal(err)
	}
	d, err := coco.Open(coco.Options{AnnFile: filepath.Join(det, "annotations", "instances_val.json"), TestMode: true})
	if err != nil || d.Len() != 1 {
		t.Fatalf("synth det: %v", err)
	}
	cls := filepath.Join(dir, "cls")
	if _, err := runData(t, "data", "synth", "--task", "cls", "--out", cls, "--num", "3", "--size", "64"); err != nil {
		t.Fatal(err)
	}
	shards := filepath.Join(dir, "shards")
	out, err := runData(t, "data", "convert", "--in", filepath.Join(cls, "train"), "--out", shards, "--rows-per-shard", "5")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "12 images of 4 classes in 3 shards\n") || !strings.Contains(out, "train-00002-of-00003.parquet") {
		t.Errorf("convert output %q", out)
	}
	p, err := imagenet.OpenParquet(imagenet.ParquetOptions{Files: []string{filepath.Join(shards, "*.parquet")}})
	if err != nil || p.Len() != 12 {
		t.Fatalf("shards: %v", err)
	}
	p.Close()

	if _, err := runData(t, "data", "synth", "--task", "pose", "--out", dir); err == nil || err.Error() != `synth: task "pose", want det, seg or cls` {
		t.Errorf("bad task: %v", err)
	}
	if _, err := runData(t, "data", "convert", "--in", filepath.Join(dir, "missing"), "--out", shards); err == nil ||
		!strings.HasPrefix(err.Error(), "imagenet: "+filepath.Join(dir, "missing")+": cannot list class folders") {
		t.Errorf("missing input: %v", err)
	}
	os.RemoveAll(dir)
}
