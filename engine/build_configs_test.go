package engine

import (
	"path/filepath"
	"testing"

	"github.com/densepred/dp/config"
)

// TestZooConfigsDecode decodes the runtime part of every config of the
// model zoo (../configs) with the builders: optimizer, schedule, loop,
// hooks, dataloader and evaluator keys. Models and data are other tests'.
func TestZooConfigsDecode(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	if len(files) == 0 {
		t.Skip("no configs in ../configs")
	}
	for _, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var ow OptimWrapperOptions
		if err := cfg.Field("optim_wrapper").Decode(&ow); err != nil {
			t.Errorf("%v", err)
		} else if _, err := OptimizerRegistry.Build(ow.Optimizer); err != nil {
			t.Errorf("%v", err)
		}
		if _, err := BuildSchedule(cfg.Field("param_scheduler")); err != nil {
			t.Errorf("%v", err)
		}
		acc, _ := NewAccuracy(AccuracyOptions{})
		if _, err := BuildLoop(cfg, []Metric{acc}); err != nil {
			t.Errorf("%v", err)
		}
		if _, err := BuildCustomHooks(cfg.Field("custom_hooks")); err != nil {
			t.Errorf("%v", err)
		}
		if _, _, err := autoScaleLR(cfg, false); err != nil {
			t.Errorf("%v", err)
		}
		for _, key := range []string{"train_dataloader", "val_dataloader", "test_dataloader"} {
			opts := DataloaderOptions{}
			if err := cfg.Field(key).Decode(&opts); err != nil {
				t.Errorf("%v", err)
			}
			if _, err := BuildPipeline(PipelineNode(cfg, key)); err != nil {
				t.Errorf("%v", err)
			}
		}
	}
}
