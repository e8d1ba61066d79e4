package models_test

import (
	"math"
	"strings"
	"testing"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

const miniYAML = `
model:
  type: ImageClassifier
  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], out_indices: [3], out_norms: false, dense: false}
  head: {type: LinearClsHead, num_classes: 5}
`

// TestClassifierLoadsPyTorchCheckpoints loads state_dicts written by
// torch.save, plain and wrapped as {"model": ...}, and checks every value
// by name against the fill the writer used.
func TestClassifierLoadsPyTorchCheckpoints(t *testing.T) {
	for _, file := range []string{"snnmlp_mini.pth", "snnmlp_mini_model.pth"} {
		t.Run(file, func(t *testing.T) {
			m := buildModel(t, miniYAML)
			f, err := checkpoint.Read("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nn.LoadStateDict(m, f.Tensors, true); err != nil {
				t.Fatal(err)
			}
			for _, p := range nn.NamedParams(m) {
				lo, hi := fillRange(p.Name, p.Param.Shape())
				want := detUniform(p.Name, p.Param.Value.Len(), lo, hi)
				for i, v := range p.Param.Data() {
					if v != want[i] {
						t.Fatalf("%s[%d] = %v, want %v", p.Name, i, v, want[i])
					}
				}
			}
		})
	}
	t.Run("wrong shape", func(t *testing.T) {
		m := buildModel(t, miniYAML)
		f, err := checkpoint.Read("testdata/snnmlp_mini_badshape.pth")
		if err != nil {
			t.Fatal(err)
		}
		_, err = nn.LoadStateDict(m, f.Tensors, false)
		if err == nil || !strings.Contains(err.Error(), "head.weight") || !strings.Contains(err.Error(), "[6 32]") || !strings.Contains(err.Error(), "[5 32]") {
			t.Fatalf("error %v, want one naming head.weight, [6 32] and [5 32]", err)
		}
	})
}

// TestClassifierStateKeys checks the official SNN-MLP-T classification
// state_dict layout: 353 tensors, no prefix, in registration order.
func TestClassifierStateKeys(t *testing.T) {
	m := buildModel(t, classifierYAML("arch: tiny", 1000))
	keys := nn.StateKeys(m)
	if len(keys) != 353 {
		t.Fatalf("%d keys, want 353", len(keys))
	}
	want := map[int]string{
		0:   "patch_embed.proj.weight",
		4:   "layers.0.blocks.0.norm1.weight",
		6:   "layers.0.blocks.0.lif_module.conv1.weight",
		20:  "layers.0.blocks.0.lif_module.lif1.tau",
		21:  "layers.0.blocks.0.lif_module.lif1.Vth",
		24:  "layers.0.blocks.0.lif_module.dw1.weight",
		31:  "layers.0.blocks.0.mlp.fc2.bias",
		60:  "layers.0.downsample.reduction.weight",
		61:  "layers.0.downsample.norm.weight",
		349: "norm.weight",
		351: "head.weight",
		352: "head.bias",
	}
	for i, k := range want {
		if keys[i] != k {
			t.Errorf("key %d = %s, want %s", i, keys[i], k)
		}
	}
	sd := nn.StateDict(m)
	for k, shape := range map[string][]int{
		"layers.2.downsample.reduction.weight":        {768, 1536, 1, 1},
		"layers.3.blocks.1.lif_module.dw1.weight":     {768, 1, 3, 3},
		"layers.1.blocks.0.lif_module.lif2.Vth":       {1},
		"layers.3.blocks.1.mlp.fc1.weight":            {3072, 768, 1, 1},
		"head.weight":                                 {1000, 768},
		"layers.0.blocks.1.lif_module.conv2_2.weight": {96, 96, 1, 1},
		"layers.2.blocks.5.lif_module.norm3.bias":     {384},
		"layers.1.downsample.norm.weight":             {768},
		"patch_embed.proj.weight":                     {96, 3, 4, 4},
		"layers.3.blocks.0.lif_module.conv2_1.bias":   {768},
	} {
		if got := sd[k]; got == nil || !tensor.SameShape(got.Shape(), shape) {
			t.Errorf("%s: shape %v, want %v", k, shapeOf(got), shape)
		}
	}
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}

// TestClassifierFLOPs checks parameters and FLOPs at 224 against the
// official flops() of each variant (README: 28.3M/4.4G, 49.7M/8.5G,
// 87.9M/15.2G), evaluated exactly from the official formula.
func TestClassifierFLOPs(t *testing.T) {
	cases := []struct {
		arch   string
		params int64
		flops  int64 // the official flops() formula, evaluated exactly
	}{
		{"tiny", 28335736, 4372853760},
		{"small", 49703080, 8548199424},
		{"base", 87897288, 15174045696},
	}
	for _, c := range cases {
		if testing.Short() && c.arch != "tiny" {
			continue
		}
		t.Run(c.arch, func(t *testing.T) {
			m := buildModel(t, classifierYAML("arch: "+c.arch, 1000))
			var params, flops int64
			for _, l := range m.(backbone.FLOPsCounter).FLOPs(224, 224) {
				params += l.Params
				flops += l.FLOPs
			}
			var all int64
			for _, p := range nn.Params(m) {
				all += int64(p.Value.Len())
			}
			if params != c.params || all != c.params {
				t.Errorf("params: per layer %d, model %d, want %d", params, all, c.params)
			}
			if flops != c.flops {
				t.Errorf("FLOPs %d, want %d", flops, c.flops)
			}
		})
	}
}

func TestClassifierLossPredict(t *testing.T) {
	m := buildModel(t, `
model:
  type: ImageClassifier
  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], out_indices: [3], out_norms: false, dense: false}
  head: {type: LinearClsHead, num_classes: 5, loss: {type: LabelSmoothLoss, label_smooth_val: 0.1}}
`)
	x := tensor.New(2, 3, 128, 128) // stage 3 is 4×4: one full LIF group
	tensor.NewRNG(1).FillUniform(x, -1, 1)
	b := &datasets.Batch{Inputs: x, Labels: []int{1, 4}}
	nn.SetTraining(m, true)
	tp := nn.NewTape(nil, tensor.NewRNG(2))
	loss, parts, err := m.Loss(tp, b)
	if err != nil {
		t.Fatal(err)
	}
	if l := float64(loss.Data()[0]); math.IsNaN(l) || l <= 0 || parts["loss_cls"] != l {
		t.Fatalf("loss %v, parts %v", l, parts)
	}
	tp.Backward(loss)
	for _, p := range nn.NamedParams(m) {
		if p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0 {
			t.Errorf("no gradient reached %s", p.Name)
		}
	}
	nn.SetTraining(m, false)
	res, err := m.Predict(nn.NewInferenceTape(nil), b)
	if err != nil || len(res) != 2 || len(res[0].Logits) != 5 {
		t.Fatalf("predict: %v, %d results", err, len(res))
	}
	b.Labels = []int{1, 5}
	if _, _, err := m.Loss(nn.NewTape(nil, nil), b); err == nil || !strings.Contains(err.Error(), "label 5") {
		t.Errorf("out-of-range label: error %v", err)
	}
}

func TestClassifierOptionErrors(t *testing.T) {
	for _, c := range []struct{ head, want string }{
		{"{type: LinearClsHead, in_channels: 7}", "in_channels 7"},
		{"{type: LinearClsHead, loss: {type: LabelSmoothLoss}}", "needs label_smooth_val"},
		{"{type: LinearClsHead, num_clases: 3}", "num_clases"},
		{"{type: ConvHead}", "ConvHead"},
	} {
		n := buildNode(t, `
model:
  type: ImageClassifier
  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], out_indices: [3]}
  head: `+c.head+"\n")
		_, err := models.Registry.Build(n.Field("model"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("head %s: error %v, want one mentioning %q", c.head, err, c.want)
		}
	}
}

// TestSNNMLPConfigs loads the shipped configs: T builds its classifier (S
// and B, whose sizes TestClassifierFLOPs checks, only name their arch), and
// the ImageNet recipe carries the official hyper-parameters.
func TestSNNMLPConfigs(t *testing.T) {
	for _, c := range []struct {
		file   string
		params int64
		arch   string
	}{
		{"../configs/cls_snnmlp_t_imagenet.yaml", 28335736, "tiny"},
		{"../configs/_base_/models/snnmlp_s.yaml", 0, "small"},
		{"../configs/_base_/models/snnmlp_b.yaml", 0, "base"},
	} {
		t.Run(c.file, func(t *testing.T) {
			n, err := config.Load(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := n.Get("model.backbone.arch").Scalar(); got != c.arch {
				t.Fatalf("arch %q, want %q", got, c.arch)
			}
			if c.params == 0 {
				return
			}
			m, err := models.Registry.Build(n.Field("model"))
			if err != nil {
				t.Fatal(err)
			}
			var p int64
			for _, v := range nn.Params(m) {
				p += int64(v.Value.Len())
			}
			if p != c.params {
				t.Errorf("%d parameters, want %d", p, c.params)
			}
			if !strings.HasSuffix(c.file, "imagenet.yaml") {
				return
			}
			for path, want := range map[string]string{
				"optim_wrapper.optimizer.lr":                          "1.0e-3",
				"optim_wrapper.optimizer.weight_decay":                "0.05",
				"optim_wrapper.clip_grad.max_norm":                    "5.0",
				"optim_wrapper.paramwise_cfg.custom_keys.Vth.lr_mult": "0.1",
				"param_scheduler.0.end":                               "20",
				"model.head.loss.label_smooth_val":                    "0.1",
				"test_pipeline.1.crop_pct":                            "0.875",
				"test_pipeline.1.interpolation":                       "bicubic",
			} {
				if got, _ := n.Get(path).Scalar(); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
		})
	}
}
