package resnet

import "fmt"

// Options configures the backbone; the yaml tags are the config keys, named
// as mmdet's ResNet arguments. Start from DefaultOptions, whose values are
// the defaults documented on each field.
type Options struct {
	// Depth selects the variant: 18, 34 (BasicBlock) or 50, 101, 152
	// (Bottleneck). Default 50.
	Depth int `yaml:"depth"`
	// InChannels is the number of input channels. Default 3.
	InChannels int `yaml:"in_channels"`
	// BaseChannels is the width of the stem and of the first stage's
	// blocks (before the Bottleneck's 4× expansion); stage i has
	// base_channels·2^i. Default 64, the only width torchvision's
	// weights fit.
	BaseChannels int `yaml:"base_channels"`
	// StageBlocks overrides the number of blocks of each of the four
	// stages that Depth implies (mmdet's stage_blocks), e.g. [1, 1, 1, 1]
	// for a small test network. Default none.
	StageBlocks []int `yaml:"stage_blocks"`
	// Style is "pytorch" (the stride-2 conv of a Bottleneck is its 3×3,
	// torchvision's layout) or "caffe" (the first 1×1). BasicBlock has
	// its stride on the first 3×3 either way. Default "pytorch".
	Style string `yaml:"style"`
	// OutIndices lists the stages (0..3) whose outputs Forward returns,
	// in increasing order. Default [0, 1, 2, 3].
	OutIndices []int `yaml:"out_indices"`
	// FrozenStages freezes the stem (>= 0) and stages 0..frozen_stages-1
	// (>= 1): their parameters get no gradients and their BatchNorms
	// always use the running statistics. Default -1 (nothing frozen);
	// mmdet's detection configs use 1.
	FrozenStages int `yaml:"frozen_stages"`
	// NormEval keeps every BatchNorm on its running statistics, never
	// updating them, even in training mode; its weight and bias still
	// train unless frozen (mmdet's norm_eval). Default true, as mmdet.
	NormEval bool `yaml:"norm_eval"`
	// NormCfg describes the norm layers (mmdet's norm_cfg).
	NormCfg NormCfg `yaml:"norm_cfg"`
	// Init loads weights after building.
	Init InitOptions `yaml:"init"`
}

// NormCfg is mmdet's norm_cfg for the backbone's norm layers.
type NormCfg struct {
	// Type must be "BN" (BatchNorm2d); mmdet's SyncBN is accepted as BN,
	// since dp trains in one process. Default "BN".
	Type string `yaml:"type"`
	// RequiresGrad trains the norms' weight and bias. Default true.
	RequiresGrad bool `yaml:"requires_grad"`
	// Eps is added to the variance. Default 1e-5.
	Eps float32 `yaml:"eps"`
	// Momentum weighs the batch statistics in the running averages.
	// Default 0.1.
	Momentum float32 `yaml:"momentum"`
}

// InitOptions says where initial weights come from.
type InitOptions struct {
	// Checkpoint is a .pth/.pt or .safetensors file holding a torchvision
	// ImageNet state_dict (plain or under "state_dict" or "model") or a dp
	// checkpoint whose backbone keys start with "backbone.". The form
	// "torchvision://resnet50" (as mmdet's init_cfg) names the torchvision
	// file of that model in $TORCH_HOME/hub/checkpoints (by default
	// ~/.cache/torch/hub/checkpoints), where torchvision caches downloads.
	// Keys the backbone lacks (fc.*) are reported in ResNet.InitReport; a
	// shape mismatch is an error.
	Checkpoint string `yaml:"checkpoint"`
	// Seed seeds the random initialisation (Kaiming normal, fan_out, for
	// the convolutions; BatchNorm 1 and 0, as torchvision and mmdet) that
	// a checkpoint then overwrites. Default 0.
	Seed uint64 `yaml:"seed"`
}

// DefaultOptions returns the defaults documented on Options' fields.
func DefaultOptions() Options {
	return Options{
		Depth:        50,
		InChannels:   3,
		BaseChannels: 64,
		Style:        "pytorch",
		OutIndices:   []int{0, 1, 2, 3},
		FrozenStages: -1,
		NormEval:     true,
		NormCfg:      NormCfg{Type: "BN", RequiresGrad: true, Eps: 1e-5, Momentum: 0.1},
	}
}

// arch is a depth's block type and blocks per stage (torchvision's
// resnet18 ... resnet152, mmdet's arch_settings).
type arch struct {
	bottleneck bool
	blocks     [4]int
}

var archs = map[int]arch{
	18:  {false, [4]int{2, 2, 2, 2}},
	34:  {false, [4]int{3, 4, 6, 3}},
	50:  {true, [4]int{3, 4, 6, 3}},
	101: {true, [4]int{3, 4, 23, 3}},
	152: {true, [4]int{3, 8, 36, 3}},
}

// Depths lists the depths Options.Depth accepts.
func Depths() []int { return []int{18, 34, 50, 101, 152} }

// numStages is the number of residual stages.
const numStages = 4

// resolve checks every option and returns the architecture.
func (o *Options) resolve() (arch, error) {
	a, ok := archs[o.Depth]
	if !ok {
		return arch{}, fmt.Errorf("resnet: depth %d (want one of %v)", o.Depth, Depths())
	}
	if o.StageBlocks != nil {
		if len(o.StageBlocks) != numStages {
			return arch{}, fmt.Errorf("resnet: stage_blocks %v: want %d numbers", o.StageBlocks, numStages)
		}
		for i, n := range o.StageBlocks {
			if n < 1 {
				return arch{}, fmt.Errorf("resnet: stage_blocks[%d] = %d (want >= 1)", i, n)
			}
			a.blocks[i] = n
		}
	}
	switch {
	case o.InChannels < 1:
		return arch{}, fmt.Errorf("resnet: in_channels %d (want >= 1)", o.InChannels)
	case o.BaseChannels < 1:
		return arch{}, fmt.Errorf("resnet: base_channels %d (want >= 1)", o.BaseChannels)
	case o.Style != "pytorch" && o.Style != "caffe":
		return arch{}, fmt.Errorf("resnet: style %q (want \"pytorch\" or \"caffe\")", o.Style)
	case len(o.OutIndices) == 0:
		return arch{}, fmt.Errorf("resnet: out_indices is empty")
	case o.FrozenStages < -1 || o.FrozenStages > numStages:
		return arch{}, fmt.Errorf("resnet: frozen_stages %d (want -1..%d)", o.FrozenStages, numStages)
	case o.NormCfg.Type != "BN" && o.NormCfg.Type != "SyncBN":
		return arch{}, fmt.Errorf("resnet: norm_cfg.type %q (want \"BN\")", o.NormCfg.Type)
	case o.NormCfg.Eps <= 0 || o.NormCfg.Momentum <= 0 || o.NormCfg.Momentum > 1:
		return arch{}, fmt.Errorf("resnet: norm_cfg eps %v, momentum %v (want eps > 0, momentum in (0, 1])", o.NormCfg.Eps, o.NormCfg.Momentum)
	}
	for i, oi := range o.OutIndices {
		if oi < 0 || oi >= numStages || (i > 0 && oi <= o.OutIndices[i-1]) {
			return arch{}, fmt.Errorf("resnet: out_indices %v: want increasing stage indices in 0..%d", o.OutIndices, numStages-1)
		}
	}
	return a, nil
}
