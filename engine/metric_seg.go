package engine

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	evalseg "github.com/densepred/dp/eval/seg"
	"github.com/densepred/dp/models"
)

// IoUMetricOptions configure IoUMetric (mmseg's keys).
type IoUMetricOptions struct {
	// IoUMetrics lists the summaries to report; only "mIoU" (which also
	// gives aAcc and mAcc, as mmseg) is supported. Default ["mIoU"].
	IoUMetrics []string `yaml:"iou_metrics"`
	// IgnoreIndex is the label value left out of every count. Default 255.
	IgnoreIndex int `yaml:"ignore_index"`
	// NumClasses bounds the class histograms. 0 (the default) counts every
	// value 0..254: classes that are neither labelled nor predicted have no
	// IoU and are left out of the means (mmseg's nanmean), so the scores
	// equal those for the dataset's true class count.
	NumClasses int `yaml:"num_classes"`
	// Classwise also reports IoU_<c> and Acc_<c> per class index c that has
	// a defined value.
	Classwise bool `yaml:"classwise"`
	// OutputDir, if set, receives each prediction as an 8-bit grayscale
	// PNG named after its image (<basename>.png), with 1 added back to the
	// labels of datasets read with reduce_zero_label (ADE20K's submission
	// format), as mmseg's output_dir.
	OutputDir string `yaml:"output_dir"`
	// FormatOnly writes the predictions without scoring them (for a test
	// set without labels); Compute then returns no scores. It needs
	// output_dir.
	FormatOnly bool `yaml:"format_only"`
}

// DefaultIoUMetricOptions returns the defaults documented on the options.
func DefaultIoUMetricOptions() IoUMetricOptions {
	return IoUMetricOptions{IoUMetrics: []string{"mIoU"}, IgnoreIndex: 255}
}

// IoUMetric scores semantic segmentation as mmseg's IoUMetric: per image,
// the pixels labelled ignore_index are dropped and the class histograms of
// intersection, prediction and label are added up over the dataset
// (eval/seg); it reports aAcc, mIoU and mAcc as fractions.
//
// Predictions (models.Result.SegMap) and labels (each sample's SegMap, as
// the test pipeline loaded it) must have the same size: load the
// annotations after Resize, so they keep the original size, as mmseg's test
// pipelines do.
type IoUMetric struct {
	opts IoUMetricOptions
	m    *evalseg.Metric
}

// NewIoUMetric returns an IoUMetric.
func NewIoUMetric(o IoUMetricOptions) (*IoUMetric, error) {
	if len(o.IoUMetrics) == 0 {
		o.IoUMetrics = []string{"mIoU"}
	}
	for _, k := range o.IoUMetrics {
		if k != "mIoU" {
			return nil, fmt.Errorf("engine: IoUMetric iou_metrics %q: only mIoU is supported", k)
		}
	}
	if o.NumClasses < 0 || o.NumClasses > 255 {
		return nil, fmt.Errorf("engine: IoUMetric num_classes %d: want 1..255, or 0 for any", o.NumClasses)
	}
	if o.NumClasses == 0 {
		o.NumClasses = 255
	}
	if o.FormatOnly && o.OutputDir == "" {
		return nil, fmt.Errorf("engine: IoUMetric format_only needs output_dir")
	}
	if o.OutputDir != "" {
		if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
			return nil, fmt.Errorf("engine: IoUMetric output_dir: %w", err)
		}
	}
	return &IoUMetric{opts: o, m: evalseg.New(o.NumClasses, o.IgnoreIndex, false)}, nil
}

// Reset implements Metric.
func (m *IoUMetric) Reset() { m.m = evalseg.New(m.opts.NumClasses, m.opts.IgnoreIndex, false) }

// Process implements Metric.
func (m *IoUMetric) Process(b *datasets.Batch, res []models.Result) error {
	if len(res) != len(b.Samples) {
		return fmt.Errorf("engine: IoUMetric: %d results for %d samples", len(res), len(b.Samples))
	}
	for i, r := range res {
		s := b.Samples[i]
		gt, pred := s.SegMap, r.SegMap
		if pred == nil {
			return fmt.Errorf("engine: IoUMetric: sample %d (%s): the model returned no segmentation map", i, s.Meta.File)
		}
		if m.opts.OutputDir != "" {
			if err := writePrediction(m.opts.OutputDir, s.Meta, pred); err != nil {
				return err
			}
		}
		if m.opts.FormatOnly {
			continue
		}
		switch {
		case gt == nil:
			return fmt.Errorf("engine: IoUMetric: sample %d (%s) has no label map; the test pipeline needs LoadAnnotations", i, s.Meta.File)
		case gt.W != pred.W || gt.H != pred.H:
			return fmt.Errorf("engine: IoUMetric: sample %d (%s): prediction %dx%d but label %dx%d (height x width); put LoadAnnotations after Resize in the test pipeline so the label keeps the original size",
				i, s.Meta.File, pred.H, pred.W, gt.H, gt.W)
		}
		if err := m.m.AddUint8(pred.Pix, gt.Pix); err != nil {
			return fmt.Errorf("engine: IoUMetric: sample %d (%s): %w", i, s.Meta.File, err)
		}
	}
	return nil
}

// Compute implements Metric: aAcc, mIoU and mAcc, fractions in [0, 1]
// (NaN when nothing was labelled).
func (m *IoUMetric) Compute() (map[string]float64, error) {
	if m.opts.FormatOnly {
		return map[string]float64{}, nil
	}
	r := m.m.Result()
	out := map[string]float64{"aAcc": r.AAcc, "mIoU": r.MIoU, "mAcc": r.MAcc}
	if m.opts.Classwise {
		for c := range r.IoU {
			if !math.IsNaN(r.IoU[c]) {
				out[fmt.Sprintf("IoU_%d", c)] = r.IoU[c]
			}
			if !math.IsNaN(r.Acc[c]) {
				out[fmt.Sprintf("Acc_%d", c)] = r.Acc[c]
			}
		}
	}
	return out, nil
}

// writePrediction writes pred as <dir>/<image basename>.png, adding 1 to
// every label when the sample was read with reduce_zero_label. The file is
// written to a temporary name and renamed, so it is never left half written.
func writePrediction(dir string, meta datasets.Meta, pred *datasets.Plane) error {
	base := filepath.Base(meta.File)
	if meta.File == "" {
		base = fmt.Sprintf("%08d", meta.Index)
	}
	name := filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+".png")
	img := image.NewGray(image.Rect(0, 0, pred.W, pred.H))
	copy(img.Pix, pred.Pix)
	if meta.ReduceZeroLabel {
		for i, v := range img.Pix {
			img.Pix[i] = v + 1
		}
	}
	f, err := os.CreateTemp(dir, ".pred-*.png")
	if err != nil {
		return fmt.Errorf("engine: IoUMetric: %w", err)
	}
	err = png.Encode(f, img)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("engine: IoUMetric: writing %s: %w", name, err)
	}
	return nil
}

func init() {
	config.RegisterOptions(MetricRegistry, "IoUMetric", DefaultIoUMetricOptions(),
		func(o IoUMetricOptions) (Metric, error) { return NewIoUMetric(o) })
}
