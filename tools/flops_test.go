package tools

import (
	"strings"
	"testing"
)

func TestFlops(t *testing.T) {
	const cfg = "../configs/cls_snnmlp_t_imagenet.yaml"
	tests := []struct {
		name string
		args []string
		want []string // lines or fragments the output must hold
	}{
		{"T at 224", []string{"flops", cfg}, []string{
			"input 3,224,224: 28.3M params, 4.4 GFLOPs (28335736 params, 4372853760 FLOPs)",
			"patch_embed", "layers.2.blocks.5", "layers.0.downsample", "head",
		}},
		{"shape flag, cfg-options", []string{"flops", "--shape", "3,256,320", cfg, "--cfg-options", "model.head.num_classes=10"}, []string{
			"input 3,256,320: 27.6M params",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runDP(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	for _, bad := range [][]string{
		{"flops"},
		{"flops", "--shape", "3,x,224", cfg},
	} {
		if _, err := runDP(t, bad...); err == nil {
			t.Errorf("dp %v: no error", bad)
		}
	}
}

func TestParseShape(t *testing.T) {
	for _, tt := range []struct {
		in      string
		c, h, w int
	}{{"3,224,224", 3, 224, 224}, {"256,320", 3, 256, 320}, {"224", 3, 224, 224}, {"1, 64, 32", 1, 64, 32}} {
		c, h, w, err := parseShape(tt.in)
		if err != nil || c != tt.c || h != tt.h || w != tt.w {
			t.Errorf("parseShape(%q) = %d, %d, %d, %v", tt.in, c, h, w, err)
		}
	}
	for _, bad := range []string{"", "0,2,2", "a", "1,2,3,4"} {
		if _, _, _, err := parseShape(bad); err == nil {
			t.Errorf("parseShape(%q): no error", bad)
		}
	}
}
