package models_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
)

// snnmlpDetectorYAML is a Mask R-CNN over an SNN-MLP backbone (options
// spliced in) whose init.checkpoint is %s.
func snnmlpDetectorYAML(backbone, ckpt string) string {
	return `
model:
  type: MaskRCNN
  backbone: {type: SNNMLP, ` + backbone + `, init: {checkpoint: ` + ckpt + `}}
  neck: {type: FPN, out_channels: 16, num_outs: 5}
  rpn_head: {type: RPNHead, feat_channels: 16}
  roi_head:
    type: StandardRoIHead
    bbox_head: {fc_out_channels: 32, num_classes: 2}
    mask_head: {num_convs: 1, conv_out_channels: 16, num_classes: 2}
`
}

// TestInitCheckpointReport starts a detector from official-layout
// classification weights through init.checkpoint and checks, key by key,
// what the load reports for the whole model: every backbone key but the
// four out-norms set, the out-norms, the neck and the heads kept as
// initialised, and only the classifier head (the final norm and the linear
// layer) unused. It does so for a PyTorch-written .pth of a small SNN-MLP
// and for SNN-MLP-T (the official snnmlp_tiny_81.88.pt layout, written by
// dp's classifier, whose keys equal the official ones).
func TestInitCheckpointReport(t *testing.T) {
	tinyCls := filepath.Join(t.TempDir(), "snnmlp_tiny_layout.safetensors")
	cls := buildModel(t, classifierYAML("arch: tiny", 1000))
	if err := checkpoint.WriteSafetensors(tinyCls, nn.StateDict(cls), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, backbone, ckpt string }{
		{"mini .pth from PyTorch", "embed_dim: 4, depths: [1, 1, 1, 1]", "testdata/snnmlp_mini.pth"},
		{"SNN-MLP-T", "arch: tiny", tinyCls},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := buildModel(t, snnmlpDetectorYAML(c.backbone, c.ckpt))
			loads := models.InitLoads(m)
			if len(loads) != 1 {
				t.Fatalf("%d init loads, want 1 (the backbone's)", len(loads))
			}
			l := loads[0]
			if l.Path != c.ckpt || l.Module != "backbone." {
				t.Errorf("load of %q into %q, want %q into backbone.", l.Path, l.Module, c.ckpt)
			}
			f, err := checkpoint.Read(c.ckpt)
			if err != nil {
				t.Fatal(err)
			}
			var wantLoaded, wantMissing []string
			for _, k := range nn.StateKeys(m) {
				name, inBackbone := strings.CutPrefix(k, "backbone.")
				if _, ok := f.Tensors[name]; ok && inBackbone {
					wantLoaded = append(wantLoaded, k)
				} else {
					wantMissing = append(wantMissing, k)
				}
			}
			if !slices.Equal(l.Loaded, wantLoaded) {
				t.Errorf("loaded %d keys, want %d", len(l.Loaded), len(wantLoaded))
			}
			if !slices.Equal(l.Missing, wantMissing) {
				t.Errorf("missing %v\nwant %v", l.Missing, wantMissing)
			}
			// What is missing is exactly the out-norms, the neck and the heads.
			for _, k := range l.Missing {
				ok := strings.HasPrefix(k, "neck.") || strings.HasPrefix(k, "rpn_head.") || strings.HasPrefix(k, "roi_head.")
				for i := range 4 {
					ok = ok || strings.HasPrefix(k, "backbone.norm"+string(rune('0'+i))+".")
				}
				if !ok {
					t.Errorf("missing key %s is neither an out-norm, the neck nor a head", k)
				}
			}
			for i := range 4 {
				for _, p := range []string{"weight", "bias"} {
					if k := "backbone.norm" + string(rune('0'+i)) + "." + p; !slices.Contains(l.Missing, k) {
						t.Errorf("out-norm key %s not reported missing", k)
					}
				}
			}
			if want := []string{"head.bias", "head.weight", "norm.bias", "norm.weight"}; !slices.Equal(l.Unexpected, want) {
				t.Errorf("unexpected %v, want %v", l.Unexpected, want)
			}
			s := l.String()
			for _, part := range []string{"loaded into backbone: " + strconv.Itoa(len(wantLoaded)) + " keys set",
				"backbone.norm0 (2), backbone.norm1 (2), backbone.norm2 (2), backbone.norm3 (2), neck (",
				"unused from the checkpoint (4 keys): head (2), norm (2)"} {
				if !strings.Contains(s, part) {
					t.Errorf("summary %q lacks %q", s, part)
				}
			}
		})
	}
}
