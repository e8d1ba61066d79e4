package config_test

import (
	"fmt"

	"github.com/densepred/dp/config"
)

// FPN stands for a neck built from a config.
type FPN struct {
	InChannels  []int
	OutChannels int
}

// fpnOptions are FPN's config keys; the value passed to RegisterOptions
// holds their defaults.
type fpnOptions struct {
	InChannels  []int `yaml:"in_channels"`
	OutChannels int   `yaml:"out_channels"`
	NumOuts     int   `yaml:"num_outs"`
}

// necks is the registry a neck package would declare.
var necks = config.NewRegistry[*FPN]("example.necks")

func init() {
	config.RegisterOptions(necks, "FPN", fpnOptions{OutChannels: 256, NumOuts: 5}, func(o fpnOptions) (*FPN, error) {
		return &FPN{InChannels: o.InChannels, OutChannels: o.OutChannels}, nil
	})
}

func Example() {
	cfg, err := config.Load("testdata/inherit/child.yaml", "model.neck.out_channels=128")
	if err != nil {
		fmt.Println(err)
		return
	}
	depth, _ := cfg.Get("model.backbone.depth").Scalar()
	fmt.Println("backbone:", cfg.Get("model.backbone").Type(), "depth", depth)

	neck, err := necks.Build(cfg.Get("model.neck"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("neck:", neck.InChannels, neck.OutChannels)

	_, err = necks.Build(cfg.Get("model.backbone"))
	fmt.Println(err)
	// Output:
	// backbone: ResNet depth 101
	// neck: [256 512 1024 2048] 128
	// config: testdata/inherit/_base_/models/resnet_fpn.yaml:5: model.backbone.type: registry "example.necks" has no type "ResNet"; the package that registers it may not be imported: add a blank import of it (import _ "path/to/pkg") to the main package; registered example.necks: FPN
}

func ExampleNode_Decode() {
	cfg, err := config.Parse("train.yaml", []byte("max_epochs: 24\nval_interval: two\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := struct {
		MaxEpochs   int `yaml:"max_epochs"`
		ValInterval int `yaml:"val_interval"`
	}{MaxEpochs: 12, ValInterval: 1}
	fmt.Println(cfg.Decode(&opts))
	fmt.Println(opts.MaxEpochs, opts.ValInterval) // unchanged on error
	// Output:
	// config: train.yaml:2: val_interval: expected an integer, found string "two"
	// 12 1
}
