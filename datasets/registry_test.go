package datasets_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/coco"
	_ "github.com/densepred/dp/datasets/imagenet"
	_ "github.com/densepred/dp/datasets/seg"
	_ "github.com/densepred/dp/datasets/voc"
)

func TestDatasetRegistry(t *testing.T) {
	want := []string{"ADE20KDataset", "BaseSegDataset", "CocoDataset", "ImageNet", "ImageNetParquet", "PascalVOCDataset", "VOCDataset"}
	if got := datasets.DatasetNames(); !slices.Equal(got, want) {
		t.Errorf("DatasetNames() = %v, want %v", got, want)
	}
	o, err := datasets.DatasetOptions("CocoDataset")
	if err != nil {
		t.Fatal(err)
	}
	o.(*coco.Options).AnnFile = filepath.Join("coco", "testdata", "sample.json")
	o.(*coco.Options).Logf = func(string, ...any) {}
	d, err := datasets.OpenDataset("CocoDataset", o)
	if err != nil || d.Len() != 4 {
		t.Fatalf("CocoDataset: %v", err)
	}
	if _, err := datasets.OpenDataset("LVISDataset", nil); err == nil ||
		!strings.HasPrefix(err.Error(), `datasets: unknown dataset type "LVISDataset"; registered: ADE20KDataset, `) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := datasets.OpenDataset("VOCDataset", &coco.Options{}); err == nil || err.Error() != "datasets: VOCDataset: options are *coco.Options, want *voc.Options" {
		t.Errorf("wrong options: %v", err)
	}
}
