package tools

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/engine"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

const featuresUsage = "usage: dp features --config CONFIG [--checkpoint FILE] --input FILE --out OUT.safetensors [--cfg-options KEY=VALUE ...]"

func init() {
	registerCommand(&cli.Command{
		Name:      "features",
		Usage:     "run a model in inference mode and save its backbone outputs (and logits) for comparison with PyTorch",
		UsageText: featuresUsage[len("usage: "):],
		Description: "The input is a .npy array (N×C×H×W or C×H×W float32 or float64, used as it is)\n" +
			"or an image, which goes through the config's test pipeline (test_dataloader.dataset.pipeline,\n" +
			"else test_pipeline). The output safetensors holds backbone.0,\n" +
			"backbone.1, ... (one per backbone output, in order) and, for classifiers, logits.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "model `CONFIG` (YAML)", Required: true},
			&cli.StringFlag{Name: "checkpoint", Usage: "weights: a .pth/.pt (plain state_dict or {model: ...}) or .safetensors `FILE`"},
			&cli.StringFlag{Name: "input", Usage: "input `FILE`: .npy or an image", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output `FILE` (.safetensors)", Required: true},
			newCfgOptionsFlag(),
		},
		Action: featuresMain,
	})
}

func featuresMain(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 0 {
		return fmt.Errorf("features: unexpected arguments %q\n%s", args, featuresUsage)
	}
	cfg, err := config.Load(c.String("config"), opts...)
	if err != nil {
		return err
	}
	m, err := models.Registry.Build(cfg.Field("model"))
	if err != nil {
		return err
	}
	bb := backboneOf(m)
	if bb == nil {
		return fmt.Errorf("features: model %T has no Backbone field holding a backbone.Backbone", m)
	}
	if ck := c.String("checkpoint"); ck != "" {
		rep, err := engine.LoadWeights(ck, m, false)
		if err != nil {
			return fmt.Errorf("features: %w", err)
		}
		if len(rep.Missing) > 0 || len(rep.Unexpected) > 0 {
			fmt.Fprintf(c.App.ErrWriter, "features: %s: %s\n", ck, rep)
		}
	}
	x, err := featureInput(cfg, c.String("input"))
	if err != nil {
		return err
	}
	nn.SetTraining(m, false)
	tp := nn.NewInferenceTape(nil)
	out := map[string]*tensor.Tensor{}
	var feats []*nn.Var
	logits := ""
	if cls, ok := m.(*models.ImageClassifier); ok {
		var l *nn.Var
		feats, l = cls.Forward(tp.Input(x))
		out["logits"] = l.Value
		logits = fmt.Sprintf(" and logits %v", l.Shape())
	} else {
		feats = bb.Forward(tp.Input(x))
	}
	for i, f := range feats {
		out["backbone."+strconv.Itoa(i)] = f.Value
	}
	meta := map[string]string{"config": c.String("config"), "checkpoint": c.String("checkpoint"), "input": c.String("input")}
	if err := checkpoint.WriteSafetensors(c.String("out"), out, meta); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d backbone outputs%s for input %v\n", c.String("out"), len(feats), logits, x.Shape())
	return nil
}

// backboneOf returns the backbone of a model following dp's convention of
// an exported field Backbone holding it (ImageClassifier, EncoderDecoder,
// MaskRCNN and user models alike), or nil.
func backboneOf(m models.Model) backbone.Backbone {
	v := reflect.ValueOf(m)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("Backbone")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	bb, _ := f.Interface().(backbone.Backbone)
	return bb
}

// featureInput reads a .npy array as it is, or an image through the
// config's test pipeline.
func featureInput(cfg config.Node, path string) (*tensor.Tensor, error) {
	if strings.HasSuffix(strings.ToLower(path), ".npy") {
		x, err := readNpy(path)
		if err != nil {
			return nil, err
		}
		if x.NDim() == 3 {
			x = x.Reshape(append([]int{1}, x.Shape()...)...)
		}
		if x.NDim() != 4 {
			return nil, fmt.Errorf("features: %s: array of shape %v, want N×C×H×W or C×H×W", path, x.Shape())
		}
		return x, nil
	}
	pn := engine.PipelineNode(cfg, "test_dataloader")
	if pn.Kind() != config.List {
		return nil, fmt.Errorf("features: an image input needs the config's test_dataloader.dataset.pipeline (or test_pipeline) list")
	}
	pipe, err := engine.BuildPipeline(pn)
	if err != nil {
		return nil, err
	}
	s := &datasets.Sample{Label: -1, Meta: datasets.Meta{File: path}}
	if err := pipe.Apply(s, tensor.NewRNG(0)); err != nil {
		return nil, fmt.Errorf("features: %s: %w", path, err)
	}
	if s.Input == nil {
		return nil, fmt.Errorf("features: the test pipeline of %s has no Normalize, so it makes no model input", pn.File())
	}
	return s.Input.Reshape(append([]int{1}, s.Input.Shape()...)...), nil
}

// readNpy reads a NumPy .npy file (format 1.0-3.0) holding a C-order
// little-endian float32 or float64 array; float64 is rounded to float32.
func readNpy(path string) (*tensor.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("features: %s: "+format, append([]any{path}, args...)...)
	}
	if len(data) < 10 || string(data[:6]) != "\x93NUMPY" {
		return nil, errf("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch data[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, errf("truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(data[8:])), 12
	default:
		return nil, errf("unsupported .npy version %d", data[6])
	}
	if start+hlen > len(data) {
		return nil, errf("truncated header")
	}
	header := string(data[start : start+hlen])
	descr := npyField.FindStringSubmatch(header)
	order := npyOrder.FindStringSubmatch(header)
	shapeM := npyShape.FindStringSubmatch(header)
	if descr == nil || order == nil || shapeM == nil {
		return nil, errf("unreadable header %q", header)
	}
	if order[1] != "False" {
		return nil, errf("Fortran-order arrays are not supported; save with np.ascontiguousarray")
	}
	var shape []int
	for _, p := range strings.Split(shapeM[1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		d, err := strconv.Atoi(p)
		if err != nil || d < 0 {
			return nil, errf("bad shape %q", shapeM[1])
		}
		shape = append(shape, d)
	}
	body := data[start+hlen:]
	n := tensor.Numel(shape)
	vals := make([]float32, n)
	switch descr[1] {
	case "<f4":
		if len(body) != 4*n {
			return nil, errf("%d data bytes for %d float32 values of shape %v", len(body), n, shape)
		}
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		}
	case "<f8":
		if len(body) != 8*n {
			return nil, errf("%d data bytes for %d float64 values of shape %v", len(body), n, shape)
		}
		for i := range vals {
			vals[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(body[8*i:])))
		}
	default:
		return nil, errf("dtype %q: want float32 ('<f4') or float64 ('<f8')", descr[1])
	}
	return tensor.FromData(vals, shape...), nil
}

var (
	npyField = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)
