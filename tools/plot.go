package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

const plotUsage = "usage: dp plot [flags] LOG.jsonl... --keys KEY[,KEY...] --out FILE.png"

func init() {
	registerCommand(&cli.Command{
		Name:      "plot",
		Usage:     "draw training curves from log.jsonl files as a picture",
		UsageText: plotUsage[len("usage: "):],
		Description: "One line per key (and per log, when several are given) against the iteration:\n" +
			"training values such as loss, loss_cls or lr from train records, metrics such as\n" +
			"bbox_mAP, mIoU or accuracy_top1 from validation records. The picture's format\n" +
			"follows the --out extension (png, svg, pdf, jpg).",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "keys", Usage: "`KEY`s to plot, comma separated or several after one flag", Value: cli.NewStringSlice("loss")},
			&cli.StringFlag{Name: "out", Usage: "picture `FILE` to write", Required: true},
			&cli.StringFlag{Name: "title", Usage: "plot `TITLE` (default: the log's directory)"},
		},
		Action: plotMain,
	})
}

// series is one key of one log: iterations and values in log order.
type series struct {
	name string
	xys  plotter.XYs
}

func plotMain(c *cli.Context) error {
	logs := c.Args().Slice()
	if len(logs) == 0 {
		return fmt.Errorf("plot: expected at least one LOG.jsonl\n%s", plotUsage)
	}
	keys := c.StringSlice("keys")
	var all []series
	for _, path := range logs {
		s, err := readSeries(path, keys)
		if err != nil {
			return err
		}
		for i := range s {
			if len(logs) > 1 {
				s[i].name = filepath.Base(filepath.Dir(path)) + ": " + s[i].name
			}
		}
		all = append(all, s...)
	}
	p := plot.New()
	p.Title.Text = c.String("title")
	if p.Title.Text == "" {
		p.Title.Text = filepath.Base(filepath.Dir(logs[0]))
	}
	p.X.Label.Text = "iteration"
	p.Legend.Top = true
	var lines []any
	for _, s := range all {
		lines = append(lines, s.name, s.xys)
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	out := c.String("out")
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), ".")
	if format == "" {
		return fmt.Errorf("plot: --out %s: give the file an extension (png, svg, pdf, jpg) to choose the format", out)
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("plot: --out %s: %w", out, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	fmt.Fprintln(c.App.Writer, out)
	return nil
}

// readSeries reads the values of keys from a JSON-lines log, against the
// records' iter. A key that no record holds is an error listing the keys
// the log has.
func readSeries(path string, keys []string) ([]series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	defer f.Close()
	out := make([]series, len(keys))
	for i, k := range keys {
		out[i].name = k
	}
	have := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(text, &rec); err != nil {
			return nil, fmt.Errorf("plot: %s:%d: not a JSON object: %v", path, line, err)
		}
		if rec["mode"] == "test" {
			continue // a test of a checkpoint has no place on the training axis
		}
		it, ok := rec["iter"].(float64)
		if !ok {
			return nil, fmt.Errorf("plot: %s:%d: record has no numeric \"iter\"", path, line)
		}
		for k, v := range rec {
			if _, ok := v.(float64); ok {
				have[k] = true
			}
		}
		for i, k := range keys {
			if v, ok := rec[k].(float64); ok {
				out[i].xys = append(out[i].xys, plotter.XY{X: it, Y: v})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("plot: %s: %w", path, err)
	}
	for _, s := range out {
		if len(s.xys) == 0 {
			var names []string
			for k := range have {
				if k != "iter" && k != "epoch" {
					names = append(names, k)
				}
			}
			sort.Strings(names)
			return nil, fmt.Errorf("plot: %s: no record has key %q; the log has: %s", path, s.name, strings.Join(names, ", "))
		}
	}
	return out, nil
}
