// Package tinynet is an example of a backbone defined outside dp: two
// strided 3×3 convolutions with ReLU, registered as "TinyConvNet" so that a
// config can name it in model.backbone.type. A program gets it by importing
// this package (see ../main.go).
package tinynet

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Options are TinyConvNet's config keys.
type Options struct {
	InChannels int    `yaml:"in_channels"` // default 3
	Width      int    `yaml:"width"`       // channels of both convolutions; default 16
	Seed       uint64 `yaml:"seed"`        // seeds the initial weights; default 0
}

// TinyConvNet maps N×C×H×W images to one N×Width×H/4×W/4 feature map.
type TinyConvNet struct {
	nn.ModuleBase
	conv1, conv2 *nn.Conv2d
	width        int
}

// New returns a TinyConvNet.
func New(o Options) (*TinyConvNet, error) {
	if o.InChannels < 1 || o.Width < 1 {
		return nil, fmt.Errorf("tinynet: in_channels %d and width %d must be positive", o.InChannels, o.Width)
	}
	rng := tensor.NewRNG(o.Seed)
	conv := nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	m := &TinyConvNet{width: o.Width}
	m.conv1 = nn.NewConv2d(o.InChannels, o.Width, [2]int{3, 3}, rng, conv)
	m.conv2 = nn.NewConv2d(o.Width, o.Width, [2]int{3, 3}, rng, conv)
	m.RegisterModule("conv1", m.conv1)
	m.RegisterModule("conv2", m.conv2)
	return m, nil
}

// Forward implements backbone.Backbone.
func (m *TinyConvNet) Forward(x *nn.Var) []*nn.Var {
	return []*nn.Var{nn.ReLU(m.conv2.Forward(nn.ReLU(m.conv1.Forward(x))))}
}

// OutChannels implements backbone.Backbone.
func (m *TinyConvNet) OutChannels() []int { return []int{m.width} }

// OutStrides implements backbone.Backbone.
func (m *TinyConvNet) OutStrides() []int { return []int{4} }

func init() {
	config.RegisterOptions(backbone.Registry, "TinyConvNet", Options{InChannels: 3, Width: 16},
		func(o Options) (backbone.Backbone, error) { return New(o) })
}
