// Command dp trains, tests and evaluates dense-prediction models.
//
// It only calls the CLI entry point in package tools; every subcommand lives there.
package main

import (
	"os"

	"github.com/densepred/dp/tools"
)

func main() {
	os.Exit(tools.Main(os.Args))
}
