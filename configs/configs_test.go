// Package configs_test checks the model zoo: every config under configs/
// loads with its bases merged, the detection configs hold the values their
// recipes prescribe, their pipelines decode into the registered transforms,
// and their backbones, necks and whole detectors build.
package configs_test

import (
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/densepred/dp/backbone"
	_ "github.com/densepred/dp/backbone/resnet"
	_ "github.com/densepred/dp/backbone/snnmlp"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets/transforms"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/necks"
)

// configFiles returns every YAML file under the current directory.
func configFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".yaml" {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no configs found")
	}
	return files
}

func TestAllConfigsLoad(t *testing.T) {
	for _, f := range configFiles(t) {
		if _, err := config.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestDetectionRecipes checks the values each detection config must end up
// with after merging its bases.
func TestDetectionRecipes(t *testing.T) {
	r50 := map[string]string{
		"model.type":                                        "MaskRCNN",
		"model.backbone.type":                               "ResNet",
		"model.backbone.depth":                              "50",
		"model.backbone.frozen_stages":                      "1",
		"model.backbone.norm_eval":                          "true",
		"model.neck.type":                                   "FPN",
		"model.neck.num_outs":                               "5",
		"model.rpn_head.anchor_generator.strides.4":         "64",
		"model.roi_head.bbox_head.num_classes":              "80",
		"model.roi_head.bbox_head.bbox_coder.target_stds.3": "0.2",
		"model.train_cfg.rcnn.sampler.num":                  "512",
		"model.test_cfg.rcnn.mask_thr_binary":               "0.5",
		"train_dataloader.dataset.type":                     "CocoDataset",
		"train_dataloader.dataset.data_root":                "data/coco/",
		"train_dataloader.dataset.ann_file":                 "annotations/instances_train2017.json",
		"train_dataloader.dataset.data_prefix.img":          "train2017/",
		"train_dataloader.pad_size_divisor":                 "32",
		"val_dataloader.dataset.data_prefix.img":            "val2017/",
		"val_evaluator.metric.1":                            "segm",
		"train_pipeline.2.img_scale.0.1":                    "800",
		"train_pipeline.3.prob":                             "0.5",
		"optim_wrapper.optimizer.type":                      "SGD",
		"optim_wrapper.optimizer.lr":                        "0.02",
		"optim_wrapper.optimizer.momentum":                  "0.9",
		"optim_wrapper.optimizer.weight_decay":              "0.0001",
		"param_scheduler.0.start_factor":                    "0.001",
		"param_scheduler.0.end":                             "500",
		"param_scheduler.1.milestones.1":                    "11",
		"train_cfg.max_epochs":                              "12",
		"default_hooks.logger.interval":                     "50",
		"default_hooks.checkpoint.interval":                 "1",
		"default_hooks.checkpoint.max_keep_ckpts":           "3",
		"randomness.seed":                                   "0",
	}
	snn := func(arch string) map[string]string {
		return map[string]string{
			"model.type":                                              "MaskRCNN",
			"model.backbone.type":                                     "SNNMLP",
			"model.backbone.arch":                                     arch,
			"model.backbone.drop_path_rate":                           "0.2",
			"model.backbone.depth":                                    "", // _delete_ dropped ResNet's keys
			"model.backbone.norm_eval":                                "",
			"model.neck.type":                                         "FPN",
			"optim_wrapper.optimizer.type":                            "AdamW",
			"optim_wrapper.optimizer.lr":                              "0.0001",
			"optim_wrapper.optimizer.weight_decay":                    "0.05",
			"optim_wrapper.paramwise_cfg.custom_keys.norm.decay_mult": "0.0",
			"optim_wrapper.paramwise_cfg.custom_keys.tau.decay_mult":  "0.0",
			"optim_wrapper.paramwise_cfg.custom_keys.Vth.decay_mult":  "0.0",
			"param_scheduler.0.end":                                   "500",
			"param_scheduler.1.milestones.0":                          "27",
			"param_scheduler.1.milestones.1":                          "33",
			"train_cfg.max_epochs":                                    "36",
			"train_pipeline.3.type":                                   "Resize",
			"train_pipeline.3.img_scale.0.1":                          "480",
			"train_pipeline.3.img_scale.10.1":                         "800",
			"train_pipeline.3.img_scale.10.0":                         "1333",
			"train_pipeline.3.multiscale_mode":                        "value",
			"train_pipeline.2.type":                                   "RandomFlip",
			"train_dataloader.pad_size_divisor":                       "32",
			"val_evaluator.type":                                      "CocoMetric",
		}
	}
	for file, want := range map[string]map[string]string{
		"det_maskrcnn_r50_fpn_1x.yaml": r50,
		"det_maskrcnn_snnmlp_t.yaml":   snn("tiny"),
		"det_maskrcnn_snnmlp_s.yaml":   snn("small"),
	} {
		cfg, err := config.Load(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for path, w := range want {
			got, _ := cfg.Get(path).Scalar()
			if got != w {
				t.Errorf("%s: %s = %q, want %q", file, path, got, w)
			}
		}
	}
}

// TestPipelinesDecode decodes every pipeline step of every config into its
// registered transform.
func TestPipelinesDecode(t *testing.T) {
	for _, f := range configFiles(t) {
		cfg, err := config.Load(f)
		if err != nil {
			continue // reported by TestAllConfigsLoad
		}
		for _, key := range []string{"train_pipeline", "test_pipeline"} {
			p := cfg.Field(key)
			for i := 0; i < p.Len(); i++ {
				step := p.Index(i)
				opt, err := transforms.Options(step.Type())
				if err != nil {
					t.Errorf("%s: %s.%d: %v", f, key, i, err)
					continue
				}
				if err := decodeStep(step, opt); err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if _, err := transforms.Build(step.Type(), opt); err != nil {
					t.Errorf("%s: %s.%d: %v", f, key, i, err)
				}
			}
		}
	}
}

// TestBackbonesAndNecksBuild builds each detection config's backbone
// (without its pretrained weights) and its neck, sized from the backbone as
// the model builder sizes it.
func TestBackbonesAndNecksBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds full-size backbones")
	}
	for _, c := range []struct {
		file     string
		channels []int
	}{
		{"det_maskrcnn_r50_fpn_1x.yaml", []int{256, 512, 1024, 2048}},
		{"det_maskrcnn_snnmlp_t.yaml", []int{96, 192, 384, 768}},
	} {
		cfg, err := config.Load(c.file, "model.backbone.init.checkpoint=''")
		if err != nil {
			t.Fatal(err)
		}
		b, err := backbone.Build(cfg.Get("model.backbone"))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if got := b.OutChannels(); !slices.Equal(got, c.channels) {
			t.Errorf("%s: backbone channels %v, want %v", c.file, got, c.channels)
		}
		n, err := necks.Registry.BuildWithDefaults(cfg.Get("model.neck"),
			map[string]any{"in_channels": b.OutChannels(), "in_strides": b.OutStrides()})
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if got := n.OutStrides(); !slices.Equal(got, []int{4, 8, 16, 32, 64}) {
			t.Errorf("%s: neck strides %v", c.file, got)
		}
	}
}

// decodeStep decodes a pipeline step (its "type" and the options) into the
// options struct opt points to, strictly.
func decodeStep(step config.Node, opt any) error {
	v := reflect.ValueOf(opt).Elem()
	wrapper := reflect.New(reflect.StructOf([]reflect.StructField{
		{Name: "Type", Type: reflect.TypeFor[string](), Tag: `yaml:"type"`},
		{Name: "Opts", Type: v.Type(), Tag: `yaml:",inline"`},
	})).Elem()
	wrapper.Field(1).Set(v)
	if err := step.Decode(wrapper.Addr().Interface()); err != nil {
		return err
	}
	v.Set(wrapper.Field(1))
	return nil
}

// TestDetectorsBuild builds the whole detector of the R50 and SNN-MLP-T
// configs (without pretrained weights) through the model registry, so every
// key of their model sections decodes into the components.
func TestDetectorsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds full-size detectors")
	}
	for _, f := range []string{"det_maskrcnn_r50_fpn_1x.yaml", "det_maskrcnn_snnmlp_t.yaml"} {
		cfg, err := config.Load(f, "model.backbone.init.checkpoint=''")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.Registry.Build(cfg.Field("model")); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
