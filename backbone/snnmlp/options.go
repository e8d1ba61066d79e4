package snnmlp

import (
	"fmt"
	"slices"
	"strings"
)

// Options configures the backbone; the yaml tags are the config keys. The
// zero value is not useful: start from DefaultOptions, whose values are the
// defaults documented on each field.
type Options struct {
	// Arch selects an official variant: "tiny" (embed_dim 96, depths
	// [2,2,6,2], drop_path_rate 0.2), "small" (96, [2,2,18,2], 0.3) or
	// "base" (128, [2,2,18,2], 0.5). Leave it empty and set embed_dim and
	// depths for a custom network. Default: "tiny" when neither is set.
	Arch string `yaml:"arch"`
	// EmbedDim is the width C of the first stage; stage i has C·2^i.
	EmbedDim int `yaml:"embed_dim"`
	// Depths is the number of blocks of each stage.
	Depths []int `yaml:"depths"`
	// MLPRatio is the hidden width of each block's MLP over its width.
	// Default 4.
	MLPRatio float64 `yaml:"mlp_ratio"`
	// PatchSize is the side and stride of the patch-embedding conv. Default 4.
	PatchSize int `yaml:"patch_size"`
	// InChannels is the number of input channels. Default 3.
	InChannels int `yaml:"in_channels"`
	// LIF is the group length of the neurons: consecutive positions along H
	// or W forming one sequence; -1 disables them (identity). Default 4,
	// as the released models (the official class default is -1).
	LIF int `yaml:"lif"`
	// LIFInitTau initialises every tau. Default 0.25.
	LIFInitTau float32 `yaml:"lif_init_tau"`
	// LIFInitVth initialises every threshold. Default 0.1, the value the
	// official training script passes (main.py --lif_init_vth; the class
	// default -1 is never used for training, and the MindSpore port uses
	// 0.25). Loaded weights carry their own values.
	LIFInitVth float32 `yaml:"lif_init_vth"`
	// DropPathRate is the stochastic-depth rate of the last block; block k
	// of n gets rate·k/(n-1). Null (the default) takes the arch's official
	// rate, or 0.1 (the official config default) for a custom network.
	DropPathRate *float64 `yaml:"drop_path_rate"`
	// OutIndices lists the stages whose outputs Forward returns, in
	// increasing order. Default [0, 1, 2, 3].
	OutIndices []int `yaml:"out_indices"`
	// OutNorms adds GroupNorm(1, C_i), named norm{i}, on each output, as
	// AS-MLP's dense-prediction backbone does. Default true.
	OutNorms bool `yaml:"out_norms"`
	// FrozenStages freezes the patch embedding (>= 0) and stages
	// 0..frozen_stages-1 (>= 1): no gradients, no drop path. Default -1.
	FrozenStages int `yaml:"frozen_stages"`
	// Dense pads the input on the right and bottom to a multiple of the
	// patch size and odd maps at patch merging, so any input size works
	// (the AS-MLP dense-prediction behaviour). false keeps the official
	// classification network, which needs sides that are multiples of
	// 32 (patch size × 8). Default true.
	Dense bool `yaml:"dense"`
	// Init loads weights after building.
	Init InitOptions `yaml:"init"`
}

// InitOptions says where initial weights come from.
type InitOptions struct {
	// Checkpoint is a .pth/.pt or .safetensors file: an official
	// classification state_dict (plain or under "model" or "state_dict")
	// or a dp checkpoint whose backbone keys start with "backbone.". Keys
	// the backbone lacks (norm, head) and keys it has that the file lacks
	// (norm{i}) are reported in SNNMLP.InitReport; a shape mismatch is an
	// error.
	Checkpoint string `yaml:"checkpoint"`
	// Seed seeds the random initialisation (PyTorch's default conv init,
	// GroupNorm 1 and 0) that a checkpoint then overwrites. Default 0.
	Seed uint64 `yaml:"seed"`
}

// DefaultOptions returns the defaults documented on Options' fields.
func DefaultOptions() Options {
	return Options{
		MLPRatio:     4,
		PatchSize:    4,
		InChannels:   3,
		LIF:          4,
		LIFInitTau:   0.25,
		LIFInitVth:   0.1,
		OutIndices:   []int{0, 1, 2, 3},
		OutNorms:     true,
		FrozenStages: -1,
		Dense:        true,
	}
}

// arch is an official variant's architecture numbers.
type arch struct {
	embedDim     int
	depths       []int
	dropPathRate float64
}

// Archs are the official variants (snnmlp_pytorch/configs/*.yaml).
var archs = map[string]arch{
	"tiny":  {96, []int{2, 2, 6, 2}, 0.2},
	"small": {96, []int{2, 2, 18, 2}, 0.3},
	"base":  {128, []int{2, 2, 18, 2}, 0.5},
}

// ArchNames lists the official variants Options.Arch accepts.
func ArchNames() []string { return []string{"tiny", "small", "base"} }

// resolve fills the architecture from Arch and checks every option.
func (o *Options) resolve() error {
	custom := o.EmbedDim != 0 || o.Depths != nil
	if o.Arch == "" && !custom {
		o.Arch = "tiny"
	}
	if o.Arch != "" {
		a, ok := archs[o.Arch]
		if !ok {
			return fmt.Errorf("snnmlp: unknown arch %q (want %s, or embed_dim and depths)", o.Arch, strings.Join(ArchNames(), ", "))
		}
		if custom {
			return fmt.Errorf("snnmlp: arch %q and embed_dim/depths both set: use one or the other", o.Arch)
		}
		o.EmbedDim, o.Depths = a.embedDim, slices.Clone(a.depths)
		if o.DropPathRate == nil {
			r := a.dropPathRate
			o.DropPathRate = &r
		}
	}
	if o.DropPathRate == nil {
		r := 0.1
		o.DropPathRate = &r
	}
	switch {
	case o.EmbedDim < 1:
		return fmt.Errorf("snnmlp: embed_dim %d (want >= 1)", o.EmbedDim)
	case len(o.Depths) == 0:
		return fmt.Errorf("snnmlp: depths is empty")
	case o.MLPRatio <= 0:
		return fmt.Errorf("snnmlp: mlp_ratio %v (want > 0)", o.MLPRatio)
	case o.PatchSize < 1:
		return fmt.Errorf("snnmlp: patch_size %d (want >= 1)", o.PatchSize)
	case o.InChannels < 1:
		return fmt.Errorf("snnmlp: in_channels %d (want >= 1)", o.InChannels)
	case o.LIF < 1 && o.LIF != -1:
		return fmt.Errorf("snnmlp: lif %d (want a group length >= 1, or -1 to disable)", o.LIF)
	case *o.DropPathRate < 0 || *o.DropPathRate > 1:
		return fmt.Errorf("snnmlp: drop_path_rate %v (want 0..1)", *o.DropPathRate)
	case len(o.OutIndices) == 0:
		return fmt.Errorf("snnmlp: out_indices is empty")
	case o.FrozenStages < -1 || o.FrozenStages > len(o.Depths):
		return fmt.Errorf("snnmlp: frozen_stages %d (want -1..%d)", o.FrozenStages, len(o.Depths))
	}
	for i, d := range o.Depths {
		if d < 1 {
			return fmt.Errorf("snnmlp: depths[%d] = %d (want >= 1)", i, d)
		}
	}
	for i, oi := range o.OutIndices {
		if oi < 0 || oi >= len(o.Depths) || (i > 0 && oi <= o.OutIndices[i-1]) {
			return fmt.Errorf("snnmlp: out_indices %v: want increasing stage indices in 0..%d", o.OutIndices, len(o.Depths)-1)
		}
	}
	return nil
}
