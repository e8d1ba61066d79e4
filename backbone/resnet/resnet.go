package resnet

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Block is a residual block: BasicBlock or Bottleneck.
type Block interface {
	nn.Module
	// Forward maps x (N×C×H×W) to the block's output.
	Forward(x *nn.Var) *nn.Var
}

// BasicBlock is ResNet-18/34's block: 3×3 conv (carrying the stride) → BN →
// ReLU → 3×3 conv → BN, plus the shortcut, then ReLU. Its keys are
// conv1, bn1, conv2, bn2 and, when the shape changes, downsample.0 (1×1
// conv) and downsample.1 (BN), as torchvision's.
type BasicBlock struct {
	nn.ModuleBase
	Conv1, Conv2 *nn.Conv2d
	BN1, BN2     *nn.BatchNorm2d
	Downsample   *Downsample // nil when input and output shapes agree
}

// Forward applies the block to x.
func (b *BasicBlock) Forward(x *nn.Var) *nn.Var {
	out := nn.ReLU(b.BN1.Forward(b.Conv1.Forward(x)))
	out = b.BN2.Forward(b.Conv2.Forward(out))
	return nn.ReLU(nn.Add(out, b.Downsample.shortcut(x)))
}

// Bottleneck is ResNet-50/101/152's block: 1×1 conv → BN → ReLU → 3×3 conv
// → BN → ReLU → 1×1 conv to 4× the width → BN, plus the shortcut, then
// ReLU. The stride sits on the 3×3 conv ("pytorch" style, torchvision's
// V1.5) or on the first 1×1 ("caffe"). Keys: conv1..3, bn1..3,
// downsample.0/1.
type Bottleneck struct {
	nn.ModuleBase
	Conv1, Conv2, Conv3 *nn.Conv2d
	BN1, BN2, BN3       *nn.BatchNorm2d
	Downsample          *Downsample // nil when input and output shapes agree
}

// Forward applies the block to x.
func (b *Bottleneck) Forward(x *nn.Var) *nn.Var {
	out := nn.ReLU(b.BN1.Forward(b.Conv1.Forward(x)))
	out = nn.ReLU(b.BN2.Forward(b.Conv2.Forward(out)))
	out = b.BN3.Forward(b.Conv3.Forward(out))
	return nn.ReLU(nn.Add(out, b.Downsample.shortcut(x)))
}

// Downsample is a block's projection shortcut, torchvision's
// nn.Sequential(conv1x1(stride), BatchNorm2d): keys 0.weight and 1.*.
type Downsample struct {
	nn.ModuleBase
	Conv *nn.Conv2d
	BN   *nn.BatchNorm2d
}

// shortcut returns x through the projection, or x itself when d is nil.
func (d *Downsample) shortcut(x *nn.Var) *nn.Var {
	if d == nil {
		return x
	}
	return d.BN.Forward(d.Conv.Forward(x))
}

// ResNet is the backbone. Its parameter and buffer names equal
// torchvision's state-dict keys (conv1.weight, bn1.running_mean,
// layer1.0.conv1.weight, layer2.0.downsample.0.weight, ...), without fc.
//
// Example: ResNet-50 maps a 1×3×224×224 image to 1×256×56×56,
// 1×512×28×28, 1×1024×14×14 and 1×2048×7×7; a 1×3×100×130 image to 25×33,
// 13×17, 7×9 and 4×5 maps (each 3×3 stride-2 step rounds up).
type ResNet struct {
	nn.ModuleBase
	Conv1  *nn.Conv2d
	BN1    *nn.BatchNorm2d
	Layers [numStages]*nn.ModuleList // layer1 ... layer4, of Block

	opts     Options
	blocks   [numStages][]Block
	widths   [numStages]int // output channels of each stage
	channels []int          // of the outputs
	strides  []int          // of the outputs
	// InitPath is the init checkpoint loaded ("" without one) and
	// InitReport how its keys matched the backbone's.
	InitPath   string
	InitReport nn.LoadReport
}

// builder holds what every layer constructor needs.
type builder struct {
	rng  *tensor.RNG
	opts *Options
}

// conv is a bias-free k×k convolution with padding k/2, initialised as
// torchvision does: Kaiming normal, fan_out, ReLU gain.
func (b *builder) conv(in, out, k, stride int) *nn.Conv2d {
	c := nn.NewConv2d(in, out, [2]int{k, k}, b.rng, nn.Conv2dOptions{
		Stride: [2]int{stride, stride}, Padding: [2]int{k / 2, k / 2}, NoBias: true})
	nn.KaimingNormal(c.Weight.Value, b.rng, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"})
	return c
}

// bn is a BatchNorm2d as norm_cfg says; frozen ones always normalise with
// the running statistics.
func (b *builder) bn(c int, frozen bool) *nn.BatchNorm2d {
	n := nn.NewBatchNorm2d(c, nn.BatchNorm2dOptions{
		Eps: b.opts.NormCfg.Eps, Momentum: b.opts.NormCfg.Momentum, NormEval: b.opts.NormEval || frozen})
	if !b.opts.NormCfg.RequiresGrad {
		n.Weight.SetRequiresGrad(false)
		n.Bias.SetRequiresGrad(false)
	}
	return n
}

// block builds one block from in channels at the given width (output
// width·expansion) and stride.
func (b *builder) block(bottleneck bool, in, width, stride int, frozen bool) Block {
	expansion := 1
	if bottleneck {
		expansion = 4
	}
	out := width * expansion
	var down *Downsample
	if stride != 1 || in != out {
		down = &Downsample{}
		down.Conv = register(down, "0", b.conv(in, out, 1, stride))
		down.BN = register(down, "1", b.bn(out, frozen))
	}
	if !bottleneck {
		blk := &BasicBlock{}
		blk.Conv1 = register(blk, "conv1", b.conv(in, width, 3, stride))
		blk.BN1 = register(blk, "bn1", b.bn(width, frozen))
		blk.Conv2 = register(blk, "conv2", b.conv(width, width, 3, 1))
		blk.BN2 = register(blk, "bn2", b.bn(width, frozen))
		if down != nil {
			blk.Downsample = register(blk, "downsample", down)
		}
		return blk
	}
	s1, s2 := 1, stride // pytorch style
	if b.opts.Style == "caffe" {
		s1, s2 = stride, 1
	}
	blk := &Bottleneck{}
	blk.Conv1 = register(blk, "conv1", b.conv(in, width, 1, s1))
	blk.BN1 = register(blk, "bn1", b.bn(width, frozen))
	blk.Conv2 = register(blk, "conv2", b.conv(width, width, 3, s2))
	blk.BN2 = register(blk, "bn2", b.bn(width, frozen))
	blk.Conv3 = register(blk, "conv3", b.conv(width, out, 1, 1))
	blk.BN3 = register(blk, "bn3", b.bn(out, frozen))
	if down != nil {
		blk.Downsample = register(blk, "downsample", down)
	}
	return blk
}

// New builds a ResNet from options (see Options for each key and its
// default) and, with init.checkpoint, loads its weights.
func New(o Options) (*ResNet, error) {
	a, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if o.Init.Checkpoint != "" {
		// Fail before allocating the network when the file cannot be found.
		if _, err := ResolveCheckpoint(o.Init.Checkpoint); err != nil {
			return nil, err
		}
	}
	m := &ResNet{opts: o}
	b := &builder{rng: tensor.NewRNG(o.Init.Seed), opts: &m.opts}
	fs := o.FrozenStages
	m.Conv1 = register(m, "conv1", b.conv(o.InChannels, o.BaseChannels, 7, 2))
	m.BN1 = register(m, "bn1", b.bn(o.BaseChannels, fs >= 0))
	in := o.BaseChannels
	for i := range numStages {
		width, stride := o.BaseChannels<<i, 2
		if i == 0 {
			stride = 1
		}
		frozen := i < fs
		l := &nn.ModuleList{}
		for j := range a.blocks[i] {
			s := stride
			if j > 0 {
				s = 1
			}
			blk := b.block(a.bottleneck, in, width, s, frozen)
			l.Append(blk)
			m.blocks[i] = append(m.blocks[i], blk)
			in = width
			if a.bottleneck {
				in = width * 4
			}
		}
		m.widths[i] = in
		m.Layers[i] = register(m, fmt.Sprintf("layer%d", i+1), l)
	}
	for _, i := range o.OutIndices {
		m.channels = append(m.channels, m.widths[i])
		m.strides = append(m.strides, 4<<i)
	}
	m.freeze()
	if o.Init.Checkpoint != "" {
		if err := m.loadInit(o.Init.Checkpoint); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Options returns the resolved options the backbone was built with.
func (m *ResNet) Options() Options { return m.opts }

// Blocks returns the blocks of stage i (0..3).
func (m *ResNet) Blocks(i int) []Block { return m.blocks[i] }

// OutChannels implements backbone.Backbone.
func (m *ResNet) OutChannels() []int { return m.channels }

// OutStrides implements backbone.Backbone.
func (m *ResNet) OutStrides() []int { return m.strides }

// Forward implements backbone.Backbone: it returns the outputs of the
// stages in out_indices. Any input size works; each stride-2 step rounds
// the size up, as PyTorch's padded convolutions and pooling do.
func (m *ResNet) Forward(x *nn.Var) []*nn.Var {
	if s := x.Shape(); len(s) != 4 || s[1] != m.opts.InChannels {
		panic(fmt.Sprintf("resnet: input of shape %v, want N×%d×H×W", s, m.opts.InChannels))
	}
	x = nn.ReLU(m.BN1.Forward(m.Conv1.Forward(x)))
	x = nn.MaxPool2d(x, nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
	outs := make([]*nn.Var, 0, len(m.opts.OutIndices))
	next := 0
	for i := range numStages {
		for _, b := range m.blocks[i] {
			x = b.Forward(x)
		}
		if m.opts.OutIndices[next] == i {
			outs = append(outs, x)
			if next++; next == len(m.opts.OutIndices) {
				break // later stages are not needed
			}
		}
	}
	return outs
}

// freeze stops gradients to the stem (frozen_stages >= 0) and to stages
// 0..frozen_stages-1, as mmdet's _freeze_stages does; their BatchNorms were
// built to use running statistics.
func (m *ResNet) freeze() {
	fs := m.opts.FrozenStages
	if fs < 0 {
		return
	}
	nn.Freeze(m.Conv1)
	nn.Freeze(m.BN1)
	for i := 0; i < fs; i++ {
		nn.Freeze(m.Layers[i])
	}
}

// register registers child under name in parent and returns it typed.
func register[T nn.Module](parent nn.Module, name string, child T) T {
	parent.Base().RegisterModule(name, child)
	return child
}

var _ backbone.Backbone = (*ResNet)(nil)

func init() {
	config.RegisterOptions(backbone.Registry, "ResNet", DefaultOptions(),
		func(o Options) (backbone.Backbone, error) { return New(o) })
}
