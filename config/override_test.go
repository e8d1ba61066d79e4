package config

import "testing"

func TestOverride(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		path    string // where to look after the overrides
		want    string // Dump of the node at path
		tag     string // its tag, for scalars
	}{
		{"replace a nested int", []string{"model.backbone.depth=101"}, "model.backbone.depth", "101\n", "!!int"},
		{"float in exponent form", []string{"optim_wrapper.optimizer.lr=1e-4"}, "optim_wrapper.optimizer.lr", "1e-4\n", "!!float"},
		{"boolean", []string{"model.backbone.norm_cfg.requires_grad=false"}, "model.backbone.norm_cfg.requires_grad", "false\n", "!!bool"},
		{"null", []string{"model.head.num_classes=null"}, "model.head.num_classes", "null\n", "!!null"},
		{"empty value is null", []string{"log_level="}, "log_level", "null\n", "!!null"},
		{"quoted number stays a string", []string{`log_level="3"`}, "log_level", "\"3\"\n", "!!str"},
		{"plain string", []string{"model.type=MaskRCNN"}, "model.type", "MaskRCNN\n", "!!str"},
		{"flow list replaces a list", []string{"model.backbone.out_indices=[3]"}, "model.backbone.out_indices", "[3]\n", ""},
		{"flow mapping replaces a mapping", []string{"model.backbone.norm_cfg={type: GN, num_groups: 32}"}, "model.backbone.norm_cfg", "type: GN\nnum_groups: 32\n", ""},
		{"list index then key", []string{"train_dataloader.dataset.pipeline.0.scale=[640,640]"}, "train_dataloader.dataset.pipeline.0", "type: LoadImage\nscale: [640, 640]\n", ""},
		{"list index sets an item", []string{"param_scheduler.1.milestones.0=9"}, "param_scheduler.1.milestones", "[9, 11]\n", ""},
		{"creates missing keys", []string{"model.backbone.init_cfg.type=Pretrained", "model.backbone.init_cfg.checkpoint=a.pth"}, "model.backbone.init_cfg", "type: Pretrained\ncheckpoint: a.pth\n", ""},
		{"creates a top-level key", []string{"seed=0"}, "seed", "0\n", "!!int"},
		{"creates keys under a null", []string{"model.head.num_classes=null", "model.head.num_classes.x=1"}, "model.head.num_classes", "x: 1\n", ""},
		{"later options win", []string{"max_epochs=1", "max_epochs=2"}, "max_epochs", "2\n", "!!int"},
		{"value containing =", []string{"work_dir=a=b"}, "work_dir", "a=b\n", "!!str"},
	}
	base, err := Load("testdata/inherit/child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := string(base.Dump())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.Override(tt.options...)
			if err != nil {
				t.Fatal(err)
			}
			n := got.Get(tt.path)
			if d := string(n.Dump()); d != tt.want {
				t.Errorf("%s = %q, want %q", tt.path, d, tt.want)
			}
			if tt.tag != "" && n.Tag() != tt.tag {
				t.Errorf("%s: tag %s, want %s", tt.path, n.Tag(), tt.tag)
			}
			if n.File() != optionsFile && n.Kind() == Scalar {
				t.Errorf("%s: file %q, want %q", tt.path, n.File(), optionsFile)
			}
			// Everything else is untouched.
			if d := got.Get("model.neck.out_channels").Dump(); string(d) != "256\n" {
				t.Errorf("model.neck.out_channels changed to %q", d)
			}
		})
	}
	if string(base.Dump()) != before {
		t.Error("Override changed the node it was called on")
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		option string
		want   string
	}{
		{"max_epochs", `config: --cfg-options max_epochs: expected KEY=VALUE, e.g. optim_wrapper.optimizer.lr=0.01`},
		{"=3", `config: --cfg-options =3: expected KEY=VALUE, e.g. optim_wrapper.optimizer.lr=0.01`},
		{"model..depth=3", `config: --cfg-options model..depth=3: model..depth: empty segment in key path`},
		{"param_scheduler.2.end=3", `config: --cfg-options param_scheduler.2.end=3: param_scheduler.2: index 2 is out of range for a list of 2 items`},
		{"param_scheduler.-1.end=3", `config: --cfg-options param_scheduler.-1.end=3: param_scheduler.-1: index -1 is out of range for a list of 2 items`},
		{"param_scheduler.first.end=3", `config: --cfg-options param_scheduler.first.end=3: param_scheduler.first: param_scheduler is a list of 2 items: the next segment must be an index, found "first"`},
		{"max_epochs.value=3", `config: --cfg-options max_epochs.value=3: max_epochs.value: cannot set "value" inside max_epochs, which is integer 12`},
		{"model.type=a: b", `config: --cfg-options model.type=a: b: model.type: value must be a scalar, [a,b] or {k: v}; quote it to pass a string`},
		{"model.backbone.out_indices=[1,2", `config: --cfg-options model.backbone.out_indices=[1,2: model.backbone.out_indices: value is not valid YAML (quote it to pass a string): yaml: line 1: did not find expected ',' or ']'`},
	}
	base, err := Load("testdata/inherit/child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.option, func(t *testing.T) {
			_, err := base.Override(tt.option)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestLoadWithOptions checks that Load applies --cfg-options after merging.
func TestLoadWithOptions(t *testing.T) {
	n, err := Load("testdata/inherit/sub/grandchild.yaml", "model.neck.out_channels=64", "train_dataloader.dataset.pipeline.0.type=LoadImageFromFile")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(n.Get("model.neck.out_channels").Dump()); got != "64\n" {
		t.Errorf("model.neck.out_channels = %q, want 64", got)
	}
	if got := n.Get("train_dataloader.dataset.pipeline.0").Type(); got != "LoadImageFromFile" {
		t.Errorf("pipeline.0 type %q, want LoadImageFromFile", got)
	}
	if _, err := Load("testdata/inherit/child.yaml", "model.backbone.depth.x=1"); err == nil {
		t.Error("Load ignored a bad option")
	}
}

func TestSet(t *testing.T) {
	base, err := Load("testdata/inherit/child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		v    any
		want string
		tag  string
	}{
		{"work_dir", "runs/a: [b]", "'runs/a: [b]'\n", "!!str"},
		{"model.backbone.out_indices", []int{1, 2}, "[1, 2]\n", ""},
		{"param_scheduler.0.end", 1000, "1000\n", "!!int"},
		{"optim_wrapper.optimizer.lr", 0.5, "0.5\n", "!!float"},
		{"resume", true, "true\n", "!!bool"},
		{"load_from", nil, "null\n", "!!null"},
		{"custom.nested", map[string]int{"b": 2, "a": 1}, "a: 1\nb: 2\n", ""},
	}
	for _, tt := range tests {
		got, err := base.Set(tt.path, tt.v)
		if err != nil {
			t.Fatalf("Set(%q): %v", tt.path, err)
		}
		n := got.Get(tt.path)
		if d := string(n.Dump()); d != tt.want || (tt.tag != "" && n.Tag() != tt.tag) {
			t.Errorf("Set(%q, %v): %q %s, want %q %s", tt.path, tt.v, d, n.Tag(), tt.want, tt.tag)
		}
		if n.File() != programFile {
			t.Errorf("Set(%q): file %q, want %q", tt.path, n.File(), programFile)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"a..b", `config: (set by the program): a..b: empty segment in key path`},
		{"max_epochs.x", `config: (set by the program): max_epochs.x: cannot set "x" inside max_epochs, which is integer 12`},
		{"param_scheduler.9", `config: (set by the program): param_scheduler.9: index 9 is out of range for a list of 2 items`},
	} {
		if _, err := base.Set(tt.path, 1); err == nil || err.Error() != tt.want {
			t.Errorf("Set(%q): error %v, want %s", tt.path, err, tt.want)
		}
	}
}
