package backbone

import "github.com/densepred/dp/config"

// Registry holds every backbone a config can name in model.backbone.type.
// Backbone packages register themselves from init with
// config.RegisterOptions, so their options struct is decoded strictly;
// programs opt in with a blank import of the package (as database/sql does
// with drivers):
//
//	import _ "github.com/densepred/dp/backbone/snnmlp"
var Registry = config.NewRegistry[Backbone](config.Backbones)

// Build builds the backbone a config node describes ("type" plus the
// backbone's options). Errors name the file, the key path and, for an
// unknown type, the registered names.
func Build(n config.Node) (Backbone, error) { return Registry.Build(n) }

// LayerFLOPs is the cost of one named part of a model for one input image.
type LayerFLOPs struct {
	Name   string // module path, e.g. "layers.2.blocks.0"
	Params int64  // parameters owned by the part
	FLOPs  int64  // multiply-accumulates, counted as the model's reference code counts them
}

// FLOPsCounter is implemented by models and backbones that count their
// parameters and FLOPs for an input of h×w pixels the way their reference
// implementation does (for SNN-MLP, its flops() method), so `dp flops`
// reproduces the published figures.
type FLOPsCounter interface {
	FLOPs(h, w int) []LayerFLOPs
}
