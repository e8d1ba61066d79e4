package tools

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn/nntest"
)

// miniConfig is the classifier of models/testdata/snnmlp_mini*.pth (written
// by tools/reference/golden_snnmlp.py) with a 64×64 test pipeline.
const miniConfig = `
model:
  type: ImageClassifier
  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], out_indices: [3], out_norms: false, dense: false}
  head: {type: LinearClsHead, num_classes: 5}
test_pipeline:
  - {type: LoadImage}
  - {type: CenterCrop, crop_size: 64, crop_pct: 0.875, interpolation: bicubic}
  - {type: Normalize, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375]}
`

func writeMiniConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "mini.yaml")
	if err := os.WriteFile(p, []byte(miniConfig+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFeaturesMatchPyTorch runs dp features on the .npy input with the
// PyTorch-written checkpoint, plain and wrapped as {"model": ...}, and
// compares with PyTorch's outputs.
func TestFeaturesMatchPyTorch(t *testing.T) {
	dir := t.TempDir()
	cfg := writeMiniConfig(t, dir, "")
	want, err := checkpoint.ReadSafetensors("../models/testdata/snnmlp_mini_features.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range []string{"snnmlp_mini.pth", "snnmlp_mini_model.pth"} {
		t.Run(ck, func(t *testing.T) {
			out := filepath.Join(dir, ck+".safetensors")
			if _, err := runDP(t, "features", "--config", cfg, "--checkpoint", "../models/testdata/"+ck,
				"--input", "../models/testdata/snnmlp_mini_input.npy", "--out", out); err != nil {
				t.Fatal(err)
			}
			got, err := checkpoint.ReadSafetensors(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"logits", "backbone.0"} {
				nntest.AssertClose(t, k, got.Tensors[k], want.Tensors[k], 1e-4)
			}
		})
	}
	t.Run("wrong shape", func(t *testing.T) {
		_, err := runDP(t, "features", "--config", cfg, "--checkpoint", "../models/testdata/snnmlp_mini_badshape.pth",
			"--input", "../models/testdata/snnmlp_mini_input.npy", "--out", filepath.Join(dir, "x.safetensors"))
		if err == nil || !strings.Contains(err.Error(), "head.weight") {
			t.Errorf("error %v, want one naming head.weight", err)
		}
	})
}

// TestFeaturesImage runs an image through the config's test pipeline.
func TestFeaturesImage(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 90, 70))
	for y := 0; y < 70; y++ {
		for x := 0; x < 90; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x + y), 255})
		}
	}
	imgPath := filepath.Join(dir, "in.png")
	f, err := os.Create(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out.safetensors")
	stdout, err := runDP(t, "features", "--config", writeMiniConfig(t, dir, ""), "--input", imgPath, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Tensors["backbone.0"].Shape(); len(s) != 4 || s[1] != 32 || s[2] != 2 || s[3] != 2 {
		t.Errorf("backbone.0 shape %v, want [1 32 2 2] (64×64 crop)", s)
	}
	if !strings.Contains(stdout, "[1 5]") {
		t.Errorf("stdout %q does not report the logits' shape", stdout)
	}
}

func TestReadNpyErrors(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ data, want string }{
		"magic.npy": {"NUMPY....", "magic"},
		"dtype.npy": {"\x93NUMPY\x01\x00\x44\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }          \n" + strings.Repeat("\x00", 16), "dtype"},
		"short.npy": {"\x93NUMPY\x01\x00\x44\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }          \n" + strings.Repeat("\x00", 8), "8 data bytes for 3"},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readNpy(p); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// TestSNNMLPTestPipeline builds the official evaluation pipeline of the
// ImageNet config (bicubic resize to 256, centre crop 224, ImageNet mean and
// std) and runs it on an image.
func TestSNNMLPTestPipeline(t *testing.T) {
	cfg, err := config.Load("../configs/cls_snnmlp_t_imagenet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	p := filepath.Join(dir, "in.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x, err := featureInput(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	if s := x.Shape(); len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] != 224 || s[3] != 224 {
		t.Errorf("input shape %v, want [1 3 224 224]", s)
	}
	bad, err := cfg.Override("test_pipeline.1.crop_sise=224")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := featureInput(bad, p); err == nil || !strings.Contains(err.Error(), "crop_sise") || !strings.Contains(err.Error(), "crop_size") {
		t.Errorf("misspelt key: error %v, want one naming it and the allowed keys", err)
	}
}

// writeNpy writes a float32 C-order .npy file.
func writeNpy(t *testing.T, path string, shape []int, vals []float32) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s,), }", strings.Join(dims, ", "))
	header += strings.Repeat(" ", 63-(10+len(header))%64) + "\n"
	buf := []byte("\x93NUMPY\x01\x00")
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range vals {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFeaturesSegmentor runs dp features on a segmentor config: the
// outputs are its dense SNN-MLP-T backbone's, normalised, at strides 4-32.
func TestFeaturesSegmentor(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.npy")
	vals := make([]float32, 3*64*96)
	for i := range vals {
		vals[i] = float32(math.Sin(float64(i) * 0.01))
	}
	writeNpy(t, in, []int{1, 3, 64, 96}, vals)
	out := filepath.Join(dir, "seg.safetensors")
	if _, err := runDP(t, "features", "--config", "../configs/seg_fpn_snnmlp_t_voc12.yaml", "--input", in, "--out", out,
		"--cfg-options", `model.backbone.init.checkpoint=""`); err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Tensors["logits"]; ok {
		t.Errorf("a segmentor has no logits entry")
	}
	for i, want := range [][]int{{1, 96, 16, 24}, {1, 192, 8, 12}, {1, 384, 4, 6}, {1, 768, 2, 3}} {
		x := got.Tensors[fmt.Sprintf("backbone.%d", i)]
		if x == nil || !slices.Equal(x.Shape(), want) {
			t.Errorf("backbone.%d: %v, want shape %v", i, x, want)
		}
	}
}
