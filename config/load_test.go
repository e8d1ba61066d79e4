package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// mustParse parses a want file so that its Dump can be compared with a
// loaded config's.
func mustParse(t *testing.T, path string) Node {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoadInheritance(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"list of four bases, one level", "testdata/inherit/base_all.yaml", ""},
		{"two levels, child merges and replaces lists", "testdata/inherit/child.yaml", "testdata/inherit/child.want.yaml"},
		{"three levels, base path relative to subfolder", "testdata/inherit/sub/grandchild.yaml", "testdata/inherit/sub/grandchild.want.yaml"},
		{"_delete_ true replaces, false merges", "testdata/inherit/delete.yaml", "testdata/inherit/delete.want.yaml"},
		{"_base_ as a single string", "testdata/inherit/string_base.yaml", "testdata/inherit/string_base.want.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.config)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				// base_all is the concatenation of its bases, in order.
				want := []string{"model", "data_root", "train_dataloader", "optim_wrapper", "param_scheduler", "max_epochs", "default_hooks", "log_level"}
				if g := got.Keys(); !equalStrings(g, want) {
					t.Fatalf("keys %q, want %q", g, want)
				}
				return
			}
			if g, w := string(got.Dump()), string(mustParse(t, tt.want).Dump()); g != w {
				t.Errorf("merged config:\n%s\nwant:\n%s", g, w)
			}
			for _, k := range []string{baseKey, deleteKey} {
				if hasKey(got.v, k) {
					t.Errorf("%s left in the merged config", k)
				}
			}
		})
	}
}

func hasKey(v *value, key string) bool {
	for _, e := range v.entries {
		if e.key == key || hasKey(e.val, key) {
			return true
		}
	}
	for _, it := range v.items {
		if hasKey(it, key) {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLoadProvenance checks that merged values remember the file and line
// they came from.
func TestLoadProvenance(t *testing.T) {
	n, err := Load("testdata/inherit/sub/grandchild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, file string
		line       int
	}{
		{"model.backbone.depth", "testdata/inherit/child.yaml", 4},
		{"model.backbone.frozen_stages", "testdata/inherit/_base_/models/resnet_fpn.yaml", 7},
		{"model.neck.out_channels", "testdata/inherit/sub/grandchild.yaml", 4},
		{"train_dataloader.dataset.pipeline.0.type", "testdata/inherit/child.yaml", 12},
		{"param_scheduler.1.milestones", "testdata/inherit/_base_/schedules/sgd_1x.yaml", 5},
		{"max_epochs", "testdata/inherit/sub/grandchild.yaml", 5},
		{"log_level", "testdata/inherit/_base_/runtime.yaml", 4},
	}
	for _, tt := range tests {
		got := n.Get(tt.path)
		if !got.Exists() || got.File() != tt.file || got.Line() != tt.line {
			t.Errorf("%s: exists %v at %s:%d, want %s:%d", tt.path, got.Exists(), got.File(), got.Line(), tt.file, tt.line)
		}
	}
}

// TestMergeKeepsBases checks that merging never changes the trees merged.
func TestMergeKeepsBases(t *testing.T) {
	base := mustParse(t, "testdata/inherit/_base_/models/resnet_fpn.yaml")
	child := mustParse(t, "testdata/inherit/retype.yaml") // has a _base_ key, which merge treats as data here
	baseDump, childDump := string(base.Dump()), string(child.Dump())
	merged, err := merge(base.v, child.v, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := (Node{v: merged}).Get("model.backbone.type"); got.v.text != "SNNMLP" {
		t.Fatalf("merged backbone type %q, want SNNMLP", got.v.text)
	}
	if string(base.Dump()) != baseDump || string(child.Dump()) != childDump {
		t.Error("merge changed its inputs")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		config string
		want   string
	}{
		{"testdata/errors/dup_child.yaml",
			`config: testdata/errors/dup_child.yaml:2: _base_: key "model" is defined by both testdata/errors/dup_a.yaml and testdata/errors/dup_b.yaml; a key may come from one base only`},
		{"testdata/errors/nested_base.yaml",
			`config: testdata/errors/dup_child.yaml:2: _base_: key "model" is defined by both testdata/errors/dup_a.yaml and testdata/errors/dup_b.yaml; a key may come from one base only`},
		{"testdata/errors/cycle_a.yaml",
			`config: testdata/errors/cycle_b.yaml:2: _base_: inheritance cycle: testdata/errors/cycle_a.yaml -> testdata/errors/cycle_b.yaml -> testdata/errors/cycle_a.yaml`},
		{"testdata/errors/missing_base.yaml",
			`config: testdata/errors/missing_base.yaml:1: _base_: open testdata/errors/nowhere.yaml: no such file or directory`},
		{"testdata/errors/bad_base.yaml",
			`config: testdata/errors/bad_base.yaml:1: _base_: expected a file name or a list of file names, found a mapping`},
		{"testdata/errors/dict_over_scalar.yaml",
			`config: testdata/errors/dict_over_scalar.yaml:2: log_level: a mapping here cannot merge into string "INFO" inherited from testdata/errors/dup_b.yaml; add "_delete_: true" to replace it`},
		{"testdata/errors/bad_delete.yaml",
			`config: testdata/errors/bad_delete.yaml:3: model._delete_: expected true or false, found integer 1`},
		{"testdata/errors/dup_key.yaml",
			`config: testdata/errors/dup_key.yaml:4: model.depth: key "depth" is defined twice in one mapping (first at line 3)`},
		{"testdata/errors/not_mapping.yaml",
			`config: testdata/errors/not_mapping.yaml:1: expected a mapping at the top level, found a list of 2 items`},
		{"testdata/errors/syntax.yaml",
			`config: testdata/errors/syntax.yaml: yaml: line 3: mapping values are not allowed in this context`},
		{"testdata/errors/absent.yaml",
			`config: open testdata/errors/absent.yaml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.config), func(t *testing.T) {
			_, err := Load(tt.config)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
	// The cause of a missing file stays visible to errors.Is.
	if _, err := Load("testdata/errors/missing_base.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing base: errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
}

func TestParseEmptyAndNull(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "~\n"} {
		n, err := Parse("empty.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if n.Kind() != Map || n.Len() != 0 {
			t.Errorf("%q: kind %v with %d keys, want an empty mapping", text, n.Kind(), n.Len())
		}
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	n, err := Parse("anchors.yaml", []byte(`
norm: &bn {type: BN, requires_grad: true}
backbone:
  norm_cfg: *bn
neck:
  <<: *bn
  type: GN
`))
	if err != nil {
		t.Fatal(err)
	}
	want := "norm:\n  type: BN\n  requires_grad: true\nbackbone:\n  norm_cfg:\n    type: BN\n    requires_grad: true\nneck:\n  type: GN\n  requires_grad: true\n"
	if got := string(n.Dump()); got != want {
		t.Errorf("dump\n%s\nwant\n%s", got, want)
	}
}

func TestWorkDirFor(t *testing.T) {
	tests := []struct{ config, want string }{
		{"configs/det_maskrcnn_snnmlp_t.yaml", "work_dirs/det_maskrcnn_snnmlp_t"},
		{"a.b.yml", "work_dirs/a.b"},
		{"/abs/path/seg", "work_dirs/seg"},
	}
	for _, tt := range tests {
		if got := WorkDirFor(tt.config); got != filepath.FromSlash(tt.want) {
			t.Errorf("WorkDirFor(%q) = %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	a, err := Load("testdata/inherit/child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The same tree written out by hand in another file has the same hash.
	b := mustParse(t, "testdata/inherit/child.want.yaml")
	if a.Hash() != b.Hash() {
		t.Errorf("equal trees hash differently: %s, %s", a.Hash(), b.Hash())
	}
	c, err := a.Override("model.backbone.depth=50")
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() == c.Hash() {
		t.Error("an override did not change the hash")
	}
	if len(a.Hash()) != 64 {
		t.Errorf("hash %q is not 64 hex digits", a.Hash())
	}
}

// TestDumpRoundTrip checks that Dump output parses back to the same tree,
// including strings that look like other types.
func TestDumpRoundTrip(t *testing.T) {
	n, err := Parse("rt.yaml", []byte(`
s: ["true", "3", "1e-4", "null", "", "a: b", "- x", "multi\nline"]
v: [true, 3, 1e-4, null, -0.5, .inf]
nested: [[1, 2], {a: 1}]
empty_list: []
empty_map: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := n.Dump()
	m, err := Parse("dump.yaml", d)
	if err != nil {
		t.Fatalf("dump does not parse: %v\n%s", err, d)
	}
	if string(m.Dump()) != string(d) {
		t.Errorf("round trip changed the tree:\n%s\nthen\n%s", d, m.Dump())
	}
	for i := 0; i < 8; i++ {
		if tag := m.Get("s").Index(i).Tag(); tag != "!!str" {
			t.Errorf("s.%d: tag %s after round trip, want !!str", i, tag)
		}
	}
	wantTags := []string{"!!bool", "!!int", "!!float", "!!null", "!!float", "!!float"}
	for i, w := range wantTags {
		if tag := m.Get("v").Index(i).Tag(); tag != w {
			t.Errorf("v.%d: tag %s after round trip, want %s", i, tag, w)
		}
	}
}
