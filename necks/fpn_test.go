package necks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/necks"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

// inChannels are the golden inputs' channels, as a backbone would report.
var inChannels = []int{4, 8, 16, 32}

func buildFPN(t *testing.T, yaml string) (*necks.FPN, error) {
	t.Helper()
	n, err := config.Parse("test.yaml", []byte("neck: "+yaml+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	nk, err := necks.Registry.BuildWithDefaults(n.Field("neck"), map[string]any{"in_channels": inChannels})
	if err != nil {
		return nil, err
	}
	return nk.(*necks.FPN), nil
}

// TestFPNGolden compares outputs and gradients with mmdet's FPN forward
// restated in PyTorch (tools/reference/golden_resnet_fpn.py, FPN_CASES).
func TestFPNGolden(t *testing.T) {
	g := nntest.LoadGolden(t, "testdata/fpn_golden.safetensors")
	for _, c := range []struct {
		name, yaml string
		strides    []int
	}{
		{"maxpool", "{type: FPN, out_channels: 8, num_outs: 5}", []int{4, 8, 16, 32, 64}},
		{"on_input", "{type: FPN, out_channels: 8, num_outs: 5, add_extra_convs: on_input}", []int{4, 8, 16, 32, 64}},
		{"on_lateral_relu", "{type: FPN, out_channels: 8, num_outs: 6, add_extra_convs: on_lateral, relu_before_extra_convs: true}", []int{4, 8, 16, 32, 64, 128}},
		{"on_output_start1", "{type: FPN, out_channels: 8, num_outs: 5, start_level: 1, add_extra_convs: on_output, relu_before_extra_convs: true}", []int{8, 16, 32, 64, 128}},
		{"end2", "{type: FPN, out_channels: 8, num_outs: 3, end_level: 2}", []int{4, 8, 16}},
		{"scale2", "{type: FPN, out_channels: 8, num_outs: 5, upsample_cfg: {mode: nearest, scale_factor: 2}}", []int{4, 8, 16, 32, 64}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := buildFPN(t, c.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.OutStrides(), c.strides) {
				t.Errorf("out strides %v, want %v", f.OutStrides(), c.strides)
			}
			sd := map[string]*tensor.Tensor{}
			for k, v := range g {
				if rest, ok := strings.CutPrefix(k, c.name+".param."); ok {
					sd[rest] = v
				}
			}
			if _, err := nn.LoadStateDict(f, sd, true); err != nil {
				t.Fatal(err)
			}
			tp := nn.NewTape(nil, nil)
			xs := make([]*nn.Var, len(inChannels))
			for i := range xs {
				xs[i] = tp.Leaf(nntest.Golden(t, g, c.name+".x"+itoa(i)).Clone())
			}
			ys := f.Forward(xs)
			if len(ys) != len(c.strides) {
				t.Fatalf("%d outputs, want %d", len(ys), len(c.strides))
			}
			terms := make([]*nn.Var, len(ys))
			for i, y := range ys {
				if y.Shape()[1] != f.OutChannels()[i] {
					t.Errorf("output %d has %d channels, declared %d", i, y.Shape()[1], f.OutChannels()[i])
				}
				nntest.AssertClose(t, "y"+itoa(i), y.Value, nntest.Golden(t, g, c.name+".y"+itoa(i)), 1e-4)
				terms[i] = nn.SumAll(nn.Mul(y, nn.Constant(nntest.Golden(t, g, c.name+".g"+itoa(i)))))
			}
			tp.Backward(nn.AddN(terms...))
			for i, x := range xs {
				want, ok := g[c.name+".grad.x"+itoa(i)]
				switch {
				case !ok && x.Grad != nil && tensor.MaxAbs(x.Grad) != 0:
					t.Errorf("unused input %d has a gradient", i)
				case ok && x.Grad == nil:
					t.Errorf("input %d has no gradient", i)
				case ok:
					nntest.AssertClose(t, "grad x"+itoa(i), x.Grad, want, 1e-4)
				}
			}
			for _, p := range nn.NamedParams(f) {
				if p.Param.Grad == nil {
					t.Errorf("%s has no gradient", p.Name)
					continue
				}
				nntest.AssertClose(t, "grad "+p.Name, p.Param.Grad, nntest.Golden(t, g, c.name+".grad."+p.Name), 1e-4)
			}
		})
	}
}

// TestFPNMaskRCNN checks the Mask R-CNN neck's names, shapes and strides
// (ResNet-50 channels, the maps of a 100×150 image).
func TestFPNMaskRCNN(t *testing.T) {
	f, err := necks.NewFPN(func() necks.FPNOptions {
		o := necks.DefaultFPNOptions()
		o.InChannels = []int{256, 512, 1024, 2048}
		return o
	}())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for _, list := range []string{"lateral_convs", "fpn_convs"} {
		for i := range 4 {
			for _, p := range []string{"weight", "bias"} {
				want = append(want, list+"."+itoa(i)+".conv."+p)
			}
		}
	}
	if got := nn.StateKeys(f); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if !slices.Equal(f.OutChannels(), []int{256, 256, 256, 256, 256}) || !slices.Equal(f.OutStrides(), []int{4, 8, 16, 32, 64}) {
		t.Errorf("channels %v strides %v", f.OutChannels(), f.OutStrides())
	}
	if b := f.FPNConvs[0].Conv.Bias.Value; tensor.MaxAbs(b) != 0 {
		t.Error("conv biases do not start at zero")
	}
	tp := nn.NewInferenceTape(nil)
	var xs []*nn.Var
	sizes := [][2]int{{25, 38}, {13, 19}, {7, 10}, {4, 5}, {2, 3}}
	for i, hw := range sizes[:4] {
		xs = append(xs, tp.Input(tensor.New(1, f.Options().InChannels[i], hw[0], hw[1])))
	}
	for i, y := range f.Forward(xs) {
		hw := sizes[i]
		if s := y.Shape(); !slices.Equal(s, []int{1, 256, hw[0], hw[1]}) {
			t.Errorf("output %d shape %v", i, s)
		}
	}
}

func TestFPNOptions(t *testing.T) {
	f, err := buildFPN(t, "{type: FPN, in_channels: [3, 5], in_strides: [8, 16], num_outs: 4, add_extra_convs: true}")
	if err != nil {
		t.Fatal(err)
	}
	if f.Options().AddExtraConvs != necks.ExtraOnInput || !slices.Equal(f.OutStrides(), []int{8, 16, 32, 64}) ||
		f.FPNConvs[2].Conv.Weight.Shape()[1] != 5 {
		t.Errorf("add_extra_convs true: options %+v strides %v", f.Options(), f.OutStrides())
	}
	if f, err := buildFPN(t, "{type: FPN, add_extra_convs: false}"); err != nil || f.Options().AddExtraConvs != "" || len(f.FPNConvs) != 4 {
		t.Errorf("add_extra_convs false: %v", err)
	}
	for _, c := range []struct{ yaml, want string }{
		{"{type: FPN, in_channels: []}", "in_channels is empty"},
		{"{type: FPN, num_outs: 3}", "num_outs 3"},
		{"{type: FPN, end_level: 2}", "end_level - start_level + 1 = 3"},
		{"{type: FPN, end_level: 7, num_outs: 8}", "end_level 7"},
		{"{type: FPN, start_level: 4}", "start_level 4"},
		{"{type: FPN, add_extra_convs: on_top}", "add_extra_convs"},
		{"{type: FPN, upsample_cfg: {mode: bicubic}}", "bicubic"},
		{"{type: FPN, in_strides: [4, 8]}", "in_strides"},
		{"{type: FPN, out_chanels: 8}", "out_channels"},
	} {
		if _, err := buildFPN(t, c.yaml); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.yaml, err, c.want)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
