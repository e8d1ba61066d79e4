// Package necks holds the multi-scale feature fusion modules between a
// backbone and its heads: FPN for detection and Semantic FPN, and the
// registry configs build them from.
package necks

import (
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
)

// Neck maps a backbone's feature maps to the maps its heads consume.
//
// InChannels of a neck's options are filled from the backbone's
// OutChannels when the config leaves them out; OutChannels and OutStrides
// describe the returned maps, so heads size themselves from them.
type Neck interface {
	nn.Module
	Forward(feats []*nn.Var) []*nn.Var
	OutChannels() []int
	OutStrides() []int
}

// Registry holds the neck types configs name under model.neck.type.
var Registry = config.NewRegistry[Neck](config.Necks)
