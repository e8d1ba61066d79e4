package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type normOptions struct {
	Type         string `yaml:"type"`
	RequiresGrad bool   `yaml:"requires_grad"`
}

type initOptions struct {
	Type       string `yaml:"type"`
	Checkpoint string `yaml:"checkpoint"`
}

type commonOptions struct {
	Seed    int64  `yaml:"seed"`
	Comment string `yaml:"comment"`
}

// outIndices accepts an int or a list of ints, as some mmdet keys do.
type outIndices []int

func (o *outIndices) UnmarshalConfig(n Node) error {
	if n.Kind() == Scalar {
		var i int
		if err := n.Decode(&i); err != nil {
			return err
		}
		*o = outIndices{i}
		return nil
	}
	if n.Len() == 0 {
		return fmt.Errorf("need at least one index")
	}
	var s []int
	if err := n.Decode(&s); err != nil {
		return err
	}
	*o = s
	return nil
}

type decodeOptions struct {
	commonOptions `yaml:",inline"`

	Depth      int                `yaml:"depth"`
	Stages     uint8              `yaml:"num_stages"`
	Scale      float32            `yaml:"scale"`
	DropPath   float64            `yaml:"drop_path_rate"`
	Name       string             `yaml:"name"`
	Mean       []float64          `yaml:"mean"`
	Std        [3]float64         `yaml:"std"`
	Norm       normOptions        `yaml:"norm_cfg"`
	Init       *initOptions       `yaml:"init_cfg"`
	Classes    map[string]int     `yaml:"classes"`
	Layers     []normOptions      `yaml:"layers"`
	Extra      any                `yaml:"extra"`
	Neck       Node               `yaml:"neck"`
	Out        outIndices         `yaml:"out_indices"`
	Untagged   bool               // key "untagged"
	Skipped    string             `yaml:"-"`
	Groups     map[string][]int   `yaml:"groups"`
	Pretrained *string            `yaml:"pretrained"`
	Nested     map[string]*normOp `yaml:"nested"`
}

type normOp = normOptions

func defaultDecodeOptions() decodeOptions {
	return decodeOptions{
		Depth:    50,
		Stages:   4,
		Scale:    1,
		Name:     "resnet",
		Mean:     []float64{123.675, 116.28, 103.53},
		Std:      [3]float64{58.395, 57.12, 57.375},
		Norm:     normOptions{Type: "BN", RequiresGrad: true},
		Init:     &initOptions{Type: "Kaiming"},
		Classes:  map[string]int{"person": 0},
		Out:      outIndices{0, 1, 2, 3},
		Skipped:  "kept",
		Groups:   map[string][]int{"a": {1}},
		DropPath: 0.1,
	}
}

func TestDecode(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		yaml string
		want func(o *decodeOptions)
	}{
		{"empty mapping keeps defaults", `{}`, func(o *decodeOptions) {}},
		{"scalars", "depth: 101\nnum_stages: 3\nscale: 2\ndrop_path_rate: 1e-1\nname: snn\nuntagged: true", func(o *decodeOptions) {
			o.Depth, o.Stages, o.Scale, o.DropPath, o.Name, o.Untagged = 101, 3, 2, 0.1, "snn", true
		}},
		{"int list into []float64 replaces the default", "mean: [0, 1, 2.5, -3]", func(o *decodeOptions) { o.Mean = []float64{0, 1, 2.5, -3} }},
		{"array", "std: [1, 2, 3]", func(o *decodeOptions) { o.Std = [3]float64{1, 2, 3} }},
		{"nested struct overwrites only what is set", "norm_cfg: {type: GN}", func(o *decodeOptions) { o.Norm.Type = "GN" }},
		{"pointer to struct keeps unset fields", "init_cfg: {checkpoint: a.pth}", func(o *decodeOptions) { o.Init = &initOptions{Type: "Kaiming", Checkpoint: "a.pth"} }},
		{"null pointer", "init_cfg: null", func(o *decodeOptions) { o.Init = nil }},
		{"pointer to string", "pretrained: x.pth", func(o *decodeOptions) { o.Pretrained = str("x.pth") }},
		{"map replaces the default", "classes: {car: 2, bus: 5}", func(o *decodeOptions) { o.Classes = map[string]int{"car": 2, "bus": 5} }},
		{"null map", "classes: ~", func(o *decodeOptions) { o.Classes = nil }},
		{"map of slices", "groups: {b: [1, 2], c: []}", func(o *decodeOptions) { o.Groups = map[string][]int{"b": {1, 2}, "c": {}} }},
		{"map of pointers", "nested: {x: {type: LN}, y: null}", func(o *decodeOptions) {
			o.Nested = map[string]*normOp{"x": {Type: "LN"}, "y": nil}
		}},
		{"slice of structs", "layers: [{type: BN}, {requires_grad: true}]", func(o *decodeOptions) {
			o.Layers = []normOptions{{Type: "BN"}, {RequiresGrad: true}}
		}},
		{"any", "extra: {a: [1, 2.5, x, true, null]}", func(o *decodeOptions) {
			o.Extra = map[string]any{"a": []any{1, 2.5, "x", true, nil}}
		}},
		{"inline struct", "seed: 7\ncomment: hi", func(o *decodeOptions) { o.Seed, o.Comment = 7, "hi" }},
		{"Unmarshaler from int", "out_indices: 3", func(o *decodeOptions) { o.Out = outIndices{3} }},
		{"Unmarshaler from list", "out_indices: [1, 2]", func(o *decodeOptions) { o.Out = outIndices{1, 2} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("decode.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := defaultDecodeOptions()
			if err := n.Decode(&got); err != nil {
				t.Fatal(err)
			}
			want := defaultDecodeOptions()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDecodeNodeField(t *testing.T) {
	n, err := Parse("decode.yaml", []byte("depth: 18\nneck:\n  type: FPN\n  out_channels: 256\n"))
	if err != nil {
		t.Fatal(err)
	}
	var o decodeOptions
	if err := n.Decode(&o); err != nil {
		t.Fatal(err)
	}
	if o.Neck.Path() != "neck" || o.Neck.Type() != "FPN" || o.Neck.Line() != 3 {
		t.Errorf("neck node: path %q type %q line %d, want neck, FPN, 3", o.Neck.Path(), o.Neck.Type(), o.Neck.Line())
	}
	if got := string(o.Neck.Dump()); got != "type: FPN\nout_channels: 256\n" {
		t.Errorf("neck dump %q", got)
	}
}

// TestDecodeKeepsDefaults checks that decoding never writes through the
// defaults' pointers, slices or maps, and that an error leaves the target
// unchanged.
func TestDecodeKeepsDefaults(t *testing.T) {
	defaults := defaultDecodeOptions()
	n, err := Parse("decode.yaml", []byte("init_cfg: {checkpoint: b.pth}\nmean: [1, 2, 3]\nclasses: {a: 1}\ngroups: {a: [9]}"))
	if err != nil {
		t.Fatal(err)
	}
	got := defaults
	if err := n.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(defaults, defaultDecodeOptions()) {
		t.Errorf("defaults changed by Decode: %+v", defaults)
	}

	bad, err := Parse("decode.yaml", []byte("depth: 18\ninit_cfg: {checkpoint: c.pth}\nname: 3"))
	if err != nil {
		t.Fatal(err)
	}
	got = defaultDecodeOptions()
	if err := bad.Decode(&got); err == nil {
		t.Fatal("no error")
	}
	if !reflect.DeepEqual(got, defaultDecodeOptions()) {
		t.Errorf("target changed by a failed Decode: %+v", got)
	}
}

func TestDecodeMissing(t *testing.T) {
	n, err := Parse("decode.yaml", []byte("a: 1"))
	if err != nil {
		t.Fatal(err)
	}
	got := defaultDecodeOptions()
	if err := n.Get("b.c").Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, defaultDecodeOptions()) {
		t.Error("decoding a missing node changed the target")
	}
}

func TestDecodeErrors(t *testing.T) {
	const allowed = "allowed keys: classes, comment, depth, drop_path_rate, extra, groups, init_cfg, layers, mean, name, neck, nested, norm_cfg, num_stages, out_indices, pretrained, scale, seed, std, untagged"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key with a close match", "depth: 50\ndpeth: 101",
			`config: decode.yaml:2: dpeth: unknown key "dpeth" (did you mean "depth"?); ` + allowed},
		{"unknown key without a close match", "depth: 50\nbatch_size: 2",
			`config: decode.yaml:2: batch_size: unknown key "batch_size"; ` + allowed},
		{"unknown nested key", "norm_cfg:\n  type: BN\n  requires_gard: true",
			`config: decode.yaml:3: norm_cfg.requires_gard: unknown key "requires_gard" (did you mean "requires_grad"?); allowed keys: requires_grad, type`},
		{"unknown key in a list item", "layers:\n  - {type: BN}\n  - {typ: GN}",
			`config: decode.yaml:3: layers.1.typ: unknown key "typ" (did you mean "type"?); allowed keys: requires_grad, type`},
		{"string for an int", "depth: fifty",
			`config: decode.yaml:1: depth: expected an integer, found string "fifty"`},
		{"quoted int for an int", "depth: \"50\"",
			`config: decode.yaml:1: depth: expected an integer, found string "50"`},
		{"float for an int", "depth: 50.5",
			`config: decode.yaml:1: depth: expected an integer, found float 50.5`},
		{"int overflow", "num_stages: 300",
			`config: decode.yaml:1: num_stages: expected a non-negative integer that fits in uint8, found integer 300`},
		{"negative for unsigned", "num_stages: -1",
			`config: decode.yaml:1: num_stages: expected a non-negative integer, found integer -1`},
		{"null for an int", "depth:",
			`config: decode.yaml:1: depth: expected an integer, found null`},
		{"bool for a float", "drop_path_rate: true",
			`config: decode.yaml:1: drop_path_rate: expected a number, found boolean true`},
		{"float32 overflow", "scale: 1e300",
			`config: decode.yaml:1: scale: expected a number that fits in float32, found float 1e300`},
		{"number for a string", "name: 18",
			`config: decode.yaml:1: name: expected a string, found integer 18 (quote it to make it a string)`},
		{"list for a string", "name: [a]",
			`config: decode.yaml:1: name: expected a string, found a list of 1 item`},
		{"string for a bool", "untagged: yes",
			`config: decode.yaml:1: untagged: expected a boolean, found string "yes"`},
		{"scalar for a list", "mean: 0.5",
			`config: decode.yaml:1: mean: expected a list, found float 0.5`},
		{"string in a float list", "mean: [1, 2, x]",
			`config: decode.yaml:1: mean.2: expected a number, found string "x"`},
		{"wrong array length", "std: [1, 2]",
			`config: decode.yaml:1: std: expected a list of 3 items, found a list of 2 items`},
		{"list for a struct", "norm_cfg: [BN]",
			`config: decode.yaml:1: norm_cfg: expected a mapping, found a list of 1 item`},
		{"scalar for a map", "classes: person",
			`config: decode.yaml:1: classes: expected a mapping, found string "person"`},
		{"mistyped map value", "classes:\n  person: first",
			`config: decode.yaml:2: classes.person: expected an integer, found string "first"`},
		{"Unmarshaler error located", "out_indices: []",
			`config: decode.yaml:1: out_indices: need at least one index`},
		{"Unmarshaler passes Error through", "out_indices: [1, x]",
			`config: decode.yaml:1: out_indices.1: expected an integer, found string "x"`},
		{"first error in document order", "depth: x\nname: 3",
			`config: decode.yaml:1: depth: expected an integer, found string "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("decode.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			o := defaultDecodeOptions()
			err = n.Decode(&o)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestDecodeErrorLocation checks the error's fields, not only its text,
// for a key that came from a base file.
func TestDecodeErrorLocation(t *testing.T) {
	n, err := Load("testdata/inherit/child.yaml", "model.backbone.depth=deep")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Type         string    `yaml:"type"`
		Depth        int       `yaml:"depth"`
		FrozenStages int       `yaml:"frozen_stages"`
		OutIndices   []int     `yaml:"out_indices"`
		Norm         yamlNormT `yaml:"norm_cfg"`
	}
	err = n.Get("model.backbone").Decode(&o)
	want := &Error{File: "--cfg-options", Path: "model.backbone.depth", Msg: `expected an integer, found string "deep"`}
	if e, ok := err.(*Error); !ok || *e != *want {
		t.Fatalf("error %#v, want %#v", err, want)
	}

	n, err = Load("testdata/inherit/child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var small struct {
		Type  string `yaml:"type"`
		Depth int    `yaml:"depth"`
	}
	err = n.Get("model.backbone").Decode(&small)
	want = &Error{File: "testdata/inherit/_base_/models/resnet_fpn.yaml", Line: 7, Path: "model.backbone.frozen_stages",
		Msg: `unknown key "frozen_stages"; allowed keys: depth, type`}
	if e, ok := err.(*Error); !ok || *e != *want {
		t.Fatalf("error %#v, want %#v", err, want)
	}
}

type yamlNormT struct {
	Type         string `yaml:"type"`
	RequiresGrad bool   `yaml:"requires_grad"`
}

// TestDecodeRetypeSuggestsDelete checks the hint for keys inherited across
// a change of type, from a file and from --cfg-options.
func TestDecodeRetypeSuggestsDelete(t *testing.T) {
	type snnmlp struct {
		Type     string `yaml:"type"`
		EmbedDim int    `yaml:"embed_dim"`
	}
	tests := []struct {
		name    string
		config  string
		options []string
		want    string
	}{
		{"child file changes type", "testdata/inherit/retype.yaml", nil,
			`config: testdata/inherit/_base_/models/resnet_fpn.yaml:6: model.backbone.depth: unknown key "depth"; ` +
				`it was inherited from testdata/inherit/_base_/models/resnet_fpn.yaml, where type is ResNet, and testdata/inherit/retype.yaml changes type to SNNMLP: ` +
				`add "_delete_: true" beside the new type to drop the inherited keys; allowed keys: embed_dim, type`},
		{"option changes type", "testdata/inherit/child.yaml", []string{"model.backbone.type=SNNMLP"},
			`config: testdata/inherit/child.yaml:4: model.backbone.depth: unknown key "depth"; ` +
				`it was inherited from testdata/inherit/child.yaml, where type is ResNet, and --cfg-options changes type to SNNMLP: ` +
				`add "_delete_: true" beside the new type to drop the inherited keys; allowed keys: embed_dim, type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Load(tt.config, tt.options...)
			if err != nil {
				t.Fatal(err)
			}
			var o snnmlp
			err = n.Get("model.backbone").Decode(&o)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
	// With _delete_ the same change decodes.
	n, err := Load("testdata/inherit/delete.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var o snnmlp
	if err := n.Get("model.backbone").Decode(&o); err != nil || o.EmbedDim != 96 {
		t.Errorf("delete.yaml backbone: %+v, %v", o, err)
	}
}

func TestDecodePanics(t *testing.T) {
	n, _ := Parse("p.yaml", []byte("a: 1"))
	tests := []struct {
		name string
		out  any
		want string
	}{
		{"not a pointer", decodeOptions{}, "config: Decode needs a non-nil pointer, got config.decodeOptions"},
		{"nil pointer", (*decodeOptions)(nil), "config: Decode needs a non-nil pointer, got *config.decodeOptions"},
		{"int map keys", &map[int]int{}, "config: cannot decode into Go type map[int]int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, tt.want) {
					t.Errorf("panic %v, want %q", r, tt.want)
				}
			}()
			n.Decode(tt.out)
		})
	}
}
