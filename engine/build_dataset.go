package engine

import (
	"fmt"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/imagenet"
)

// datasetTypes are the dataset types BuildDataset knows, each opening one
// of the readers of package datasets with its own options struct.
var datasetTypes = map[string]func(n config.Node, extra any) (datasets.Dataset, error){
	"ImageNet": func(n config.Node, extra any) (datasets.Dataset, error) {
		var o imagenet.FolderOptions
		if err := decodeStrict(n, extra, &o); err != nil {
			return nil, err
		}
		return imagenet.OpenFolder(o)
	},
}

// BuildDataset opens the dataset a dataloader's dataset node describes;
// the node's pipeline key is left to BuildPipeline.
func BuildDataset(n config.Node) (datasets.Dataset, error) {
	var extra struct {
		Type     string      `yaml:"type"`
		Pipeline config.Node `yaml:"pipeline"`
	}
	if n.Kind() != config.Map {
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "expected a dataset mapping with a \"type\""}
	}
	open, ok := datasetTypes[n.Type()]
	if !ok {
		names := make([]string, 0, len(datasetTypes))
		for k := range datasetTypes {
			names = append(names, k)
		}
		t := n.Field("type")
		return nil, &config.Error{File: t.File(), Line: t.Line(), Path: joinKey(n.Path(), "type"), Msg: fmt.Sprintf("unknown dataset type %q (known: %s)", n.Type(), strings.Join(names, ", "))}
	}
	ds, err := open(n, &extra)
	if err != nil {
		if _, ok := err.(*config.Error); ok {
			return nil, err
		}
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: fmt.Sprintf("opening dataset type %q", n.Type()), Err: err}
	}
	return ds, nil
}
