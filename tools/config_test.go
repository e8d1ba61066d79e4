package tools

import (
	"bytes"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
)

// runDP runs the dp CLI in-process and returns stdout and the error.
func runDP(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := App(&stdout, &stderr).Run(append([]string{"dp"}, args...))
	return stdout.String(), err
}

const testConfig = "../config/testdata/inherit/child.yaml"

func TestConfigShow(t *testing.T) {
	tests := []struct {
		name string
		args []string
		opts []string // the overrides the args amount to
	}{
		{"no options", []string{testConfig}, nil},
		{"flag before config", []string{"--cfg-options", "model.backbone.depth=18", testConfig}, []string{"model.backbone.depth=18"}},
		{"flag after config, mmdet style", []string{testConfig, "--cfg-options", "model.backbone.depth=18", "train_dataloader.dataset.pipeline.0.scale=[640,640]"},
			[]string{"model.backbone.depth=18", "train_dataloader.dataset.pipeline.0.scale=[640,640]"}},
		{"several pairs after one flag before config", []string{"--cfg-options", "max_epochs=1", "log_level=DEBUG", testConfig}, []string{"max_epochs=1", "log_level=DEBUG"}},
		{"repeated flag, equals form, commas kept", []string{"--cfg-options=model.backbone.out_indices=[0,3]", "--cfg-options", "max_epochs=2", testConfig},
			[]string{"model.backbone.out_indices=[0,3]", "max_epochs=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runDP(t, append([]string{"config", "show"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := config.Load(testConfig, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want.Dump()) {
				t.Errorf("output\n%s\nwant\n%s", got, want.Dump())
			}
			if strings.Contains(got, "_base_") {
				t.Error("merged config still has _base_")
			}
		})
	}
}

func TestConfigShowErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no config", nil, "config show: expected one CONFIG, got 0 arguments\n" + configShowUsage},
		{"two configs", []string{testConfig, testConfig}, "config show: expected one CONFIG, got 2 arguments\n" + configShowUsage},
		{"flag after config", []string{testConfig, "--work-dir", "x"}, "config show: flag --work-dir after the arguments: only --cfg-options may follow them; put other flags before"},
		{"flag without value", []string{testConfig, "--cfg-options"}, "config show: --cfg-options needs a KEY=VALUE"},
		{"bad option", []string{testConfig, "--cfg-options", "max_epochs"}, "config: --cfg-options max_epochs: expected KEY=VALUE, e.g. optim_wrapper.optimizer.lr=0.01"},
		{"bad index", []string{testConfig, "--cfg-options", "param_scheduler.5.end=1"}, "config: --cfg-options param_scheduler.5.end=1: param_scheduler.5: index 5 is out of range for a list of 2 items"},
		{"missing file", []string{"nowhere.yaml"}, "config: open nowhere.yaml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runDP(t, append([]string{"config", "show"}, tt.args...)...)
			if err == nil {
				t.Fatalf("no error; output\n%s", out)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
			if out != "" {
				t.Errorf("output on error: %q", out)
			}
		})
	}
}

var testWidgets = config.NewRegistry[int]("test.widgets")

func init() {
	testWidgets.Register("Gear", func(config.Node) (int, error) { return 1, nil })
	testWidgets.Register("Bolt", func(config.Node) (int, error) { return 2, nil })
	config.NewRegistry[int]("test.nothing")
}

func TestConfigRegistries(t *testing.T) {
	got, err := runDP(t, "config", "registries")
	if err != nil {
		t.Fatal(err)
	}
	// Every registry appears, declared kinds first and in order, each
	// heading followed by its names or a note.
	all := config.AllRegistries()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	i := 0
	for _, r := range all {
		if i >= len(lines) {
			t.Fatalf("output ends before registry %s:\n%s", r.Name, got)
		}
		heading := r.Name
		if r.Doc != "" {
			heading += ": " + r.Doc
		}
		if lines[i] != heading {
			t.Fatalf("line %d: %q, want heading %q", i+1, lines[i], heading)
		}
		i++
		switch {
		case !r.Linked:
			if lines[i] != "  (no package in this program provides it)" {
				t.Errorf("%s: %q, want the not-linked note", r.Name, lines[i])
			}
			i++
		case len(r.Entries) == 0:
			if lines[i] != "  (none registered)" {
				t.Errorf("%s: %q, want the none-registered note", r.Name, lines[i])
			}
			i++
		}
		for _, e := range r.Entries {
			if lines[i] != "  "+e.Name {
				t.Errorf("%s: %q, want %q", r.Name, lines[i], "  "+e.Name)
			}
			i++
		}
	}
	if i != len(lines) {
		t.Errorf("extra output: %q", lines[i:])
	}
	// The test registries are listed with their names.
	if !strings.Contains(got, "test.widgets\n  Bolt\n  Gear\n") || !strings.Contains(got, "test.nothing\n  (none registered)\n") {
		t.Errorf("test registries missing or wrong:\n%s", got)
	}
	for _, kind := range []string{config.Models, config.Backbones, config.Necks, config.Heads, config.Datasets, config.Transforms, config.Optimizers, config.Schedules, config.Hooks, config.Metrics} {
		if !strings.Contains(got, "\n"+kind+": ") && !strings.HasPrefix(got, kind+": ") {
			t.Errorf("registry %s not listed", kind)
		}
	}

	where, err := runDP(t, "config", "registries", "--where")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(where, "tools/config_test.go:") {
		t.Errorf("--where does not show registration sites:\n%s", where)
	}
	if _, err := runDP(t, "config", "registries", "extra"); err == nil || err.Error() != "config registries: takes no arguments, got [\"extra\"]\nusage: dp config registries [--where]" {
		t.Errorf("extra argument: error %v", err)
	}
}
