package tools

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/config"
)

const configShowUsage = "usage: dp config show CONFIG [--cfg-options KEY=VALUE ...]"

func init() {
	registerCommand(&cli.Command{
		Name:  "config",
		Usage: "print merged configs and the registered component types",
		Description: "Configs are YAML files that may inherit from others with _base_; see\n" +
			"the package doc of github.com/densepred/dp/config for the merge rules.",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "print the fully merged config (all _base_ files and --cfg-options applied) as YAML",
				ArgsUsage: "CONFIG",
				UsageText: configShowUsage[len("usage: "):],
				Flags:     []cli.Flag{newCfgOptionsFlag()},
				Action:    configShow,
			},
			{
				Name:  "registries",
				Usage: "list every registry and the type names registered in it",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "where", Usage: "also print the file:line that registered each name"},
				},
				Action: configRegistries,
			},
		},
	})
}

func configShow(c *cli.Context) error {
	args, opts, err := splitConfigArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("config show: expected one CONFIG, got %d arguments\n%s", len(args), configShowUsage)
	}
	cfg, err := config.Load(args[0], opts...)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(cfg.Dump())
	return err
}

func configRegistries(c *cli.Context) error {
	if c.NArg() != 0 {
		return fmt.Errorf("config registries: takes no arguments, got %q\nusage: dp config registries [--where]", c.Args().Slice())
	}
	return writeRegistries(c.App.Writer, config.AllRegistries(), c.Bool("where"))
}

// writeRegistries prints each registry as a heading line, "name: doc", then
// its type names indented, one a line.
func writeRegistries(w io.Writer, regs []config.RegistryInfo, where bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range regs {
		if r.Doc != "" {
			fmt.Fprintf(tw, "%s: %s\n", r.Name, r.Doc)
		} else {
			fmt.Fprintf(tw, "%s\n", r.Name)
		}
		switch {
		case !r.Linked:
			fmt.Fprintf(tw, "  (no package in this program provides it)\n")
		case len(r.Entries) == 0:
			fmt.Fprintf(tw, "  (none registered)\n")
		}
		for _, e := range r.Entries {
			if where {
				fmt.Fprintf(tw, "  %s\t%s\n", e.Name, e.Where)
			} else {
				fmt.Fprintf(tw, "  %s\n", e.Name)
			}
		}
	}
	return tw.Flush()
}

// cfgOptionsFlagName is the mmdet name of the override flag.
const cfgOptionsFlagName = "cfg-options"

// cfgOptionsFlag is --cfg-options KEY=VALUE: repeatable, and unlike a
// cli.StringSliceFlag never split at commas, so list values such as
// scale=[1333,800] arrive whole. Each parse gets a fresh value, so one
// *cli.App can run many times.
type cfgOptionsFlag struct {
	cli.StringFlag
}

func newCfgOptionsFlag() *cfgOptionsFlag {
	return &cfgOptionsFlag{cli.StringFlag{
		Name:  cfgOptionsFlagName,
		Usage: "override a config key: `KEY=VALUE` with a dotted KEY (list items by index, e.g. train_dataloader.dataset.pipeline.0.scale=[640,640]) and a YAML VALUE (1e-4, true, null, [1,2]); repeatable, and KEY=VALUE pairs may follow one flag",
	}}
}

// Apply registers a fresh option list under the flag's names.
func (f *cfgOptionsFlag) Apply(set *flag.FlagSet) error {
	v := new(optionList)
	for _, name := range f.Names() {
		set.Var(v, name, f.Usage)
	}
	return nil
}

// optionList collects the values of every --cfg-options in order.
type optionList []string

func (o *optionList) Set(s string) error { *o = append(*o, s); return nil }
func (o *optionList) String() string {
	if o == nil {
		return ""
	}
	return strings.Join(*o, " ")
}
func (o *optionList) Get() any { return []string(*o) }

// splitConfigArgs returns a command's positional arguments and its
// --cfg-options values, accepting them in mmdet's order as well: the flag
// parser stops at the first positional argument, so
//
//	dp CMD CONFIG --cfg-options a=1 b=2
//	dp CMD --cfg-options a=1 b=2 CONFIG
//
// both leave KEY=VALUE words among the arguments. The word after a
// --cfg-options, and words containing "=" that follow it before the next
// positional argument, are options; any other word starting with "-" after the
// positional arguments is an error, since flags must come first.
func splitConfigArgs(c *cli.Context) (args, opts []string, err error) {
	if v, ok := c.Value(cfgOptionsFlagName).([]string); ok {
		opts = append(opts, v...)
	}
	collecting := len(opts) > 0
	needValue := false // the word before was a bare --cfg-options
	for _, a := range c.Args().Slice() {
		switch {
		case needValue:
			opts = append(opts, a)
			needValue = false
		case a == "--"+cfgOptionsFlagName || a == "-"+cfgOptionsFlagName:
			collecting, needValue = true, true
		case strings.HasPrefix(a, "--"+cfgOptionsFlagName+"=") || strings.HasPrefix(a, "-"+cfgOptionsFlagName+"="):
			opts = append(opts, a[strings.Index(a, "=")+1:])
			collecting = true
		case collecting && strings.Contains(a, "="):
			opts = append(opts, a)
		case strings.HasPrefix(a, "-") && a != "-":
			return nil, nil, fmt.Errorf("%s: flag %s after the arguments: only --%s may follow them; put other flags before", strings.TrimPrefix(c.Command.HelpName, c.App.Name+" "), a, cfgOptionsFlagName)
		default:
			args = append(args, a)
			collecting = false
		}
	}
	if needValue {
		return nil, nil, fmt.Errorf("%s: --%s needs a KEY=VALUE", strings.TrimPrefix(c.Command.HelpName, c.App.Name+" "), cfgOptionsFlagName)
	}
	return args, opts, nil
}
