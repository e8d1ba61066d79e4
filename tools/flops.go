package tools

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/backbone"
	_ "github.com/densepred/dp/backbone/snnmlp" // registers SNNMLP
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
)

const flopsUsage = "usage: dp flops [--shape C,H,W] CONFIG [--cfg-options KEY=VALUE ...]"

func init() {
	registerCommand(&cli.Command{
		Name:      "flops",
		Usage:     "print a model's parameters and FLOPs, total and per layer",
		ArgsUsage: "CONFIG",
		UsageText: flopsUsage[len("usage: "):],
		Description: "FLOPs are multiply-accumulates for one image, counted as the model's reference\n" +
			"code counts them (for SNN-MLP its flops() method: the LIF neurons count 0).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shape", Value: "3,224,224", Usage: "input `C,H,W` (or H,W, or one side S for S×S)"},
			newCfgOptionsFlag(),
		},
		Action: flopsMain,
	})
}

func flopsMain(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("flops: expected one CONFIG, got %d arguments\n%s", len(args), flopsUsage)
	}
	_, h, w, err := parseShape(c.String("shape"))
	if err != nil {
		return fmt.Errorf("flops: --shape: %w", err)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	m, err := models.Registry.Build(cfg.Field("model"))
	if err != nil {
		return err
	}
	fc, ok := m.(backbone.FLOPsCounter)
	if !ok {
		return fmt.Errorf("flops: model %T does not count its FLOPs", m)
	}
	layers := fc.FLOPs(h, w)
	if layers == nil {
		return fmt.Errorf("flops: model %T: its backbone does not count its FLOPs", m)
	}
	return writeFLOPs(c.App.Writer, m, layers, c.String("shape"))
}

// writeFLOPs prints one row per layer and the totals; params are checked
// against the model's own count so that no parameter goes unlisted.
func writeFLOPs(out interface{ Write([]byte) (int, error) }, m nn.Module, layers []backbone.LayerFLOPs, shape string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\tparams\tFLOPs\t\n")
	var params, flops int64
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", l.Name, human(l.Params), human(l.FLOPs))
		params += l.Params
		flops += l.FLOPs
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t\n", human(params), human(flops))
	if err := tw.Flush(); err != nil {
		return err
	}
	var all int64
	for _, p := range nn.Params(m) {
		all += int64(p.Value.Len())
	}
	if all != params {
		return fmt.Errorf("flops: the layers list %d parameters, the model has %d", params, all)
	}
	_, err := fmt.Fprintf(out, "input %s: %.1fM params, %.1f GFLOPs (%d params, %d FLOPs)\n", shape, float64(params)/1e6, float64(flops)/1e9, params, flops)
	return err
}

// human formats n with a k, M or G suffix and two decimals.
func human(n int64) string {
	switch f := float64(n); {
	case f >= 1e9:
		return fmt.Sprintf("%.2fG", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.2fk", f/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// parseShape reads "C,H,W", "H,W" or "S" (C defaults to 3).
func parseShape(s string) (c, h, w int, err error) {
	parts := strings.Split(s, ",")
	v := make([]int, len(parts))
	for i, p := range parts {
		if v[i], err = strconv.Atoi(strings.TrimSpace(p)); err != nil || v[i] < 1 {
			return 0, 0, 0, fmt.Errorf("%q: want positive integers C,H,W", s)
		}
	}
	switch len(v) {
	case 1:
		return 3, v[0], v[0], nil
	case 2:
		return 3, v[0], v[1], nil
	case 3:
		return v[0], v[1], v[2], nil
	}
	return 0, 0, 0, fmt.Errorf("%q: want C,H,W", s)
}
