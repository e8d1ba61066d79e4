package snnmlp

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Mlp is the channel MLP of a block: fc1 (1×1 conv C→hidden) → GELU → fc2
// (1×1 conv hidden→C). The official dropout is 0 and omitted.
type Mlp struct {
	nn.ModuleBase
	FC1, FC2 *nn.Conv2d
}

func newMlp(rng *tensor.RNG, dim, hidden int) *Mlp {
	m := &Mlp{}
	m.FC1 = register(m, "fc1", conv1x1(rng, dim, hidden, true))
	m.FC2 = register(m, "fc2", conv1x1(rng, hidden, dim, true))
	return m
}

// Forward applies the MLP to x (N×C×H×W).
func (m *Mlp) Forward(x *nn.Var) *nn.Var {
	return m.FC2.Forward(nn.GELU(m.FC1.Forward(x)))
}

// LIFModule is SNN-MLP's token mixer. Its registration order (conv1, conv2_1,
// conv2_2, conv3, norm1..3, lif1, lif2, dw1) is the official state-dict
// order.
type LIFModule struct {
	nn.ModuleBase
	Conv1, Conv21, Conv22, Conv3 *nn.Conv2d
	Norm1, Norm2, Norm3          *nn.GroupNorm
	LIF1                         *nn.LIFSpike // along H, feeds conv2_1
	LIF2                         *nn.LIFSpike // along W, feeds conv2_2
	DW1                          *nn.Conv2d   // depthwise 3×3, zero padding 1
}

func newLIFModule(rng *tensor.RNG, dim int, o *Options) *LIFModule {
	m := &LIFModule{}
	m.Conv1 = register(m, "conv1", conv1x1(rng, dim, dim, true))
	m.Conv21 = register(m, "conv2_1", conv1x1(rng, dim, dim, true))
	m.Conv22 = register(m, "conv2_2", conv1x1(rng, dim, dim, true))
	m.Conv3 = register(m, "conv3", conv1x1(rng, dim, dim, true))
	m.Norm1 = register(m, "norm1", groupNorm(dim))
	m.Norm2 = register(m, "norm2", groupNorm(dim))
	m.Norm3 = register(m, "norm3", groupNorm(dim))
	m.LIF1 = register(m, "lif1", nn.NewLIFSpike(tensor.LIFAlongH, o.LIF, o.LIFInitTau, o.LIFInitVth))
	m.LIF2 = register(m, "lif2", nn.NewLIFSpike(tensor.LIFAlongW, o.LIF, o.LIFInitTau, o.LIFInitVth))
	m.DW1 = register(m, "dw1", depthwise3x3(rng, dim))
	return m
}

// Forward mixes tokens of x (N×C×H×W). Both neurons read the same tensor.
func (m *LIFModule) Forward(x *nn.Var) *nn.Var {
	x = nn.GELU(m.Norm1.Forward(m.Conv1.Forward(x)))
	x = nn.GELU(m.Norm2.Forward(m.DW1.Forward(x)))
	a := nn.GELU(m.Conv21.Forward(m.LIF1.Forward(x)))
	b := nn.GELU(m.Conv22.Forward(m.LIF2.Forward(x)))
	return m.Conv3.Forward(m.Norm3.Forward(nn.Add(a, b)))
}

// LIFBlock is one residual block: x + LIF(norm1(x)), then x + MLP(norm2(x)),
// both branches through the block's drop path (stochastic depth) when
// training.
type LIFBlock struct {
	nn.ModuleBase
	Norm1     *nn.GroupNorm
	LIFModule *LIFModule
	Norm2     *nn.GroupNorm
	MLP       *Mlp
	DropPath  float64 // probability of dropping each residual branch per sample
	frozen    bool    // in a frozen stage: always in evaluation mode
}

func newLIFBlock(rng *tensor.RNG, dim int, dropPath float64, o *Options) *LIFBlock {
	b := &LIFBlock{DropPath: dropPath}
	b.Norm1 = register(b, "norm1", groupNorm(dim))
	b.LIFModule = register(b, "lif_module", newLIFModule(rng, dim, o))
	b.Norm2 = register(b, "norm2", groupNorm(dim))
	b.MLP = register(b, "mlp", newMlp(rng, dim, int(float64(dim)*o.MLPRatio)))
	return b
}

// Forward applies the block to x (N×C×H×W).
func (b *LIFBlock) Forward(x *nn.Var) *nn.Var {
	training := b.Training() && !b.frozen
	x = nn.Add(x, nn.DropPath(b.LIFModule.Forward(b.Norm1.Forward(x)), b.DropPath, training))
	return nn.Add(x, nn.DropPath(b.MLP.Forward(b.Norm2.Forward(x)), b.DropPath, training))
}

// PatchMerging halves the resolution and doubles the width: the four
// pixels of each 2×2 cell are stacked on channels in Swin's order
// (even,even), (odd,even), (even,odd), (odd,odd) as (row, col), then
// GroupNorm(1, 4C) and a bias-free 1×1 conv to 2C.
type PatchMerging struct {
	nn.ModuleBase
	Reduction *nn.Conv2d
	Norm      *nn.GroupNorm
	pad       bool // pad odd sizes by one zero row/column (dense mode)
}

func newPatchMerging(rng *tensor.RNG, dim int, pad bool) *PatchMerging {
	p := &PatchMerging{pad: pad}
	p.Reduction = register(p, "reduction", conv1x1(rng, 4*dim, 2*dim, false))
	p.Norm = register(p, "norm", groupNorm(4*dim))
	return p
}

// Forward merges x (N×C×H×W) into N×2C×⌈H/2⌉×⌈W/2⌉. Without padding, an
// odd H or W panics, as the official concatenation fails.
func (p *PatchMerging) Forward(x *nn.Var) *nn.Var {
	h, w := x.Shape()[2], x.Shape()[3]
	if h%2 != 0 || w%2 != 0 {
		if !p.pad {
			panic(fmt.Sprintf("snnmlp: patch merging of a %d×%d map: classification mode needs input sides that are multiples of 32 (set dense: true to pad)", h, w))
		}
		x = nn.Pad(x, []int{0, w % 2, 0, h % 2}, 0)
		h, w = h+h%2, w+w%2
	}
	x0 := nn.Slice(nn.Slice(x, 2, 0, h, 2), 3, 0, w, 2)
	x1 := nn.Slice(nn.Slice(x, 2, 1, h, 2), 3, 0, w, 2)
	x2 := nn.Slice(nn.Slice(x, 2, 0, h, 2), 3, 1, w, 2)
	x3 := nn.Slice(nn.Slice(x, 2, 1, h, 2), 3, 1, w, 2)
	return p.Reduction.Forward(p.Norm.Forward(nn.Concat(1, x0, x1, x2, x3)))
}

// BasicLayer is one stage: its blocks, then (except for the last stage)
// patch merging.
type BasicLayer struct {
	nn.ModuleBase
	Blocks     *nn.ModuleList // of *LIFBlock
	Downsample *PatchMerging  // nil for the last stage
	blocks     []*LIFBlock
}

// PatchEmbed is a k×k, stride-k convolution (k = patch size) followed by
// GroupNorm(1, C).
type PatchEmbed struct {
	nn.ModuleBase
	Proj *nn.Conv2d
	Norm *nn.GroupNorm
}

// SNNMLP is the backbone. Its parameter names equal the official
// state-dict keys (patch_embed.proj.weight, layers.0.blocks.1.lif_module.
// lif1.tau, ...); the per-output norms are norm0, norm1, ... as in AS-MLP's
// dense-prediction backbone.
//
// Example: SNN-MLP-T (dense, all out_indices) maps a 1×3×224×224 image to
// 1×96×56×56, 1×192×28×28, 1×384×14×14 and 1×768×7×7; a 1×3×100×130 image
// (padded to 100×132) to 25×33, 13×17, 7×9 and 4×5 maps.
type SNNMLP struct {
	nn.ModuleBase
	PatchEmbed *PatchEmbed
	Layers     []*BasicLayer
	OutNorms   []*nn.GroupNorm // one per out index when out_norms; else nil

	opts     Options
	dims     []int
	channels []int // of the outputs
	strides  []int // of the outputs
	// InitPath is the init checkpoint loaded ("" without one) and
	// InitReport how its keys matched the backbone's.
	InitPath   string
	InitReport nn.LoadReport
}

// New builds an SNN-MLP from options (see Options for each key and its
// default) and, with init.checkpoint, loads its weights.
func New(o Options) (*SNNMLP, error) {
	if err := o.resolve(); err != nil {
		return nil, err
	}
	m := &SNNMLP{opts: o}
	rng := tensor.NewRNG(o.Init.Seed)
	nl := len(o.Depths)
	for i := 0; i < nl; i++ {
		m.dims = append(m.dims, o.EmbedDim<<i)
	}
	pe := &PatchEmbed{}
	pe.Proj = register(pe, "proj", patchConv(rng, o.InChannels, m.dims[0], o.PatchSize))
	pe.Norm = register(pe, "norm", groupNorm(m.dims[0]))
	m.PatchEmbed = register(m, "patch_embed", pe)

	// Stochastic depth: linspace(0, rate, sum(depths)), one per block.
	total := 0
	for _, d := range o.Depths {
		total += d
	}
	rate := func(k int) float64 {
		if total <= 1 {
			return 0
		}
		return *o.DropPathRate * float64(k) / float64(total-1)
	}
	layers := &nn.ModuleList{}
	k := 0
	for i := 0; i < nl; i++ {
		l := &BasicLayer{Blocks: &nn.ModuleList{}}
		for j := 0; j < o.Depths[i]; j++ {
			b := newLIFBlock(rng, m.dims[i], rate(k), &o)
			k++
			l.Blocks.Append(b)
			l.blocks = append(l.blocks, b)
		}
		l.RegisterModule("blocks", l.Blocks)
		if i < nl-1 {
			l.Downsample = register(l, "downsample", newPatchMerging(rng, m.dims[i], o.Dense))
		}
		layers.Append(l)
		m.Layers = append(m.Layers, l)
	}
	m.RegisterModule("layers", layers)
	for _, i := range o.OutIndices {
		m.channels = append(m.channels, m.dims[i])
		m.strides = append(m.strides, o.PatchSize<<i)
		if o.OutNorms {
			m.OutNorms = append(m.OutNorms, register(m, fmt.Sprintf("norm%d", i), groupNorm(m.dims[i])))
		}
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
func (m *SNNMLP) Options() Options { return m.opts }

// Dims returns the width of each stage (C, 2C, 4C, 8C).
func (m *SNNMLP) Dims() []int { return m.dims }

// OutChannels implements backbone.Backbone.
func (m *SNNMLP) OutChannels() []int { return m.channels }

// OutStrides implements backbone.Backbone.
func (m *SNNMLP) OutStrides() []int { return m.strides }

// Forward implements backbone.Backbone: it returns the outputs of the stages
// in out_indices, each taken before patch merging and, with out_norms,
// normalised by its norm{i}.
func (m *SNNMLP) Forward(x *nn.Var) []*nn.Var {
	s := x.Shape()
	if len(s) != 4 || s[1] != m.opts.InChannels {
		panic(fmt.Sprintf("snnmlp: input of shape %v, want N×%d×H×W", s, m.opts.InChannels))
	}
	p := m.opts.PatchSize
	h, w := s[2], s[3]
	if h%p != 0 || w%p != 0 {
		if !m.opts.Dense {
			panic(fmt.Sprintf("snnmlp: input %d×%d is not a multiple of the patch size %d (set dense: true to pad)", h, w, p))
		}
		x = nn.Pad(x, []int{0, (p - w%p) % p, 0, (p - h%p) % p}, 0)
	}
	x = m.PatchEmbed.Norm.Forward(m.PatchEmbed.Proj.Forward(x))
	var outs []*nn.Var
	next := 0
	for i, l := range m.Layers {
		for _, b := range l.blocks {
			x = b.Forward(x)
		}
		if next < len(m.opts.OutIndices) && m.opts.OutIndices[next] == i {
			y := x
			if m.OutNorms != nil {
				y = m.OutNorms[next].Forward(y)
			}
			outs = append(outs, y)
			next++
		}
		if next == len(m.opts.OutIndices) {
			break // later stages are not needed
		}
		if l.Downsample != nil {
			x = l.Downsample.Forward(x)
		}
	}
	return outs
}

// freeze stops gradients to the patch embedding (frozen_stages >= 0) and to
// stages 0..frozen_stages-1 with their out norms, and keeps those stages in
// evaluation mode (no drop path) whatever the training flag, as mmdet's
// Swin does.
func (m *SNNMLP) freeze() {
	fs := m.opts.FrozenStages
	if fs < 0 {
		return
	}
	nn.Freeze(m.PatchEmbed)
	for i := 0; i < fs && i < len(m.Layers); i++ {
		nn.Freeze(m.Layers[i])
		for _, b := range m.Layers[i].blocks {
			b.frozen = true
		}
		for j, oi := range m.opts.OutIndices {
			if oi == i && m.OutNorms != nil {
				nn.Freeze(m.OutNorms[j])
			}
		}
	}
}

// register registers child under name in parent and returns it typed.
func register[T nn.Module](parent nn.Module, name string, child T) T {
	parent.Base().RegisterModule(name, child)
	return child
}

func groupNorm(c int) *nn.GroupNorm { return nn.NewGroupNorm(1, c, nn.GroupNormOptions{}) }

// conv1x1 is a pointwise conv, the official model's "linear" layer.
func conv1x1(rng *tensor.RNG, in, out int, bias bool) *nn.Conv2d {
	return nn.NewConv2d(in, out, [2]int{1, 1}, rng, nn.Conv2dOptions{NoBias: !bias})
}

// depthwise3x3 is the LIF module's dw1: 3×3, stride 1, zero padding 1, one
// group per channel, with a bias.
func depthwise3x3(rng *tensor.RNG, c int) *nn.Conv2d {
	return nn.NewConv2d(c, c, [2]int{3, 3}, rng, nn.Conv2dOptions{Padding: [2]int{1, 1}, Groups: c})
}

// patchConv is the patch embedding: kernel and stride equal to the patch
// size, with a bias.
func patchConv(rng *tensor.RNG, in, out, patch int) *nn.Conv2d {
	return nn.NewConv2d(in, out, [2]int{patch, patch}, rng, nn.Conv2dOptions{Stride: [2]int{patch, patch}})
}

var _ backbone.Backbone = (*SNNMLP)(nil)

func init() {
	config.RegisterOptions(backbone.Registry, "SNNMLP", DefaultOptions(),
		func(o Options) (backbone.Backbone, error) { return New(o) })
}
