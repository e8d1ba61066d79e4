package tools

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/vis"
	"github.com/densepred/dp/engine"
	"github.com/densepred/dp/eval/coco"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/models"
)

const inferUsage = "usage: dp infer [flags] CONFIG CHECKPOINT IMAGE... --out-dir DIR"

func init() {
	registerCommand(&cli.Command{
		Name:      "infer",
		Usage:     "run a checkpoint on images and draw its predictions as PNGs",
		UsageText: inferUsage[len("usage: "):],
		Description: "Each IMAGE goes through the config's test pipeline (test_dataloader.dataset.pipeline,\n" +
			"else test_pipeline), less its LoadAnnotations steps, and the model; OUT-DIR gets\n" +
			"<image name>.png with boxes, class names, scores and translucent masks (detection),\n" +
			"a colour-coded overlay with a legend (segmentation), or the top-5 classes\n" +
			"(classification). Class names come from the test dataset's metainfo.classes or\n" +
			"classes key, else from the test dataset itself when its files exist, else they\n" +
			"are numbers.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out-dir", Usage: "`DIR` to write the pictures to", Required: true},
			&cli.Float64Flag{Name: "score-thr", Usage: "lowest score of a detection drawn", Value: 0.3},
			newCfgOptionsFlag(),
		},
		Action: inferMain,
	})
}

func inferMain(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) < 3 {
		return fmt.Errorf("infer: expected CONFIG, CHECKPOINT and at least one IMAGE, got %d arguments %q\n%s", len(args), args, inferUsage)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	images := args[2:]
	for _, p := range images {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("infer: image %s: %w", p, err)
		}
	}
	model, err := engine.BuildModel(cfg)
	if err != nil {
		return err
	}
	if _, err := engine.LoadWeights(args[1], model, true); err != nil {
		return err
	}
	pipe, err := engine.BuildInferencePipeline(cfg)
	if err != nil {
		return err
	}
	classes, err := inferClasses(cfg)
	if err != nil {
		return err
	}
	outDir := c.String("out-dir")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("infer: --out-dir: %w", err)
	}
	lopts, err := engine.InferenceLoaderOptions(cfg)
	if err != nil {
		return err
	}
	loader, err := datasets.NewLoader(imageList{files: images, classes: classes}, pipe, lopts)
	if err != nil {
		return err
	}
	d := &Drawer{Classes: classes, ScoreThr: float32(c.Float64("score-thr"))}
	return engine.Infer(model, loader, func(b *datasets.Batch, res []models.Result) error {
		for i, s := range b.Samples {
			if res[i].Logits != nil && len(classes) != len(res[i].Logits) && len(classes) > 0 {
				return fmt.Errorf("infer: the model scores %d classes but the config names %d", len(res[i].Logits), len(classes))
			}
			out := filepath.Join(outDir, visName(s.Meta.File, s.Meta.Index))
			if err := d.DrawFile(s.Meta.File, res[i], out); err != nil {
				return fmt.Errorf("infer: %w", err)
			}
			fmt.Fprintln(c.App.Writer, out)
		}
		return nil
	})
}

// inferClasses finds the class names for drawing: the test dataset's
// metainfo.classes or classes key, else the test dataset's own list when
// its data exist, else nil (labels are drawn as numbers).
func inferClasses(cfg config.Node) ([]string, error) {
	ds := cfg.Get("test_dataloader.dataset")
	for _, key := range []string{"metainfo.classes", "classes"} {
		if n := ds.Get(key); n.Kind() == config.List {
			var names []string
			if err := n.Decode(&names); err != nil {
				return nil, err
			}
			return names, nil
		}
	}
	if ds.Exists() && engine.CheckData(cfg, "test_dataloader") == nil {
		if set, err := engine.BuildDataset(ds); err == nil {
			return set.Classes(), nil
		}
	}
	return nil, nil
}

// imageList is the dataset of the image files given to dp infer.
type imageList struct {
	files   []string
	classes []string
}

func (l imageList) Len() int          { return len(l.files) }
func (l imageList) Classes() []string { return l.classes }
func (l imageList) Get(i int) (*datasets.Sample, error) {
	return &datasets.Sample{Label: -1, Meta: datasets.Meta{Index: i, File: l.files[i]}}, nil
}

// Drawer renders a model's predictions on an image.
type Drawer struct {
	Classes  []string // names by label; a label without a name is drawn as its number
	ScoreThr float32  // detections scoring below are not drawn
}

// minDrawSide is the side below which an image is enlarged (by an integer
// factor, nearest neighbour) so that text stays legible.
const minDrawSide = 256

// DrawFile reads the image file, draws res on it and writes the PNG to out
// atomically.
func (d *Drawer) DrawFile(file string, res models.Result, out string) error {
	img, err := datasets.ReadImage(file)
	if err != nil {
		return err
	}
	canvas := d.Draw(img, res)
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas); err != nil {
		return err
	}
	return writeFileAtomic(out, buf.Bytes())
}

// Draw returns the picture of res over img: masks, boxes and labels for
// detection, an overlay and legend for segmentation, the top-5 classes for
// classification. Small images are enlarged first.
func (d *Drawer) Draw(img *datasets.Image, res models.Result) *image.RGBA {
	k := 1
	if m := max(img.W, img.H); m < minDrawSide && m > 0 {
		k = (minDrawSide + m - 1) / m
	}
	canvas := image.NewRGBA(image.Rect(0, 0, img.W*k, img.H*k))
	for y := 0; y < img.H*k; y++ {
		row := canvas.Pix[y*canvas.Stride:]
		src := img.Pix[(y/k)*img.W*3:]
		for x := 0; x < img.W*k; x++ {
			s := src[(x/k)*3:]
			row[x*4], row[x*4+1], row[x*4+2], row[x*4+3] = s[0], s[1], s[2], 255
		}
	}
	switch {
	case res.SegMap != nil:
		d.drawSeg(canvas, res.SegMap, k)
	case res.Logits != nil:
		d.drawTopK(canvas, res.Logits, 5)
	default:
		d.drawDet(canvas, res, k)
	}
	return canvas
}

func (d *Drawer) className(label int) string {
	if label >= 0 && label < len(d.Classes) {
		return d.Classes[label]
	}
	return fmt.Sprint(label)
}

// palette gives class i its colour, the one dp data browse draws it in.
func palette(i int) color.RGBA {
	c := vis.Color(i) // opaque, so NRGBA and RGBA agree
	return color.RGBA{c.R, c.G, c.B, 255}
}

// blend mixes colour c into the pixel at (x, y) with weight alpha.
func blend(img *image.RGBA, x, y int, c color.RGBA, alpha float64) {
	if !(image.Point{x, y}.In(img.Rect)) {
		return
	}
	p := img.Pix[y*img.Stride+x*4:]
	p[0] = uint8(float64(p[0])*(1-alpha) + float64(c.R)*alpha + 0.5)
	p[1] = uint8(float64(p[1])*(1-alpha) + float64(c.G)*alpha + 0.5)
	p[2] = uint8(float64(p[2])*(1-alpha) + float64(c.B)*alpha + 0.5)
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA, alpha float64) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			blend(img, x, y, c, alpha)
		}
	}
}

// drawText writes s with its top-left corner at (x, y) on a translucent
// dark background, kept inside the image.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil()
	h := face.Height
	if x+w+4 > img.Rect.Max.X {
		x = img.Rect.Max.X - w - 4
	}
	x, y = max(x, 0), min(max(y, 0), img.Rect.Max.Y-h-2)
	fillRect(img, image.Rect(x, y, x+w+4, y+h+2), color.RGBA{0, 0, 0, 255}, 0.6)
	dr := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x+2, y+1+face.Ascent)}
	dr.DrawString(s)
}

func (d *Drawer) drawDet(img *image.RGBA, res models.Result, k int) {
	for i := len(res.Boxes) - 1; i >= 0; i-- { // best on top
		if res.Scores[i] < d.ScoreThr || i >= len(res.Masks) {
			continue
		}
		drawMask(img, res.Masks[i], palette(res.Labels[i]), k)
	}
	for i := len(res.Boxes) - 1; i >= 0; i-- {
		if res.Scores[i] < d.ScoreThr {
			continue
		}
		c := palette(res.Labels[i])
		b := res.Boxes[i]
		x0, y0 := int(b[0]*float32(k)), int(b[1]*float32(k))
		x1, y1 := int(b[2]*float32(k)), int(b[3]*float32(k))
		for t := 0; t < 2; t++ {
			fillRect(img, image.Rect(x0, y0+t, x1, y0+t+1), c, 1)
			fillRect(img, image.Rect(x0, y1-t-1, x1, y1-t), c, 1)
			fillRect(img, image.Rect(x0+t, y0, x0+t+1, y1), c, 1)
			fillRect(img, image.Rect(x1-t-1, y0, x1-t, y1), c, 1)
		}
		drawText(img, x0, y0-basicfont.Face7x13.Height-2, fmt.Sprintf("%s %.2f", d.className(res.Labels[i]), res.Scores[i]), c)
	}
}

// drawMask blends an RLE mask (column-major runs) into img, scaled by k.
func drawMask(img *image.RGBA, m mask.RLE, c color.RGBA, k int) {
	pos := 0
	for j, n := range m.Counts {
		if j%2 == 1 {
			for p := pos; p < pos+int(n); p++ {
				x, y := p/m.H, p%m.H
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						blend(img, x*k+dx, y*k+dy, c, 0.45)
					}
				}
			}
		}
		pos += int(n)
	}
}

func (d *Drawer) drawSeg(img *image.RGBA, seg *datasets.Plane, k int) {
	present := map[int]bool{}
	for y := 0; y < seg.H; y++ {
		for x := 0; x < seg.W; x++ {
			v := int(seg.Pix[y*seg.W+x])
			if v == 255 {
				continue
			}
			present[v] = true
			c := palette(v)
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					blend(img, x*k+dx, y*k+dy, c, 0.5)
				}
			}
		}
	}
	labels := make([]int, 0, len(present))
	for v := range present {
		labels = append(labels, v)
	}
	sort.Ints(labels)
	h := basicfont.Face7x13.Height + 4
	for i, v := range labels {
		y := 4 + i*h
		fillRect(img, image.Rect(4, y+2, 4+h-4, y+h-2), palette(v), 1)
		drawText(img, 4+h, y, d.className(v), color.RGBA{255, 255, 255, 255})
	}
}

func (d *Drawer) drawTopK(img *image.RGBA, logits []float32, n int) {
	probs := softmax(logits)
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	h := basicfont.Face7x13.Height + 3
	for r, i := range idx[:min(n, len(idx))] {
		drawText(img, 4, 4+r*h, fmt.Sprintf("%d. %s %.3f", r+1, d.className(i), probs[i]), color.RGBA{255, 255, 255, 255})
	}
}

func softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// rleString is the compressed-RLE text of a segmentation's counts.
func rleString(s coco.Segmentation) string {
	return mask.RLE{H: s.Size[0], W: s.Size[1], Counts: s.Counts}.String()
}
