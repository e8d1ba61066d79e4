package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/eval/coco"
	"github.com/densepred/dp/eval/seg"
)

const (
	evalCocoUsage = "usage: dp eval coco --gt GT.json --dt DT.json --iou-type bbox|segm [--max-dets 1,10,100] [--classwise] [--json OUT.json]"
	evalSegUsage  = "usage: dp eval seg --pred DIR --gt DIR --num-classes N [--ignore-index 255] [--reduce-zero-label] [--json OUT.json]"
)

func init() {
	registerCommand(&cli.Command{
		Name:  "eval",
		Usage: "score saved results: COCO AP (as pycocotools) or segmentation mIoU (as mmseg)",
		Subcommands: []*cli.Command{
			{
				Name:      "coco",
				Usage:     "COCO bbox or segm AP/AR of a results file, printed as pycocotools prints it",
				UsageText: evalCocoUsage[len("usage: "):],
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "gt", Usage: "ground-truth COCO annotations `FILE`", Required: true},
					&cli.StringFlag{Name: "dt", Usage: "results `FILE`: a JSON list of {image_id, category_id, bbox|segmentation, score}", Required: true},
					&cli.StringFlag{Name: "iou-type", Usage: "bbox or segm", Value: "bbox"},
					&cli.StringFlag{Name: "max-dets", Usage: "detections per image at which recall is measured, at least three `N,N,N`", Value: "1,10,100"},
					&cli.BoolFlag{Name: "classwise", Usage: "also print the AP of every category"},
					&cli.StringFlag{Name: "json", Usage: "write {\"stats\": [...], \"per_category\": {...}} to `FILE`"},
				},
				Action: evalCoco,
			},
			{
				Name:      "seg",
				Usage:     "semantic segmentation aAcc, mIoU and mAcc of label PNGs, as mmseg's IoUMetric",
				UsageText: evalSegUsage[len("usage: "):],
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "pred", Usage: "`DIR` of predicted label PNGs, named as the ground truth", Required: true},
					&cli.StringFlag{Name: "gt", Usage: "`DIR` of ground-truth label PNGs", Required: true},
					&cli.IntFlag{Name: "num-classes", Usage: "number of classes `N`", Required: true},
					&cli.IntFlag{Name: "ignore-index", Usage: "label value that is not scored", Value: 255},
					&cli.BoolFlag{Name: "reduce-zero-label", Usage: "ground truth 0 is ignored and every other label v means class v-1 (ADE20K)"},
					&cli.StringFlag{Name: "json", Usage: "write {\"aAcc\", \"mIoU\", \"mAcc\", \"IoU\": [...], \"Acc\": [...]} to `FILE`"},
				},
				Action: evalSeg,
			},
		},
	})
}

func evalCoco(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("eval coco: unexpected arguments %v\n%s", c.Args().Slice(), evalCocoUsage)
	}
	iouType := coco.IoUType(c.String("iou-type"))
	if iouType != coco.BBox && iouType != coco.Segm {
		return fmt.Errorf("eval coco: --iou-type %q: want bbox or segm\n%s", iouType, evalCocoUsage)
	}
	p := coco.DefaultParams(iouType)
	maxDets, err := evalParseInts(c.String("max-dets"))
	if err != nil || len(maxDets) < 3 {
		return fmt.Errorf("eval coco: --max-dets %q: want at least three comma-separated counts, as the summary reads three\n%s", c.String("max-dets"), evalCocoUsage)
	}
	p.MaxDets = maxDets

	gt, err := coco.LoadDataset(c.String("gt"))
	if err != nil {
		return err
	}
	dt, err := gt.LoadResults(c.String("dt"))
	if err != nil {
		return err
	}
	e := coco.NewEval(gt, dt, p)
	if err := e.Evaluate(); err != nil {
		return err
	}
	e.Accumulate()
	stats := e.Summarize()
	w := c.App.Writer
	if err := e.WriteSummary(w); err != nil {
		return err
	}
	perCat := e.PerCategoryAP()
	if c.Bool("classwise") {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "category\tid\tAP")
		for _, pc := range perCat {
			ap := "nan"
			if !math.IsNaN(pc.AP) {
				ap = fmt.Sprintf("%.3f", pc.AP)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", pc.Name, pc.ID, ap)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if path := c.String("json"); path != "" {
		names := map[string]int{}
		for _, pc := range perCat {
			names[pc.Name]++
		}
		byName := make(map[string]*float64, len(perCat))
		for _, pc := range perCat {
			key := pc.Name
			if key == "" || names[key] > 1 {
				key = fmt.Sprintf("%s (id %d)", pc.Name, pc.ID)
			}
			byName[key] = evalFinite(pc.AP)
		}
		out := struct {
			Stats       []float64           `json:"stats"`
			PerCategory map[string]*float64 `json:"per_category"`
		}{stats, byName}
		if err := evalWriteJSON(path, out); err != nil {
			return err
		}
	}
	return nil
}

// evalFinite returns a pointer to v, or nil (JSON null) for NaN.
func evalFinite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func evalParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// evalWriteJSON writes v as indented JSON to a temporary file beside path
// and renames it into place, so path never holds a partial file.
func evalWriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func evalSeg(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("eval seg: unexpected arguments %v\n%s", c.Args().Slice(), evalSegUsage)
	}
	numClasses := c.Int("num-classes")
	if numClasses < 1 {
		return fmt.Errorf("eval seg: --num-classes %d: want at least 1\n%s", numClasses, evalSegUsage)
	}
	predDir, gtDir := c.String("pred"), c.String("gt")
	entries, err := os.ReadDir(gtDir)
	if err != nil {
		return fmt.Errorf("eval seg: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("eval seg: no .png label maps in %s", gtDir)
	}
	sort.Strings(names)
	// Images are decoded in parallel, each worker summing into its own
	// metric; the totals are integers, so the result does not depend on the
	// split. The first error by file name is reported.
	workers := min(runtime.GOMAXPROCS(0), len(names))
	metrics := make([]*seg.Metric, workers)
	errs := make([]error, len(names))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		m := seg.New(numClasses, c.Int("ignore-index"), c.Bool("reduce-zero-label"))
		metrics[w] = m
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(names) {
					return
				}
				errs[i] = evalSegImage(m, filepath.Join(predDir, names[i]), filepath.Join(gtDir, names[i]))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	total := metrics[0]
	for _, m := range metrics[1:] {
		total.Merge(m)
	}
	r := total.Result()
	if err := evalWriteSegTable(c.App.Writer, r, len(names)); err != nil {
		return err
	}
	if path := c.String("json"); path != "" {
		out := struct {
			AAcc *float64   `json:"aAcc"`
			MIoU *float64   `json:"mIoU"`
			MAcc *float64   `json:"mAcc"`
			IoU  []*float64 `json:"IoU"`
			Acc  []*float64 `json:"Acc"`
		}{AAcc: evalFinite(r.AAcc), MIoU: evalFinite(r.MIoU), MAcc: evalFinite(r.MAcc)}
		for c := range r.IoU {
			out.IoU = append(out.IoU, evalFinite(r.IoU[c]))
			out.Acc = append(out.Acc, evalFinite(r.Acc[c]))
		}
		if err := evalWriteJSON(path, out); err != nil {
			return err
		}
	}
	return nil
}

func evalSegImage(m *seg.Metric, predPath, gtPath string) error {
	gt, gw, gh, err := seg.ReadLabelPNG(gtPath)
	if err != nil {
		return fmt.Errorf("eval seg: %w", err)
	}
	pred, pw, ph, err := seg.ReadLabelPNG(predPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("eval seg: no prediction %s for ground truth %s", predPath, gtPath)
		}
		return fmt.Errorf("eval seg: %w", err)
	}
	if pw != gw || ph != gh {
		return fmt.Errorf("eval seg: %s is %dx%d but its ground truth %s is %dx%d (width x height)", predPath, pw, ph, gtPath, gw, gh)
	}
	return m.Add(pred, gt)
}

// evalWriteSegTable prints mmseg's per-class table and summary, in percent
// rounded to two decimals.
func evalWriteSegTable(w io.Writer, r seg.Result, images int) error {
	pct := func(v float64) string {
		if math.IsNaN(v) {
			return "nan"
		}
		return fmt.Sprintf("%.2f", v*100)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tIoU\tAcc\t")
	for c := range r.IoU {
		fmt.Fprintf(tw, "%d\t%s\t%s\t\n", c, pct(r.IoU[c]), pct(r.Acc[c]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d images: aAcc %s  mIoU %s  mAcc %s\n", images, pct(r.AAcc), pct(r.MIoU), pct(r.MAcc))
	return err
}
