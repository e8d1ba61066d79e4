package engine

import (
	"fmt"
	"io"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/coco"
	"github.com/densepred/dp/models"
)

// Metric scores a model's predictions over a dataset, batch by batch.
// Reset starts a new evaluation; Process sees every batch with the model's
// results, in order; Compute returns the named scores (fractions in [0, 1],
// e.g. "bbox_mAP", "mIoU", "accuracy_top1").
type Metric interface {
	Reset()
	Process(b *datasets.Batch, res []models.Result) error
	Compute() (map[string]float64, error)
}

// MetricRegistry holds the metric types configs name under val_evaluator.type.
var MetricRegistry = config.NewRegistry[Metric](config.Metrics)

// CatIDer is implemented by COCO-style datasets: the category id of each
// contiguous label, for writing results in the dataset's ids.
type CatIDer interface {
	CatIDs() []int64
}

// CocoMetricOptions configure CocoMetric (mmdet's keys).
type CocoMetricOptions struct {
	AnnFile   string   `yaml:"ann_file"`  // ground-truth instances JSON
	Metric    []string `yaml:"metric"`    // "bbox", "segm"; default both
	Classwise bool     `yaml:"classwise"` // also report per-category AP
	// CatIDs maps labels to category ids; set from the dataset by the engine
	// when it implements CatIDer, otherwise the sorted ids of the file.
	CatIDs []int64 `yaml:"-"`
}

// CocoMetric evaluates detections (and instance masks) with pycocotools'
// algorithm and reports mmdet's keys: bbox_mAP, bbox_mAP_50, bbox_mAP_75,
// bbox_mAP_s, bbox_mAP_m, bbox_mAP_l and the same for segm.
type CocoMetric struct {
	opts    CocoMetricOptions
	gt      *coco.Dataset
	results []coco.Result
	summary io.Writer // if not nil, Compute prints pycocotools' summary here
}

// SetSummaryWriter makes Compute print pycocotools' 12-line summary of each
// evaluated kind to w (nil turns it off).
func (m *CocoMetric) SetSummaryWriter(w io.Writer) { m.summary = w }

// NewCocoMetric loads the ground truth of opts.AnnFile.
func NewCocoMetric(opts CocoMetricOptions) (*CocoMetric, error) {
	if len(opts.Metric) == 0 {
		opts.Metric = []string{"bbox", "segm"}
	}
	for _, m := range opts.Metric {
		if m != "bbox" && m != "segm" {
			return nil, fmt.Errorf("engine: CocoMetric metric %q: want bbox or segm", m)
		}
	}
	gt, err := coco.LoadDataset(opts.AnnFile)
	if err != nil {
		return nil, err
	}
	if opts.CatIDs == nil {
		opts.CatIDs = gt.CategoryIDs()
	}
	return &CocoMetric{opts: opts, gt: gt}, nil
}

// Reset implements Metric.
func (m *CocoMetric) Reset() { m.results = m.results[:0] }

// Process implements Metric.
func (m *CocoMetric) Process(b *datasets.Batch, res []models.Result) error {
	for i, r := range res {
		id := b.Samples[i].Meta.ImageID
		for k, box := range r.Boxes {
			if r.Labels[k] < 0 || r.Labels[k] >= len(m.opts.CatIDs) {
				return fmt.Errorf("engine: CocoMetric: label %d outside the %d categories", r.Labels[k], len(m.opts.CatIDs))
			}
			rec := coco.Result{
				ImageID:    id,
				CategoryID: m.opts.CatIDs[r.Labels[k]],
				BBox:       []float64{float64(box[0]), float64(box[1]), float64(box[2] - box[0]), float64(box[3] - box[1])},
				Score:      float64(r.Scores[k]),
			}
			if k < len(r.Masks) {
				rec.Segmentation = coco.Segmentation{Kind: coco.SegRLE, Size: [2]int{r.Masks[k].H, r.Masks[k].W}, Counts: r.Masks[k].Counts}
			}
			m.results = append(m.results, rec)
		}
	}
	return nil
}

// Results returns the collected detections in COCO results form.
func (m *CocoMetric) Results() []coco.Result { return m.results }

// Compute implements Metric.
func (m *CocoMetric) Compute() (map[string]float64, error) {
	out := map[string]float64{}
	for _, kind := range m.opts.Metric {
		var recs []coco.Result
		if kind == "bbox" {
			// Box results only: LoadRes decides the kind from the first record.
			recs = make([]coco.Result, len(m.results))
			for i, r := range m.results {
				r.Segmentation = coco.Segmentation{}
				recs[i] = r
			}
		} else {
			for _, r := range m.results {
				if r.Segmentation.Kind != coco.SegNone {
					r.BBox = nil
					recs = append(recs, r)
				}
			}
		}
		dt, err := m.gt.Results(recs)
		if err != nil {
			return nil, err
		}
		e := coco.NewEval(m.gt, dt, coco.DefaultParams(coco.IoUType(kind)))
		if err := e.Evaluate(); err != nil {
			return nil, err
		}
		e.Accumulate()
		s := e.Summarize()
		if m.summary != nil {
			fmt.Fprintf(m.summary, "Evaluating %s:\n", kind)
			if err := e.WriteSummary(m.summary); err != nil {
				return nil, err
			}
		}
		for i, name := range []string{"mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"} {
			out[kind+"_"+name] = s[i]
		}
		if m.opts.Classwise {
			for _, c := range e.PerCategoryAP() {
				out[kind+"_AP_"+c.Name] = c.AP
			}
		}
	}
	return out, nil
}

// AccuracyOptions configure Accuracy.
type AccuracyOptions struct {
	TopK []int `yaml:"topk"` // default [1, 5]
}

// Accuracy is top-k classification accuracy, reported as accuracy_top1 ...
type Accuracy struct {
	opts    AccuracyOptions
	correct []int
	total   int
}

// NewAccuracy returns a top-k accuracy metric.
func NewAccuracy(opts AccuracyOptions) (*Accuracy, error) {
	if len(opts.TopK) == 0 {
		opts.TopK = []int{1, 5}
	}
	return &Accuracy{opts: opts, correct: make([]int, len(opts.TopK))}, nil
}

// Reset implements Metric.
func (a *Accuracy) Reset() { clear(a.correct); a.total = 0 }

// Process implements Metric.
func (a *Accuracy) Process(b *datasets.Batch, res []models.Result) error {
	for i, r := range res {
		label := b.Samples[i].Label
		if label < 0 || label >= len(r.Logits) {
			return fmt.Errorf("engine: Accuracy: sample %d has label %d for %d classes", i, label, len(r.Logits))
		}
		// rank = number of classes scoring strictly higher than the label
		rank := 0
		for _, v := range r.Logits {
			if v > r.Logits[label] {
				rank++
			}
		}
		for j, k := range a.opts.TopK {
			if rank < k {
				a.correct[j]++
			}
		}
		a.total++
	}
	return nil
}

// Compute implements Metric.
func (a *Accuracy) Compute() (map[string]float64, error) {
	if a.total == 0 {
		return nil, fmt.Errorf("engine: Accuracy: no samples were evaluated")
	}
	out := map[string]float64{}
	for j, k := range a.opts.TopK {
		out[fmt.Sprintf("accuracy_top%d", k)] = float64(a.correct[j]) / float64(a.total)
	}
	return out, nil
}

func init() {
	config.RegisterOptions(MetricRegistry, "CocoMetric", CocoMetricOptions{}, func(o CocoMetricOptions) (Metric, error) { return NewCocoMetric(o) })
	config.RegisterOptions(MetricRegistry, "Accuracy", AccuracyOptions{}, func(o AccuracyOptions) (Metric, error) { return NewAccuracy(o) })
}
