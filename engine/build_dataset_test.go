package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/densepred/dp/datasets/coco"
	"github.com/densepred/dp/datasets/synth"
)

// TestBuildDatasetBaseKeys opens a synthetic COCO set through mmdet's keys
// (data_root, data_prefix, filter_cfg, metainfo), which the COCO reader
// spells differently, and checks where the files are looked for.
func TestBuildDatasetBaseKeys(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Generate(synth.Options{Task: "det", Out: dir, Num: 4, Size: 64, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, `train_dataloader:
  dataset:
    type: CocoDataset
    data_root: `+dir+`
    ann_file: annotations/instances_train.json
    data_prefix: {img: train/}
    filter_cfg: {filter_empty_gt: true, min_size: 8}
    metainfo: {classes: [square, circle]}
    pipeline: [{type: LoadImage}]
model: {head: {num_classes: 3}, rpn_head: {num_classes: 1}}`)
	ds, err := BuildDataset(cfg.Get("train_dataloader.dataset"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Classes(); len(got) != 2 || got[0] != "circle" || got[1] != "square" {
		t.Errorf("classes %v, want the selected two in the file's order", got)
	}
	s, err := ds.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Meta.File) != filepath.Join(dir, "train") {
		t.Errorf("image %s, want it under %s", s.Meta.File, filepath.Join(dir, "train"))
	}
	if _, err := os.Stat(s.Meta.File); err != nil {
		t.Error(err)
	}
	if _, ok := ds.(CatIDer); !ok {
		t.Errorf("%T does not give category ids", ds)
	}
	// The evaluator's ann_file is relative to the dataset's data_root, and
	// its category ids are the dataset's.
	ms, err := BuildMetrics(parse(t, "e: {type: CocoMetric, ann_file: annotations/instances_train.json, metric: [bbox]}").Field("e"), cfg.Get("train_dataloader.dataset"), ds)
	if err != nil {
		t.Fatal(err)
	}
	ids, dsIDs := ms[0].(*CocoMetric).opts.CatIDs, ds.(CatIDer).CatIDs()
	if len(ids) != 2 || ids[0] != dsIDs[0] || ids[1] != dsIDs[1] {
		t.Errorf("CocoMetric category ids %v, want the dataset's %v", ids, dsIDs)
	}
	err = CheckNumClasses(cfg, ds, "train_dataloader")
	want := "config: t.yaml:10: model.head.num_classes: the model predicts 3 classes but train_dataloader.dataset (CocoDataset) has 2 (circle, square): set --cfg-options model.head.num_classes=2, or use a dataset with these classes"
	if err == nil || err.Error() != want {
		t.Errorf("num_classes check:\n got %v\nwant %s", err, want)
	}

	for _, tt := range []struct{ text, want string }{
		{"{type: CocoDataset, data_root: " + dir + ", ann_file: annotations/instances_train.json, data_prefix: {image: train/}}",
			`config: t.yaml:1: d.data_prefix.image: unknown data_prefix key "image"; allowed: img (or img_path), seg (or seg_map_path)`},
		{"{type: CocoDataset, data_root: " + dir + ", ann_file: annotations/instances_train.json, filter_cfg: {min_area: 3}}",
			`config: t.yaml:1: d.filter_cfg.min_area: filter_cfg key "min_area" is not supported by dataset type CocoDataset`},
		{"{type: CocoDataset, ann_file: a.json, img_prefix: x}",
			`config: t.yaml:1: d.img_prefix: unknown key "img_prefix"; allowed keys: ann_file, backend_args, classes, data_prefix, data_root, filter_cfg, filter_empty_gt, img_dir, lazy_init, metainfo, min_size, pipeline, serialize_data, test_mode`},
		{"{type: CocoDatset}",
			`config: t.yaml:1: d.type: registry "datasets" has no type "CocoDatset" (did you mean "CocoDataset"?); if not a typo, ` + notImported + "; registered datasets: " + strings.Join(datasetRegistry.Names(), ", ")},
	} {
		_, err := BuildDataset(parse(t, "d: "+tt.text).Field("d"))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.text, err, tt.want)
		}
	}
}
