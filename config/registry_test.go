package config

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// testComponent stands for a built backbone.
type testComponent struct {
	Kind       string
	Depth      int
	InChannels int
	OutIndices []int
}

type resnetOptions struct {
	Depth      int   `yaml:"depth"`
	InChannels int   `yaml:"in_channels"`
	OutIndices []int `yaml:"out_indices"`
}

func newResNet(o resnetOptions) (*testComponent, error) {
	switch o.Depth {
	case 18, 34, 50, 101, 152:
	default:
		return nil, fmt.Errorf("depth %d is not one of 18, 34, 50, 101, 152", o.Depth)
	}
	return &testComponent{Kind: "ResNet", Depth: o.Depth, InChannels: o.InChannels, OutIndices: o.OutIndices}, nil
}

var (
	testBackbones = NewRegistry[*testComponent]("test.backbones")
	testEmpty     = NewRegistry[int]("test.empty")
)

func init() {
	RegisterOptions(testBackbones, "ResNet", resnetOptions{Depth: 50, InChannels: 3, OutIndices: []int{0, 1, 2, 3}}, newResNet)
	testBackbones.Register("SNNMLP", func(n Node) (*testComponent, error) {
		var o struct {
			EmbedDim int `yaml:"embed_dim"`
		}
		o.EmbedDim = 96
		if err := n.Decode(&o); err != nil {
			return nil, err
		}
		return &testComponent{Kind: "SNNMLP", Depth: o.EmbedDim}, nil
	})
	RegisterOptions(testBackbones, "ResNeXt", resnetOptions{Depth: 50}, newResNet)
}

// where returns "file:line" of the first line of this test file that
// contains marker, for checking recorded registration sites.
func where(t *testing.T, marker string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, marker) {
			return fmt.Sprintf("%s:%d", file, i+1)
		}
	}
	t.Fatalf("marker %q not in %s", marker, file)
	return ""
}

func TestRegistryBuild(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		defaults map[string]any
		want     testComponent
	}{
		{"defaults from the options struct", "backbone: {type: ResNet}", nil, testComponent{"ResNet", 50, 3, []int{0, 1, 2, 3}}},
		{"config overwrites defaults", "backbone: {type: ResNet, depth: 101, out_indices: [3]}", nil, testComponent{"ResNet", 101, 3, []int{3}}},
		{"build defaults fill missing keys", "backbone: {type: ResNet}", map[string]any{"in_channels": 1, "depth": 18}, testComponent{"ResNet", 18, 1, []int{0, 1, 2, 3}}},
		{"config wins over build defaults", "backbone: {type: ResNet, depth: 34}", map[string]any{"depth": 18}, testComponent{"ResNet", 34, 3, []int{0, 1, 2, 3}}},
		{"build defaults may give the type", "backbone: {depth: 34}", map[string]any{"type": "ResNet"}, testComponent{"ResNet", 34, 3, []int{0, 1, 2, 3}}},
		{"raw builder", "backbone: {type: SNNMLP, embed_dim: 64}", nil, testComponent{Kind: "SNNMLP", Depth: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("build.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			before := string(n.Dump())
			got, err := testBackbones.BuildWithDefaults(n.Get("backbone"), tt.defaults)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(*got) != fmt.Sprint(tt.want) {
				t.Errorf("built %+v, want %+v", *got, tt.want)
			}
			if string(n.Dump()) != before {
				t.Error("Build changed the config")
			}
		})
	}
	// Builds do not share the defaults' slices.
	a, _ := testBackbones.Build(mustParseText(t, "{type: ResNet}"))
	a.OutIndices[0] = 99
	b, _ := testBackbones.Build(mustParseText(t, "{type: ResNet}"))
	if b.OutIndices[0] != 0 {
		t.Error("a build changed the registered defaults")
	}
}

func mustParseText(t *testing.T, text string) Node {
	t.Helper()
	n, err := Parse("build.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegistryBuildErrors(t *testing.T) {
	const hint = `the package that registers it may not be imported: add a blank import of it (import _ "path/to/pkg") to the main package`
	tests := []struct {
		name, yaml, path string
		reg              func(Node) error
		want             string
	}{
		{"typo, case only", "model:\n  backbone:\n    type: resnet", "model.backbone", nil,
			`config: build.yaml:3: model.backbone.type: registry "test.backbones" has no type "resnet" (did you mean "ResNet"?); if not a typo, ` + hint + `; registered test.backbones: ResNeXt, ResNet, SNNMLP`},
		{"typo, transposed letters", "model:\n  backbone:\n    type: SNNMPL", "model.backbone", nil,
			`config: build.yaml:3: model.backbone.type: registry "test.backbones" has no type "SNNMPL" (did you mean "SNNMLP"?); if not a typo, ` + hint + `; registered test.backbones: ResNeXt, ResNet, SNNMLP`},
		{"two close matches", "backbone: {type: ResNxt}", "backbone", nil,
			`config: build.yaml:1: backbone.type: registry "test.backbones" has no type "ResNxt" (did you mean "ResNeXt" or "ResNet"?); if not a typo, ` + hint + `; registered test.backbones: ResNeXt, ResNet, SNNMLP`},
		{"no close match", "backbone: {type: SpikeFormer}", "backbone", nil,
			`config: build.yaml:1: backbone.type: registry "test.backbones" has no type "SpikeFormer"; ` + hint + `; registered test.backbones: ResNeXt, ResNet, SNNMLP`},
		{"empty registry", "metric: {type: CocoMetric}", "metric", func(n Node) error { _, err := testEmpty.Build(n); return err },
			`config: build.yaml:1: metric.type: registry "test.empty" has no type "CocoMetric"; ` + hint + `; no test.empty are registered in this program`},
		{"missing type", "backbone:\n  depth: 50", "backbone", nil,
			`config: build.yaml:2: backbone: missing "type" key: set it to one of the test.backbones (ResNeXt, ResNet, SNNMLP)`},
		{"type not a string", "backbone: {type: 50}", "backbone", nil,
			`config: build.yaml:1: backbone.type: expected a string naming one of the test.backbones, found integer 50`},
		{"node missing", "model: {}", "model.backbone", nil,
			`config: build.yaml:1: model.backbone: missing: expected a mapping with a "type" key naming one of the test.backbones (ResNeXt, ResNet, SNNMLP)`},
		{"node missing, empty registry", "model: {}", "model.metric", func(n Node) error { _, err := testEmpty.Build(n); return err },
			`config: build.yaml:1: model.metric: missing: expected a mapping with a "type" key naming one of the test.empty, but none is registered in this program`},
		{"node not a mapping", "backbone: ResNet", "backbone", nil,
			`config: build.yaml:1: backbone: expected a mapping with a "type" key, found string "ResNet"`},
		{"strict decode of options", "backbone:\n  type: ResNet\n  dpeth: 101", "backbone", nil,
			`config: build.yaml:3: backbone.dpeth: unknown key "dpeth" (did you mean "depth"?); allowed keys: depth, in_channels, out_indices`},
		{"mistyped option", "backbone:\n  type: ResNet\n  depth: [50]", "backbone", nil,
			`config: build.yaml:3: backbone.depth: expected an integer, found a list of 1 item`},
		{"constructor error wrapped", "backbone:\n  type: ResNet\n  depth: 7", "backbone", nil,
			`config: build.yaml:2: backbone: building test.backbones type "ResNet": depth 7 is not one of 18, 34, 50, 101, 152`},
		{"raw builder decode error", "backbone: {type: SNNMLP, embed_dims: 1}", "backbone", nil,
			`config: build.yaml:1: backbone.embed_dims: unknown key "embed_dims" (did you mean "embed_dim"?); allowed keys: embed_dim`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustParseText(t, tt.yaml).Get(tt.path)
			build := tt.reg
			if build == nil {
				build = func(n Node) error { _, err := testBackbones.Build(n); return err }
			}
			err := build(n)
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
}

func TestRegisterPanics(t *testing.T) {
	r := &Registry[int]{name: "dups", entries: map[string]registered[int]{}}
	one := func(Node) (int, error) { return 1, nil }
	r.Register("a", one) // first a
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"duplicate name", func() { r.Register("a", one) },
			`config: dups: "a" registered twice: first at ` + where(t, "// first a") + `, again at ` + where(t, `{"duplicate name", func`)},
		{"duplicate through RegisterOptions", func() { RegisterOptions(r, "a", struct{}{}, func(struct{}) (int, error) { return 0, nil }) },
			`config: dups: "a" registered twice: first at ` + where(t, "// first a") + `, again at ` + where(t, `{"duplicate through RegisterOptions"`)},
		{"empty name", func() { r.Register("", one) }, `config: dups: Register with an empty name`},
		{"nil builder", func() { r.Register("b", nil) }, `config: dups: Register "b" with a nil builder`},
		{"nil constructor", func() { RegisterOptions[int, struct{}](r, "c", struct{}{}, nil) }, `config: dups: Register "c" with a nil builder`},
		{"duplicate registry", func() { NewRegistry[int]("test.backbones") },
			`config: registry "test.backbones" created twice: first at ` + where(t, "testBackbones = NewRegistry") + `, again at ` + where(t, `{"duplicate registry"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tt.want {
					t.Errorf("panic\n%v\nwant\n%s", r, tt.want)
				}
			}()
			tt.f()
		})
	}
	if got := r.Names(); !equalStrings(got, []string{"a"}) {
		t.Errorf("names after failed registrations %q, want [a]", got)
	}
}

func TestRegistryListing(t *testing.T) {
	if got := testBackbones.Names(); !equalStrings(got, []string{"ResNeXt", "ResNet", "SNNMLP"}) {
		t.Errorf("Names() = %q", got)
	}
	if !testBackbones.Has("ResNet") || testBackbones.Has("resnet") {
		t.Error("Has is wrong")
	}
	all := AllRegistries()
	var names []string
	for _, info := range all {
		names = append(names, info.Name)
	}
	// The declared kinds in order, then every other registry by name (the
	// example file adds one besides the test registries here).
	wantNames := []string{Models, Backbones, Necks, Heads, Datasets, Transforms, Optimizers, Schedules, Hooks, Metrics, "example.necks", "test.backbones", "test.empty", "test.parts"}
	if !equalStrings(names, wantNames) {
		t.Fatalf("AllRegistries names %q, want %q", names, wantNames)
	}
	for _, info := range all[:len(declared)] {
		if info.Doc == "" || info.Linked || len(info.Entries) != 0 {
			t.Errorf("%s: %+v; want a doc, not linked in this test binary, no entries", info.Name, info)
		}
	}
	tb := all[len(declared)+1]
	if !tb.Linked || tb.Doc != "" || len(tb.Entries) != 3 {
		t.Fatalf("test.backbones: %+v", tb)
	}
	want := []Registration{
		{"ResNeXt", where(t, `RegisterOptions(testBackbones, "ResNeXt"`)},
		{"ResNet", where(t, `RegisterOptions(testBackbones, "ResNet"`)},
		{"SNNMLP", where(t, `testBackbones.Register("SNNMLP"`)},
	}
	for i, e := range tb.Entries {
		if e != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, e, want[i])
		}
	}
}

// Two parts of one kind, as dp's heads registry: a string part and an int
// part.
var (
	testWords   = NewPartRegistry[string]("test.parts", "word parts")
	testNumbers = NewPartRegistry[int]("test.parts", "number parts")
)

func init() {
	testWords.Register("Hello", func(Node) (string, error) { return "hello", nil }) // first Hello
	RegisterOptions(testNumbers, "Seven", struct {
		Plus int `yaml:"plus"`
	}{}, func(o struct {
		Plus int `yaml:"plus"`
	}) (int, error) {
		return 7 + o.Plus, nil
	})
}

func TestPartRegistries(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte("a: {type: Seven, plus: 1}\nb: {type: Hello}\nc: {type: Sevn}\nd: {plus: 2}\ne: {type: 3}"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := testNumbers.Build(cfg.Field("a")); err != nil || v != 8 {
		t.Errorf("Build a: %v, %v; want 8", v, err)
	}
	tests := []struct {
		key, want string
	}{
		{"b", `config: p.yaml:2: b.type: test.parts type "Hello" is one of the word parts and cannot be used here; allowed here (number parts): Seven`},
		{"c", `config: p.yaml:3: c.type: registry "test.parts" has no type "Sevn" (did you mean "Seven"?); if not a typo, the package that registers it may not be imported: add a blank import of it (import _ "path/to/pkg") to the main package; registered number parts: Seven`},
		{"d", `config: p.yaml:4: d: missing "type" key: set it to one of the number parts (Seven)`},
		{"e", `config: p.yaml:5: e.type: expected a string naming one of the number parts, found integer 3`},
	}
	for _, tt := range tests {
		if _, err := testNumbers.Build(cfg.Field(tt.key)); err == nil || err.Error() != tt.want {
			t.Errorf("Build %s:\n got %v\nwant %s", tt.key, err, tt.want)
		}
		// CheckType agrees, except that a mapping without a type passes.
		err := testNumbers.CheckType(cfg.Field(tt.key))
		if tt.key == "d" {
			if err != nil {
				t.Errorf("CheckType d: %v, want nil", err)
			}
		} else if err == nil || err.Error() != tt.want {
			t.Errorf("CheckType %s:\n got %v\nwant %s", tt.key, err, tt.want)
		}
	}
	if err := testNumbers.CheckType(cfg.Field("a")); err != nil {
		t.Errorf("CheckType a: %v", err)
	}

	// Listed once, with the names of every part.
	var info *RegistryInfo
	for _, r := range AllRegistries() {
		if r.Name == "test.parts" {
			info = &r
		}
	}
	if info == nil || !info.Linked || len(info.Entries) != 2 || info.Entries[0].Name != "Hello" || info.Entries[1].Name != "Seven" {
		t.Fatalf("test.parts listed as %+v, want Hello and Seven", info)
	}
	if info.Entries[0].Where != where(t, "// first Hello") {
		t.Errorf("Hello registered at %s, want %s", info.Entries[0].Where, where(t, "// first Hello"))
	}

	// A name is unique across the parts; parts and whole registries do not mix.
	for _, tt := range []struct {
		name string
		f    func()
		want string
	}{
		{"name in another part", func() { testNumbers.Register("Hello", func(Node) (int, error) { return 0, nil }) },
			`config: test.parts: "Hello" registered twice: first at ` + where(t, "// first Hello") + `, again at ` + where(t, `{"name in another part"`)},
		{"part twice", func() { NewPartRegistry[int]("test.parts", "word parts") },
			`config: registry "test.parts": part "word parts" created twice: first at ` + where(t, "testWords   = NewPartRegistry") + `, again at ` + where(t, `{"part twice"`)},
		{"whole over parts", func() { NewRegistry[int]("test.parts") },
			`config: registry "test.parts" created twice: first at ` + where(t, "testWords   = NewPartRegistry") + `, again at ` + where(t, `{"whole over parts"`)},
		{"part of a whole", func() { NewPartRegistry[int]("test.empty", "ints") },
			`config: registry "test.empty" created twice: first at ` + where(t, "testEmpty     = NewRegistry") + `, again at ` + where(t, `{"part of a whole"`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tt.want {
					t.Errorf("panic\n%v\nwant\n%s", r, tt.want)
				}
			}()
			tt.f()
		})
	}
}
