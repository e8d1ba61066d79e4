package engine

import (
	"fmt"
	"testing"

	"github.com/densepred/dp/config"
)

func TestInferenceLoaderOptions(t *testing.T) {
	cfg, err := config.Parse("infer.yaml", []byte(`
test_dataloader:
  batch_size: 8
  shuffle: true
  mean: [123.675, 116.28, 103.53]
  std: [58.395, 57.12, 57.375]
  pad_size_divisor: 32
  dataset: {type: CocoDataset, ann_file: missing.json}
`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := InferenceLoaderOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.BatchSize != 1 || o.Shuffle || o.PadSizeDivisor != 32 || fmt.Sprint(o.Mean) != "[123.675 116.28 103.53]" || fmt.Sprint(o.Std) != "[58.395 57.12 57.375]" {
		t.Errorf("options %+v: want batch 1, no shuffle, the test loader's mean, std and padding", o)
	}
}
