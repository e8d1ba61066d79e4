// Command custom_backbone is dp with one more backbone: importing the
// package that registers it is all it takes to train, test and run configs
// that name it (see config.yaml).
package main

import (
	"os"

	_ "github.com/densepred/dp/examples/custom_backbone/tinynet"
	"github.com/densepred/dp/tools"
)

func main() { os.Exit(tools.Main(os.Args)) }
