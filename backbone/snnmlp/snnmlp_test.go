package snnmlp_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/backbone/snnmlp"
	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

func build(t *testing.T, yaml string) (*snnmlp.SNNMLP, error) {
	t.Helper()
	n, err := config.Parse("test.yaml", []byte("backbone: "+yaml+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := backbone.Build(n.Field("backbone"))
	if err != nil {
		return nil, err
	}
	return b.(*snnmlp.SNNMLP), nil
}

func mustBuild(t *testing.T, yaml string) *snnmlp.SNNMLP {
	t.Helper()
	m, err := build(t, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOptions(t *testing.T) {
	m := mustBuild(t, "{type: SNNMLP}")
	o := m.Options()
	if o.Arch != "tiny" || o.EmbedDim != 96 || !slices.Equal(o.Depths, []int{2, 2, 6, 2}) || *o.DropPathRate != 0.2 || o.LIF != 4 || o.LIFInitVth != 0.1 {
		t.Errorf("default options %+v", o)
	}
	if got := m.OutChannels(); !slices.Equal(got, []int{96, 192, 384, 768}) {
		t.Errorf("out channels %v", got)
	}
	if got := m.OutStrides(); !slices.Equal(got, []int{4, 8, 16, 32}) {
		t.Errorf("out strides %v", got)
	}
	if o := mustBuild(t, "{type: SNNMLP, arch: base, drop_path_rate: 0.3}").Options(); o.EmbedDim != 128 || !slices.Equal(o.Depths, []int{2, 2, 18, 2}) || *o.DropPathRate != 0.3 {
		t.Errorf("base options %+v", o)
	}
	for _, c := range []struct{ yaml, want string }{
		{"{type: SNNMLP, arch: huge}", `unknown arch "huge"`},
		{"{type: SNNMLP, arch: tiny, embed_dim: 64}", "use one or the other"},
		{"{type: SNNMLP, embed_dim: 8}", "depths is empty"},
		{"{type: SNNMLP, lif: 0}", "lif 0"},
		{"{type: SNNMLP, out_indices: [2, 1]}", "out_indices"},
		{"{type: SNNMLP, frozen_stages: 5}", "frozen_stages 5"},
		{"{type: SNNMLP, lif_init_vht: 0.2}", "lif_init_vth"}, // strict decoding suggests the key
	} {
		if _, err := build(t, c.yaml); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.yaml, err, c.want)
		}
	}
}

func TestForwardShapes(t *testing.T) {
	cases := []struct {
		yaml    string
		h, w    int
		want    [][2]int
		panicky bool
	}{
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1]}", 100, 130, [][2]int{{25, 33}, {13, 17}, {7, 9}, {4, 5}}, false},
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1]}", 33, 31, [][2]int{{9, 8}, {5, 4}, {3, 2}, {2, 1}}, false},
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], out_indices: [1, 3]}", 64, 96, [][2]int{{8, 12}, {2, 3}}, false},
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], dense: false}", 64, 96, [][2]int{{16, 24}, {8, 12}, {4, 6}, {2, 3}}, false},
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], dense: false}", 100, 128, nil, true},
		{"{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], dense: false}", 48, 48, nil, true}, // 12×12 merges to 6×6, then 3×3 is odd
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%dx%d", c.yaml, c.h, c.w), func(t *testing.T) {
			m := mustBuild(t, c.yaml)
			x := nn.Constant(tensor.Full(0.5, 1, 3, c.h, c.w))
			defer func() {
				r := recover()
				if (r != nil) != c.panicky {
					t.Fatalf("panic %v, want panic %v", r, c.panicky)
				}
				if r != nil && !strings.Contains(fmt.Sprint(r), "dense: true") {
					t.Errorf("panic %q does not suggest dense mode", r)
				}
			}()
			outs := m.Forward(x)
			if len(outs) != len(c.want) {
				t.Fatalf("%d outputs, want %d", len(outs), len(c.want))
			}
			for i, o := range outs {
				want := []int{1, m.OutChannels()[i], c.want[i][0], c.want[i][1]}
				if !slices.Equal(o.Shape(), want) {
					t.Errorf("output %d shape %v, want %v", i, o.Shape(), want)
				}
			}
		})
	}
}

// TestTrainingSweep runs a training step: no NaN, and a gradient reaches
// every parameter, out norms included. Drop path is off, as it may drop a
// branch for the whole batch; TestDropPath covers it.
func TestTrainingSweep(t *testing.T) {
	m := mustBuild(t, "{type: SNNMLP, embed_dim: 4, depths: [1, 2, 1, 1], drop_path_rate: 0}")
	nn.SetTraining(m, true)
	x := tensor.New(2, 3, 128, 128) // stage 3 is 4×4: one full LIF group each way
	tensor.NewRNG(3).FillUniform(x, -2, 2)
	tp := nn.NewTape(nil, tensor.NewRNG(4))
	var loss *nn.Var
	for _, o := range m.Forward(tp.Input(x)) {
		for _, v := range o.Data() {
			if math.IsNaN(float64(v)) {
				t.Fatal("NaN in output")
			}
		}
		s := nn.SumAll(nn.Mul(o, o))
		if loss == nil {
			loss = s
		} else {
			loss = nn.Add(loss, s)
		}
	}
	tp.Backward(loss)
	for _, p := range nn.NamedParams(m) {
		if p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0 {
			t.Errorf("no gradient reached %s", p.Name)
		}
	}
}

func TestFrozenStages(t *testing.T) {
	m := mustBuild(t, "{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], frozen_stages: 2}")
	for _, p := range nn.NamedParams(m) {
		frozen := strings.HasPrefix(p.Name, "patch_embed.") || strings.HasPrefix(p.Name, "layers.0.") ||
			strings.HasPrefix(p.Name, "layers.1.") || p.Name == "norm0.weight" || p.Name == "norm0.bias" ||
			p.Name == "norm1.weight" || p.Name == "norm1.bias"
		if p.Param.RequiresGrad() == frozen {
			t.Errorf("%s: requires grad %v, frozen %v", p.Name, p.Param.RequiresGrad(), frozen)
		}
	}
}

// TestInitCheckpoint loads weights through init.checkpoint: a dp-style
// checkpoint with a "backbone." prefix, and an official classification
// state_dict whose norm.* and head.* keys the backbone does not have.
func TestInitCheckpoint(t *testing.T) {
	const arch = "embed_dim: 4, depths: [1, 1, 1, 1]"
	src := mustBuild(t, "{type: SNNMLP, "+arch+", init: {seed: 7}}")
	dir := t.TempDir()
	prefixed, official, bad := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for k, v := range nn.StateDict(src) {
		prefixed["backbone."+k] = v
		if !strings.HasPrefix(k, "norm") {
			official[k] = v
			bad[k] = v
		}
	}
	prefixed["neck.conv.weight"] = tensor.New(2)
	official["norm.weight"], official["head.weight"] = tensor.New(32), tensor.New(10, 32)
	bad["layers.1.blocks.0.lif_module.lif1.tau"] = tensor.New(2)
	for name, sd := range map[string]map[string]*tensor.Tensor{"prefixed": prefixed, "official": official, "bad": bad} {
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, name+".safetensors"), sd, nil); err != nil {
			t.Fatal(err)
		}
	}
	same := func(t *testing.T, m *snnmlp.SNNMLP, outNorms bool) {
		want := nn.StateDict(src)
		for k, v := range nn.StateDict(m) {
			if strings.HasPrefix(k, "norm") && !outNorms {
				continue
			}
			if tensor.MaxAbsDiff(v, want[k]) != 0 {
				t.Errorf("%s not loaded", k)
			}
		}
	}
	t.Run("prefixed", func(t *testing.T) {
		m := mustBuild(t, "{type: SNNMLP, "+arch+", init: {checkpoint: "+filepath.Join(dir, "prefixed.safetensors")+"}}")
		same(t, m, true)
		if r := m.InitReport; len(r.Missing) != 0 || len(r.Unexpected) != 0 {
			t.Errorf("report %v", r)
		}
	})
	t.Run("official", func(t *testing.T) {
		m := mustBuild(t, "{type: SNNMLP, "+arch+", init: {checkpoint: "+filepath.Join(dir, "official.safetensors")+"}}")
		same(t, m, false)
		r := m.InitReport
		if !slices.Equal(r.Missing, []string{"norm0.weight", "norm0.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"}) ||
			!slices.Equal(r.Unexpected, []string{"head.weight", "norm.weight"}) {
			t.Errorf("report %v", r)
		}
	})
	t.Run("bad shape", func(t *testing.T) {
		_, err := build(t, "{type: SNNMLP, "+arch+", init: {checkpoint: "+filepath.Join(dir, "bad.safetensors")+"}}")
		if err == nil || !strings.Contains(err.Error(), "layers.1.blocks.0.lif_module.lif1.tau") || !strings.Contains(err.Error(), "[2]") || !strings.Contains(err.Error(), "[1]") {
			t.Errorf("error %v, want one naming the key and both shapes", err)
		}
	})
}

// TestLIFDisabled checks lif: -1: the neurons are identities, so the
// parameters tau and Vth exist (official checkpoints load) but get no
// gradient.
func TestLIFDisabled(t *testing.T) {
	m := mustBuild(t, "{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], lif: -1}")
	tp := nn.NewTape(nil, nil)
	x := tensor.Full(0.3, 1, 3, 64, 64)
	outs := m.Forward(tp.Input(x))
	tp.Backward(nn.SumAll(outs[0]))
	for _, p := range nn.NamedParams(m) {
		if strings.HasSuffix(p.Name, "tau") && p.Param.Grad != nil && tensor.MaxAbs(p.Param.Grad) != 0 {
			t.Errorf("%s has a gradient with LIF disabled", p.Name)
		}
	}
}

// TestDropPath checks that stochastic depth acts in training mode only and
// never in frozen stages.
func TestDropPath(t *testing.T) {
	x := tensor.New(8, 3, 64, 64)
	tensor.NewRNG(3).FillUniform(x, -2, 2)
	run := func(m *snnmlp.SNNMLP, training bool) []*nn.Var {
		nn.SetTraining(m, training)
		return m.Forward(nn.NewTape(nil, tensor.NewRNG(9)).Input(x))
	}
	// Block rates 0, 1/3, 2/3, 1; stages 0 and 1 frozen. Were stage 1 not
	// exempt, 16 draws at 1/3 would all keep with probability 0.0015.
	m := mustBuild(t, "{type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], drop_path_rate: 1.0, frozen_stages: 2}")
	eval, train := run(m, false), run(m, true)
	if d := tensor.MaxAbsDiff(eval[1].Value, train[1].Value); d != 0 {
		t.Errorf("frozen stage 1 differs between training and evaluation by %g", d)
	}
	if d := tensor.MaxAbsDiff(eval[3].Value, train[3].Value); d == 0 {
		t.Errorf("stage 3 with drop path 1 is the same in training and evaluation")
	}
}
