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
package tools

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/urfave/cli/v2"
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
	cmds := append([]*cli.Command(nil), commands...)
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

// Main runs the dp CLI with args (args[0] is the program name) and returns
// the process exit status. It never calls os.Exit, so deferred cleanup in
// subcommands runs before the process ends.
func Main(args []string) int {
	app := App(os.Stdout, os.Stderr)
	if err := app.Run(args); err != nil {
		fmt.Fprintf(os.Stderr, "dp: %v\n", err)
		return 1
	}
	return 0
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
