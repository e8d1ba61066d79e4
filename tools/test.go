package tools

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/engine"
	"github.com/densepred/dp/eval/coco"
	"github.com/densepred/dp/models"
)

const testUsage = "usage: dp test [flags] CONFIG CHECKPOINT [--eval METRIC ...] [--cfg-options KEY=VALUE ...]"

func init() {
	registerCommand(&cli.Command{
		Name:      "test",
		Usage:     "evaluate a checkpoint on the config's test set and print the metrics",
		UsageText: testUsage[len("usage: "):],
		Description: "Runs the model on test_dataloader and scores it with test_evaluator; the metrics\n" +
			"are printed one per line (name: value) on stdout and logged to the work dir.\n" +
			"--eval keeps only the named metrics: bbox and segm (CocoMetric), accuracy\n" +
			"(Accuracy), mIoU (IoUMetric, with aAcc and mAcc), mAP (VOCMetric). --out writes\n" +
			"detections as COCO results JSON (box results to FILE and, for a model with masks,\n" +
			"mask results to FILE with .segm.json instead of .json). Flags may come before or\n" +
			"after the arguments.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "eval", Usage: "evaluate only these `METRIC`s (bbox, segm, accuracy, mIoU, ...); several may follow one flag"},
			&cli.StringFlag{Name: "out", Usage: "write the detections as COCO results JSON to `FILE`"},
			&cli.StringFlag{Name: "show-dir", Usage: "draw every test image with its predictions as a PNG in `DIR`"},
			&cli.Float64Flag{Name: "score-thr", Usage: "lowest score of a detection drawn in --show-dir", Value: 0.3},
			&cli.StringFlag{Name: "work-dir", Usage: "`DIR` for the test log (default: the config's work_dir, else work_dirs/<config name>)"},
			newCfgOptionsFlag(),
		},
		Action: testMain,
	})
}

func testMain(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return fmt.Errorf("test: expected CONFIG and CHECKPOINT, got %d arguments %q\n%s", len(args), args, testUsage)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	if ev := c.StringSlice("eval"); len(ev) > 0 {
		if cfg, err = selectMetrics(cfg, ev); err != nil {
			return err
		}
	}
	r, ds, err := engine.BuildTest(cfg, args[1], engine.BuildOptions{ConfigPath: args[0], WorkDir: c.String("work-dir"), Console: c.App.ErrWriter})
	if err != nil {
		return err
	}
	defer r.Log.Close()
	var cm *engine.CocoMetric
	for _, m := range r.Metrics {
		if m, ok := m.(*engine.CocoMetric); ok {
			cm = m
			cm.SetSummaryWriter(c.App.Writer)
		}
	}
	out := c.String("out")
	if out != "" && cm == nil {
		return fmt.Errorf("test: --out writes COCO detection results, but the test_evaluator has no CocoMetric")
	}
	showDir := c.String("show-dir")
	var drawer *Drawer
	if showDir != "" {
		if err := os.MkdirAll(showDir, 0o755); err != nil {
			return fmt.Errorf("test: --show-dir: %w", err)
		}
		drawer = &Drawer{Classes: ds.Classes(), ScoreThr: float32(c.Float64("score-thr"))}
	}
	for _, m := range r.Metrics {
		m.Reset()
	}
	err = r.Predict(r.ValLoader, func(b *datasets.Batch, res []models.Result) error {
		for _, m := range r.Metrics {
			if err := m.Process(b, res); err != nil {
				return err
			}
		}
		if drawer == nil {
			return nil
		}
		for i, s := range b.Samples {
			if err := drawer.DrawFile(s.Meta.File, res[i], filepath.Join(showDir, visName(s.Meta.File, s.Meta.Index))); err != nil {
				return fmt.Errorf("test: --show-dir: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	scores := map[string]float64{}
	for _, m := range r.Metrics {
		s, err := m.Compute()
		if err != nil {
			return err
		}
		for k, v := range s {
			scores[k] = v
		}
	}
	if err := r.Log.Write(engine.Record{Mode: "test", Values: scores}); err != nil {
		return err
	}
	if err := printScores(c.App.Writer, scores); err != nil {
		return err
	}
	if err := writeScores(filepath.Join(r.WorkDir, "eval.json"), scores); err != nil {
		return fmt.Errorf("test: %w", err)
	}
	if out != "" {
		if err := writeCocoResults(out, cm.Results()); err != nil {
			return fmt.Errorf("test: --out: %w", err)
		}
	}
	return nil
}

// printScores writes "name: value" lines in name order.
func printScores(w io.Writer, scores map[string]float64) error {
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "%s: %.4f\n", k, scores[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeScores writes the metrics as one JSON object (fractions; null for
// NaN) to path atomically: the file a script reads after dp test.
func writeScores(path string, scores map[string]float64) error {
	obj := make(map[string]any, len(scores))
	for k, v := range scores {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			obj[k] = nil
		} else {
			obj[k] = v
		}
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// metricNames maps each evaluator type to the names --eval selects it by;
// for CocoMetric the names are also its metric list.
var metricNames = map[string][]string{
	"CocoMetric": {"bbox", "segm"},
	"Accuracy":   {"accuracy"},
	"IoUMetric":  {"mIoU"},
	"VOCMetric":  {"mAP"},
}

// selectMetrics rewrites test_evaluator to compute only the metrics named
// by --eval; a name that no evaluator of the config computes is an error.
func selectMetrics(cfg config.Node, names []string) (config.Node, error) {
	n := cfg.Field("test_evaluator")
	var items []any
	switch n.Kind() {
	case config.Map, config.List:
		var v any
		if err := n.Decode(&v); err != nil {
			return cfg, err
		}
		if l, ok := v.([]any); ok {
			items = l
		} else {
			items = []any{v}
		}
	default:
		return cfg, fmt.Errorf("test: --eval: the config has no test_evaluator to choose metrics from")
	}
	used := map[string]bool{}
	var kept []any
	var offered []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		typ, _ := m["type"].(string)
		own := metricNames[typ]
		offered = append(offered, own...)
		var want []string
		for _, name := range names {
			if slices.Contains(own, name) {
				want = append(want, name)
				used[name] = true
			}
		}
		if len(want) == 0 {
			continue
		}
		if typ == "CocoMetric" {
			ws := make([]any, len(want))
			for i, w := range want {
				ws[i] = w
			}
			m["metric"] = ws
		}
		kept = append(kept, m)
	}
	for _, name := range names {
		if !used[name] {
			return cfg, fmt.Errorf("test: --eval %s: the config's test_evaluator does not compute it (it offers: %s)", name, strings.Join(offered, ", "))
		}
	}
	return cfg.Set("test_evaluator", kept)
}

// writeCocoResults writes box results to path and, when any result has a
// mask, mask results (compressed RLE, as pycocotools writes them) to the
// same name with .segm.json; both atomically.
func writeCocoResults(path string, results []coco.Result) error {
	boxes := make([]coco.Result, len(results))
	var masks []coco.Result
	for i, r := range results {
		b := r
		b.Segmentation = coco.Segmentation{}
		boxes[i] = b
		if r.Segmentation.Kind == coco.SegRLE {
			m := r
			m.BBox = nil
			m.Segmentation = coco.Segmentation{Kind: coco.SegCompressedRLE, Size: r.Segmentation.Size, CountsString: rleString(r.Segmentation)}
			masks = append(masks, m)
		}
	}
	if err := writeJSONAtomic(path, boxes); err != nil {
		return err
	}
	if len(masks) > 0 {
		return writeJSONAtomic(strings.TrimSuffix(path, ".json")+".segm.json", masks)
	}
	return nil
}

// cocoBoxResult is a box result without the segmentation key.
type cocoBoxResult struct {
	ImageID    int64     `json:"image_id"`
	CategoryID int64     `json:"category_id"`
	BBox       []float64 `json:"bbox,omitempty"`
	Score      float64   `json:"score"`
}

func writeJSONAtomic(path string, results []coco.Result) error {
	var data []byte
	var err error
	if len(results) > 0 && results[0].Segmentation.Kind == coco.SegNone {
		plain := make([]cocoBoxResult, len(results))
		for i, r := range results {
			plain[i] = cocoBoxResult{r.ImageID, r.CategoryID, r.BBox, r.Score}
		}
		data, err = json.Marshal(plain)
	} else {
		if results == nil {
			results = []coco.Result{}
		}
		data, err = json.Marshal(results)
	}
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so path is never half written.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// visName is the PNG name of an image in a show or infer directory.
func visName(file string, index int) string {
	if file == "" {
		return fmt.Sprintf("%06d.png", index)
	}
	base := filepath.Base(file)
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".png"
}
