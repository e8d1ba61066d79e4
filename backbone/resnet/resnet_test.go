package resnet_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/backbone/resnet"
	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

const goldenPath = "testdata/resnet_golden.safetensors"

// tol is the error allowed relative to each output's scale.
const tol = 1e-4

func build(t testing.TB, yaml string) (*resnet.ResNet, error) {
	t.Helper()
	n, err := config.Parse("test.yaml", []byte("backbone: "+yaml+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := backbone.Build(n.Field("backbone"))
	if err != nil {
		return nil, err
	}
	return b.(*resnet.ResNet), nil
}

// load loads the golden weights under prefix into m: every key must
// match but the num_batches_tracked counters the goldens leave out.
func load(t *testing.T, m nn.Module, g map[string]*tensor.Tensor, prefix string) {
	t.Helper()
	r, err := nn.LoadStateDict(m, params(g, prefix), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range r.Missing {
		if !strings.HasSuffix(k, ".num_batches_tracked") {
			t.Errorf("golden %s lacks %s", prefix, k)
		}
	}
	if len(r.Unexpected) > 0 {
		t.Errorf("golden %s has unexpected keys %v", prefix, r.Unexpected)
	}
}

func mustBuild(t testing.TB, yaml string) *resnet.ResNet {
	t.Helper()
	m, err := build(t, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		yaml     string
		channels []int
		strides  []int
	}{
		{"{type: ResNet}", []int{256, 512, 1024, 2048}, []int{4, 8, 16, 32}},
		{"{type: ResNet, depth: 18, out_indices: [1, 3]}", []int{128, 512}, []int{8, 32}},
		{"{type: ResNet, depth: 101, base_channels: 8, out_indices: [2]}", []int{128}, []int{16}},
	} {
		m := mustBuild(t, c.yaml)
		if !slices.Equal(m.OutChannels(), c.channels) || !slices.Equal(m.OutStrides(), c.strides) {
			t.Errorf("%s: channels %v strides %v, want %v %v", c.yaml, m.OutChannels(), m.OutStrides(), c.channels, c.strides)
		}
	}
	o := mustBuild(t, "{type: ResNet, depth: 18}").Options()
	if o.FrozenStages != -1 || !o.NormEval || o.Style != "pytorch" || !o.NormCfg.RequiresGrad {
		t.Errorf("default options %+v", o)
	}
	if n := len(mustBuild(t, "{type: ResNet, depth: 101, base_channels: 2}").Blocks(2)); n != 23 {
		t.Errorf("ResNet-101 stage 3 has %d blocks, want 23", n)
	}
	for _, c := range []struct{ yaml, want string }{
		{"{type: ResNet, depth: 20}", "depth 20"},
		{"{type: ResNet, stage_blocks: [1, 1]}", "stage_blocks"},
		{"{type: ResNet, style: torch}", `style "torch"`},
		{"{type: ResNet, out_indices: [2, 1]}", "out_indices"},
		{"{type: ResNet, out_indices: [4]}", "out_indices"},
		{"{type: ResNet, frozen_stages: 5}", "frozen_stages 5"},
		{"{type: ResNet, norm_cfg: {type: GN}}", `norm_cfg.type "GN"`},
		{"{type: ResNet, norm_evl: true}", "norm_eval"}, // strict decoding suggests the key
	} {
		if _, err := build(t, c.yaml); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.yaml, err, c.want)
		}
	}
}

// TestStyle checks where each style puts a Bottleneck's stride.
func TestStyle(t *testing.T) {
	for _, c := range []struct {
		style      string
		s1, s2     int // strides of conv1 and conv2 in layer2.0
		downStride int
	}{
		{"pytorch", 1, 2, 2},
		{"caffe", 2, 1, 2},
	} {
		m := mustBuild(t, "{type: ResNet, base_channels: 2, style: "+c.style+"}")
		b := m.Blocks(1)[0].(*resnet.Bottleneck)
		if b.Conv1.Options.Stride[0] != c.s1 || b.Conv2.Options.Stride[0] != c.s2 || b.Downsample.Conv.Options.Stride[0] != c.downStride {
			t.Errorf("%s: strides conv1 %v conv2 %v downsample %v", c.style, b.Conv1.Options.Stride, b.Conv2.Options.Stride, b.Downsample.Conv.Options.Stride)
		}
	}
}

// params returns the tensors of g under prefix+".param." as a state dict
// (without num_batches_tracked, which the goldens leave out).
func params(g map[string]*tensor.Tensor, prefix string) map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	for k, v := range g {
		if rest, ok := strings.CutPrefix(k, prefix+".param."); ok {
			sd[rest] = v
		}
	}
	return sd
}

// r18Path holds the golden ResNet-18 (base width 4) weights as torchvision
// saves them: a pickled state_dict with int64 num_batches_tracked and an fc
// head.
const r18Path = "testdata/resnet18_w4.pth"

// TestGoldenEval loads a ResNet-18 (base width 4) from a torchvision-style
// .pth through init.checkpoint and compares it in evaluation mode with
// torchvision's blocks on the same weights.
func TestGoldenEval(t *testing.T) {
	g := nntest.LoadGolden(t, goldenPath)
	m := mustBuild(t, "{type: ResNet, depth: 18, base_channels: 4, init: {checkpoint: "+r18Path+"}}")
	if r := m.InitReport; len(r.Missing) != 0 || !slices.Equal(r.Unexpected, []string{"fc.bias", "fc.weight"}) {
		t.Errorf("init report %v, want nothing missing and fc.* unexpected", r)
	}
	if n := m.BN1.NumBatchesTracked.Data()[0]; n != 12345 {
		t.Errorf("bn1.num_batches_tracked = %v, want 12345 from the file", n)
	}
	nn.SetTraining(m, false)
	outs := m.Forward(nn.NewInferenceTape(nil).Input(nntest.Golden(t, g, "r18.x")))
	for i, y := range outs {
		nntest.AssertClose(t, "r18.out"+itoa(i), y.Value, nntest.Golden(t, g, "r18.out"+itoa(i)), tol)
	}
}

// TestGoldenTrain compares outputs, gradients and updated running
// statistics of a Bottleneck ResNet (stage_blocks [1,1,1,1], base width 4)
// in training mode with torchvision, without and with frozen_stages 1.
func TestGoldenTrain(t *testing.T) {
	g := nntest.LoadGolden(t, goldenPath)
	for _, c := range []struct {
		name, yaml string
		frozen     []string // parameter prefixes without gradients
	}{
		{"train", "{type: ResNet, depth: 50, stage_blocks: [1, 1, 1, 1], base_channels: 4, norm_eval: false}", nil},
		{"frozen1", "{type: ResNet, depth: 50, stage_blocks: [1, 1, 1, 1], base_channels: 4, norm_eval: false, frozen_stages: 1}",
			[]string{"conv1.", "bn1.", "layer1."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mustBuild(t, c.yaml)
			load(t, m, g, "r50")
			nn.SetTraining(m, true)
			tp := nn.NewTape(nil, nil)
			x := tp.Leaf(nntest.Golden(t, g, "r50.x").Clone())
			outs := m.Forward(x)
			terms := make([]*nn.Var, len(outs))
			for i, y := range outs {
				nntest.AssertClose(t, "out"+itoa(i), y.Value, nntest.Golden(t, g, "r50."+c.name+".out"+itoa(i)), tol)
				terms[i] = nn.SumAll(nn.Mul(y, nn.Constant(nntest.Golden(t, g, "r50.g"+itoa(i)))))
			}
			tp.Backward(nn.AddN(terms...))
			nntest.AssertClose(t, "grad x", x.Grad, nntest.Golden(t, g, "r50."+c.name+".grad.x"), tol)
			for _, p := range nn.NamedParams(m) {
				want, ok := g["r50."+c.name+".grad."+p.Name]
				frozen := slices.ContainsFunc(c.frozen, func(s string) bool { return strings.HasPrefix(p.Name, s) })
				switch {
				case frozen || !ok:
					if ok || !frozen || p.Param.RequiresGrad() || p.Param.Grad != nil {
						t.Errorf("%s: frozen %v, golden gradient %v, requires grad %v", p.Name, frozen, ok, p.Param.RequiresGrad())
					}
				case p.Param.Grad == nil:
					t.Errorf("%s: no gradient", p.Name)
				default:
					nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, want, tol)
				}
			}
			if c.name != "train" {
				return
			}
			sd := nn.StateDict(m)
			n := 0
			for k, v := range sd {
				if want, ok := g["r50.train.running."+k]; ok {
					nntest.AssertClose(t, k, v, want, tol)
					n++
				}
			}
			if n == 0 {
				t.Error("no running statistics compared")
			}
		})
	}
}

// TestFrozenStagesKeepStatistics checks that frozen stages and norm_eval
// never move the running statistics in training mode, while the others do.
func TestFrozenStagesKeepStatistics(t *testing.T) {
	for _, c := range []struct {
		yaml  string
		moved map[string]bool // BN name -> statistics should change
	}{
		{"{type: ResNet, depth: 18, base_channels: 2, norm_eval: false, frozen_stages: 1}",
			map[string]bool{"bn1": false, "layer1.1.bn2": false, "layer2.0.bn1": true, "layer4.1.bn2": true}},
		{"{type: ResNet, depth: 18, base_channels: 2}",
			map[string]bool{"bn1": false, "layer2.0.bn1": false, "layer4.1.bn2": false}},
	} {
		m := mustBuild(t, c.yaml)
		before := nn.StateDict(m)
		for k, v := range before {
			before[k] = v.Clone()
		}
		nn.SetTraining(m, true)
		x := tensor.New(2, 3, 40, 40)
		tensor.NewRNG(1).FillNormal(x, 0, 1)
		m.Forward(nn.NewTape(nil, nil).Leaf(x))
		after := nn.StateDict(m)
		for bn, want := range c.moved {
			k := bn + ".running_mean"
			if got := tensor.MaxAbsDiff(before[k], after[k]) > 0; got != want {
				t.Errorf("%s: %s changed %v, want %v", c.yaml, k, got, want)
			}
		}
	}
}

// TestSweep runs each block type forward and backward on an odd-sized
// input: outputs match the declared channels and strides (rounded up), have
// no NaN, and every trainable parameter receives a gradient.
func TestSweep(t *testing.T) {
	for _, yaml := range []string{
		"{type: ResNet, depth: 18, base_channels: 4, norm_eval: false}",
		"{type: ResNet, depth: 50, base_channels: 2, stage_blocks: [1, 2, 1, 1], frozen_stages: 1, out_indices: [0, 2]}",
		"{type: ResNet, depth: 50, base_channels: 2, stage_blocks: [1, 1, 1, 1], style: caffe, out_indices: [3]}",
	} {
		m := mustBuild(t, yaml)
		nn.SetTraining(m, true)
		h, w := 37, 53
		x := tensor.New(1, 3, h, w)
		tensor.NewRNG(2).FillNormal(x, 0, 1)
		tp := nn.NewTape(nil, nil)
		outs := m.Forward(tp.Leaf(x))
		if len(outs) != len(m.OutChannels()) {
			t.Fatalf("%s: %d outputs, want %d", yaml, len(outs), len(m.OutChannels()))
		}
		var terms []*nn.Var
		for i, y := range outs {
			s, want := y.Shape(), []int{1, m.OutChannels()[i], ceilDiv(h, m.OutStrides()[i]), ceilDiv(w, m.OutStrides()[i])}
			if !slices.Equal(s, want) {
				t.Errorf("%s: output %d shape %v, want %v", yaml, i, s, want)
			}
			for _, v := range y.Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Errorf("%s: output %d not finite", yaml, i)
					break
				}
			}
			terms = append(terms, nn.MeanAll(y))
		}
		tp.Backward(nn.AddN(terms...))
		last := m.Options().OutIndices[len(m.Options().OutIndices)-1]
		for _, p := range nn.NamedParams(m) {
			used := !strings.HasPrefix(p.Name, "layer") || int(p.Name[5]-'1') <= last
			if p.Param.RequiresGrad() && used && (p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0) {
				t.Errorf("%s: %s has no gradient", yaml, p.Name)
			}
		}
	}
}

// TestTorchvisionResNet50Keys checks that ResNet-50's state-dict keys and
// shapes are exactly torchvision's resnet50() minus the fc head, in order.
func TestTorchvisionResNet50Keys(t *testing.T) {
	data, err := os.ReadFile("testdata/resnet50_keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Key   string
		Shape []int
	}
	var raw [][2]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		var e struct {
			Key   string
			Shape []int
		}
		if json.Unmarshal(r[0], &e.Key) != nil || json.Unmarshal(r[1], &e.Shape) != nil {
			t.Fatalf("bad entry %s", r)
		}
		if !strings.HasPrefix(e.Key, "fc.") {
			want = append(want, e)
		}
	}
	m := mustBuild(t, "{type: ResNet, depth: 50}")
	keys, sd := nn.StateKeys(m), nn.StateDict(m)
	if len(keys) != len(want) {
		t.Errorf("%d keys, torchvision has %d besides fc", len(keys), len(want))
	}
	bad := 0
	for i := 0; i < min(len(keys), len(want)) && bad < 10; i++ {
		if keys[i] != want[i].Key || !slices.Equal(sd[keys[i]].Shape(), want[i].Shape) {
			t.Errorf("key %d: %s %v, want %s %v", i, keys[i], sd[keys[i]].Shape(), want[i].Key, want[i].Shape)
			bad++
		}
	}
	if bad == 10 {
		t.Error("more mismatches may follow")
	}
}

// writeCheckpoint writes the golden ResNet-18 weights with their keys
// prefixed to a safetensors file.
func writeCheckpoint(t *testing.T, sd map[string]*tensor.Tensor, path, prefix string) {
	t.Helper()
	out := map[string]*tensor.Tensor{}
	for k, v := range sd {
		out[prefix+k] = v
	}
	if err := checkpoint.WriteSafetensors(path, out, nil); err != nil {
		t.Fatal(err)
	}
}

// TestInitCheckpoint loads weights from safetensors files, a detector's
// checkpoint (keys under "backbone.") and torchvision's download cache.
func TestInitCheckpoint(t *testing.T) {
	f, err := checkpoint.Read(r18Path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "resnet18.safetensors")
	writeCheckpoint(t, f.Tensors, plain, "")
	prefixed := filepath.Join(dir, "detector.safetensors")
	writeCheckpoint(t, f.Tensors, prefixed, "backbone.")
	detector, err := checkpoint.ReadSafetensors(prefixed)
	if err != nil {
		t.Fatal(err)
	}
	detector.Tensors["neck.lateral_convs.0.conv.bias"] = tensor.New(256) // not the backbone's: dropped
	if err := checkpoint.WriteSafetensors(prefixed, detector.Tensors, nil); err != nil {
		t.Fatal(err)
	}
	hub := filepath.Join(dir, "hub", "checkpoints")
	if err := os.MkdirAll(hub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCheckpoint(t, f.Tensors, filepath.Join(hub, "resnet18-f37072fd.pth"), "")
	t.Setenv("TORCH_HOME", dir)

	for _, c := range []struct {
		path       string
		unexpected []string
	}{
		{plain, []string{"fc.bias", "fc.weight"}},
		{prefixed, []string{"fc.bias", "fc.weight"}}, // backbone.fc.*; neck.* is dropped
		{"torchvision://resnet18", []string{"fc.bias", "fc.weight"}},
	} {
		m := mustBuild(t, "{type: ResNet, depth: 18, base_channels: 4, init: {checkpoint: '"+c.path+"'}}")
		r := m.InitReport
		if len(r.Missing) != 0 || !slices.Equal(r.Unexpected, c.unexpected) {
			t.Errorf("%s: report %v", c.path, r)
		}
		for _, k := range []string{"layer3.0.downsample.1.running_var", "layer4.1.conv2.weight"} {
			nntest.AssertClose(t, c.path+": "+k, nn.StateDict(m)[k], f.Tensors[k], 0)
		}
	}
	for _, c := range []struct{ yaml, want string }{
		{"{type: ResNet, depth: 18, base_channels: 8, init: {checkpoint: '" + plain + "'}}", "conv1.weight"}, // width 8 against 4
		{"{type: ResNet, depth: 34, init: {checkpoint: 'torchvision://resnet34'}}", "resnet34-b627a593.pth"},
		{"{type: ResNet, base_channels: 2, init: {checkpoint: 'torchvision://resnet51'}}", `unknown torchvision model "resnet51"`},
		{"{type: ResNet, base_channels: 2, init: {checkpoint: '" + filepath.Join(dir, "none.pth") + "'}}", "none.pth"},
	} {
		if _, err := build(t, c.yaml); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.yaml, err, c.want)
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func itoa(i int) string { return string(rune('0' + i)) }
