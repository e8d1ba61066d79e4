package tools

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainReportsInitCheckpoint starts the demo detector, narrowed to the
// small SNN-MLP of models/testdata, from that model's classification
// weights written by PyTorch (init.checkpoint) and checks that dp train
// says what the file set: the backbone but its out-norms, with the neck
// and heads kept as initialised and only the classifier head unused.
func TestTrainReportsInitCheckpoint(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, stderr, code := dp(t, "data", "synth", "--task", "det", "--num", "4", "--size", "64", "--seed", "1", "--out", data); code != 0 {
		t.Fatalf("dp data synth: %s", stderr)
	}
	ckpt := "../models/testdata/snnmlp_mini.pth"
	stdout, stderr, code := dp(t, "train", "../configs/det_maskrcnn_demo.yaml", "--work-dir", filepath.Join(dir, "wd"), "--cfg-options",
		"train_dataloader.dataset.data_root="+data, "val_dataloader.dataset.data_root="+data,
		"train_cfg.max_iters=1", "train_dataloader.batch_size=2",
		"model.backbone.embed_dim=4", "model.backbone.depths=[1,1,1,1]", "model.backbone.init.checkpoint="+ckpt)
	if code != 0 {
		t.Fatalf("dp train: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"init checkpoint " + ckpt + " loaded into backbone: 125 keys set\n",
		"  kept as initialised (46 keys): backbone.norm0 (2), backbone.norm1 (2), backbone.norm2 (2), backbone.norm3 (2), neck (16), rpn_head (6), roi_head (16)\n",
		"  unused from the checkpoint (4 keys): head (2), norm (2)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dp train output lacks %q:\n%s", want, stdout)
		}
	}
}
