// Package tools is the dp command line: one file per subcommand.
//
// A user who plugs in a custom backbone builds their own binary with every dp
// command by importing their registering package and calling Main:
//
//	package main
//
//	import (
//		"os"
//
//		_ "example.com/mybackbone"
//		"github.com/densepred/dp/tools"
//	)
//
//	func main() { os.Exit(tools.Main(os.Args)) }
//
// examples/custom_backbone is such a program, with a config that trains
// its backbone.
package tools

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/densepred/dp/engine"
)

// Version is the dp release; it is overridden at link time by the Makefile.
var Version = "0.1.0-dev"

var (
	commandsMu sync.Mutex
	commands   []*cli.Command
)

// registerCommand adds a subcommand to the CLI. Each subcommand file calls it
// from init, so adding a command touches only its own file.
func registerCommand(c *cli.Command) {
	commandsMu.Lock()
	defer commandsMu.Unlock()
	for _, have := range commands {
		if have.Name == c.Name {
			panic("tools: command " + c.Name + " registered twice")
		}
	}
	commands = append(commands, c)
}

// App builds the dp command-line application writing to stdout and stderr.
func App(stdout, stderr io.Writer) *cli.App {
	commandsMu.Lock()
	cmds := cloneCommands(commands)
	commandsMu.Unlock()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return &cli.App{
		Name:      "dp",
		Usage:     "dense prediction: train, test and evaluate detection and segmentation models",
		Version:   Version,
		Writer:    stdout,
		ErrWriter: stderr,
		Commands:  cmds,
		// Errors are printed once by Main, with a non-zero exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// cloneCommands copies the command tree: urfave/cli writes into commands
// as an app runs (help names, the help subcommand), so each App gets its
// own copies and apps can run one after another in one process.
func cloneCommands(cmds []*cli.Command) []*cli.Command {
	out := make([]*cli.Command, len(cmds))
	for i, c := range cmds {
		cp := *c
		cp.Subcommands = cloneCommands(c.Subcommands)
		out[i] = &cp
	}
	return out
}

// Main runs the dp CLI with args (args[0] is the program name) and returns
// the process exit status. It never calls os.Exit, so deferred cleanup in
// subcommands runs before the process ends.
//
// Flags may follow a command's positional arguments, as with mmdet's
// tools (dp train CONFIG --work-dir D): Main moves them in front before
// parsing. A training run stopped by Ctrl-C exits with status 130 after
// saving its checkpoint. Main first gives the Go runtime a soft memory
// limit of 90 % of the machine's or the cgroup's memory (setMemoryLimit),
// unless GOMEMLIMIT sets one.
func Main(args []string) int {
	setMemoryLimit()
	return mainWith(args, os.Stdout, os.Stderr)
}

// mainWith is Main writing to stdout and stderr.
func mainWith(args []string, stdout, stderr io.Writer) int {
	app := App(stdout, stderr)
	if err := app.Run(reorderArgs(app, args)); err != nil {
		fmt.Fprintf(stderr, "dp: %v\n", err)
		if errors.Is(err, engine.ErrInterrupted) {
			return engine.InterruptExitCode
		}
		return 1
	}
	return 0
}

// optionalValueFlags take a value only when one follows: a bare --resume
// means --resume=auto (mmdet's nargs="?"). The word after is taken as the
// value unless it is a flag or a config file.
var optionalValueFlags = map[string]string{"resume": "auto"}

// multiWordFlags take several words, as mmdet's nargs="+": --eval bbox segm
// becomes --eval bbox --eval segm. A following word is one more value when
// the predicate accepts it.
var multiWordFlags = map[string]func(word string) bool{
	"eval":        isNameWord,
	"keys":        isNameWord,
	"cfg-options": func(w string) bool { return strings.Contains(w, "=") && !strings.HasPrefix(w, "-") },
}

// isNameWord accepts metric and log-key names, which, unlike the file
// arguments beside them, have no dot or slash.
func isNameWord(w string) bool {
	return w != "" && !strings.HasPrefix(w, "-") && !strings.ContainsAny(w, "./"+string(filepath.Separator))
}

// isConfigFile reports whether w names a config by its extension.
func isConfigFile(w string) bool {
	switch strings.ToLower(filepath.Ext(w)) {
	case ".yaml", ".yml", ".json", ".py":
		return true
	}
	return false
}

// reorderArgs returns args with each command's flags moved before its
// positional arguments (urfave/cli stops reading flags at the first
// positional one), optional flag values made explicit and multi-word flag
// values split into one flag each. Words after "--" are left alone.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Global flags, then the command and subcommand names.
	cmds := app.Commands
	var cmd *cli.Command
	for i < len(args) {
		w := args[i]
		if strings.HasPrefix(w, "-") {
			if cmd != nil {
				break
			}
			out = append(out, w)
			i++
			continue
		}
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(w) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		out = append(out, w)
		i++
	}
	if cmd == nil {
		return args
	}
	flags := map[string]cli.Flag{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			flags[n] = f
		}
	}
	var front, pos []string
	for i < len(args) {
		w := args[i]
		i++
		if w == "--" {
			pos = append(pos, args[i-1:]...)
			break
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			pos = append(pos, w)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f, known := flags[name]
		if def, ok := optionalValueFlags[name]; ok && known && !hasValue {
			if i < len(args) && !strings.HasPrefix(args[i], "-") && !isConfigFile(args[i]) {
				w += "=" + args[i]
				i++
			} else {
				w += "=" + def
			}
			front = append(front, w)
			continue
		}
		front = append(front, w)
		tv, ok := f.(interface{ TakesValue() bool })
		if !known || hasValue || !ok || !tv.TakesValue() || i >= len(args) {
			continue
		}
		front = append(front, args[i])
		i++
		if more, ok := multiWordFlags[name]; ok {
			for i < len(args) && more(args[i]) {
				front = append(front, "--"+name, args[i])
				i++
			}
		}
	}
	return append(append(out, front...), pos...)
}

func init() {
	registerCommand(&cli.Command{
		Name:  "version",
		Usage: "print the dp version, Go version and CPU features in use",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "dp %s (%s %s/%s, %d threads)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
			return nil
		},
	})
}
