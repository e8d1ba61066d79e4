// Package backbone defines the interface every feature extractor implements
// and the registry that configs build them from.
//
// A backbone is an nn.Module whose Forward maps an image batch NCHW to one
// feature map per output stage. Necks and heads size themselves from
// OutChannels and OutStrides instead of copying numbers into configs (timm's
// feature_info).
//
// Spiking backbones (SNN-MLP's LIF mixer runs within one pass; Meta-
// SpikeFormer runs T timesteps) are ordinary backbones: a multi-step model
// folds the T timesteps into the batch inside Forward and returns either the
// mean over T or the T-folded maps, as its options say.
package backbone

import "github.com/densepred/dp/nn"

// Backbone is a registered feature extractor.
//
// Forward may be called on any goroutine but not concurrently on one
// instance (modules hold training state). The returned maps belong to the
// input's tape.
type Backbone interface {
	nn.Module
	// Forward returns the feature maps of the configured output stages, in
	// order, each of shape [N, OutChannels()[i], H/OutStrides()[i], W/OutStrides()[i]]
	// (rounded up where the backbone pads).
	Forward(x *nn.Var) []*nn.Var
	// OutChannels returns the channel count of each output map.
	OutChannels() []int
	// OutStrides returns the stride, relative to the input, of each output map.
	OutStrides() []int
}

// InitReporter is implemented by modules that load weights of their own
// when built (a backbone's init.checkpoint, mmengine's init_cfg of type
// Pretrained), so that the engine can say what the file initialised.
// InitCheckpoint returns the file loaded ("" when none was) and how its keys
// matched the module's own keys.
type InitReporter interface {
	InitCheckpoint() (path string, report nn.LoadReport)
}
