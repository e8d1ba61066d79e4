package engine

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
)

func segBatch(labels, preds [][]uint8, w, h int) (*datasets.Batch, []models.Result) {
	b := &datasets.Batch{}
	var res []models.Result
	for i := range labels {
		b.Samples = append(b.Samples, &datasets.Sample{SegMap: &datasets.Plane{W: w, H: h, Pix: labels[i]}})
		res = append(res, models.Result{SegMap: &datasets.Plane{W: w, H: h, Pix: preds[i]}})
	}
	return b, res
}

// TestIoUMetric checks a hand-computed case: two 2×2 images, 3 classes,
// one ignored pixel whose prediction must not count.
func TestIoUMetric(t *testing.T) {
	labels := [][]uint8{{0, 1, 1, 255}, {2, 0, 0, 1}}
	preds := [][]uint8{{0, 0, 1, 1}, {2, 2, 0, 1}}
	want := map[string]float64{
		"aAcc": 5.0 / 7,
		"mIoU": (0.5 + 2.0/3 + 0.5) / 3,
		"mAcc": (2.0/3 + 2.0/3 + 1) / 3,
	}
	for _, classes := range []int{0, 3, 5} {
		opts := DefaultIoUMetricOptions()
		opts.NumClasses = classes
		m, err := NewIoUMetric(opts)
		if err != nil {
			t.Fatal(err)
		}
		// Score twice: Reset must forget the first pass.
		for pass := 0; pass < 2; pass++ {
			m.Reset()
			b, res := segBatch(labels[:1], preds[:1], 2, 2)
			if err := m.Process(b, res); err != nil {
				t.Fatal(err)
			}
			b, res = segBatch(labels[1:], preds[1:], 2, 2)
			if err := m.Process(b, res); err != nil {
				t.Fatal(err)
			}
		}
		got, err := m.Compute()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if math.Abs(got[k]-v) > 1e-12 {
				t.Errorf("num_classes %d: %s = %v, want %v", classes, k, got[k], v)
			}
		}
	}
}

func TestIoUMetricErrors(t *testing.T) {
	m, err := NewIoUMetric(DefaultIoUMetricOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, res := segBatch([][]uint8{{0, 1, 1, 0}}, [][]uint8{{0, 1}}, 2, 2)
	res[0].SegMap = &datasets.Plane{W: 2, H: 1, Pix: []uint8{0, 1}}
	if err := m.Process(b, res); err == nil || !strings.Contains(err.Error(), "after Resize") {
		t.Errorf("size mismatch: error %v", err)
	}
	if _, err := NewIoUMetric(IoUMetricOptions{IoUMetrics: []string{"mDice"}}); err == nil {
		t.Errorf("mDice accepted")
	}
	n, err := config.Parse("metric.yaml", []byte("{type: IoUMetric, iou_metrics: [mIoU], num_classes: 150}"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MetricRegistry.Build(n); err != nil {
		t.Errorf("build from config: %v", err)
	}
}

// TestIoUMetricOutputDir checks the prediction PNGs: named after the
// image, labels + 1 for reduce_zero_label datasets, and format_only
// skipping the scores.
func TestIoUMetricOutputDir(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultIoUMetricOptions()
	opts.OutputDir, opts.FormatOnly = dir, true
	m, err := NewIoUMetric(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, res := segBatch([][]uint8{nil, nil}, [][]uint8{{0, 1, 2, 3, 4, 5}, {7, 7, 7, 7, 7, 7}}, 3, 2)
	b.Samples[0].SegMap, b.Samples[1].SegMap = nil, nil
	b.Samples[0].Meta = datasets.Meta{File: "/data/images/ADE_val_00000001.jpg", ReduceZeroLabel: true}
	b.Samples[1].Meta = datasets.Meta{File: "img2.jpg"}
	if err := m.Process(b, res); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Compute(); err != nil || len(got) != 0 {
		t.Errorf("format_only Compute = %v, %v; want no scores", got, err)
	}
	for _, c := range []struct {
		name string
		want []uint8
	}{
		{"ADE_val_00000001.png", []uint8{1, 2, 3, 4, 5, 6}},
		{"img2.png", []uint8{7, 7, 7, 7, 7, 7}},
	} {
		f, err := os.Open(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Rect.Dx() != 3 || g.Rect.Dy() != 2 || !bytes.Equal(g.Pix, c.want) {
			t.Errorf("%s: %T %v, want 3x2 gray %v", c.name, img, img.Bounds(), c.want)
		}
	}
	if _, err := NewIoUMetric(IoUMetricOptions{FormatOnly: true}); err == nil {
		t.Errorf("format_only without output_dir accepted")
	}
}
