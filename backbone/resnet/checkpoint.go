package resnet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// torchvisionScheme prefixes init checkpoints named as mmdet's init_cfg
// names them, e.g. "torchvision://resnet50".
const torchvisionScheme = "torchvision://"

// torchvisionURLs are the ImageNet weights torchvision (0.13 and later)
// downloads for each model, IMAGENET1K_V1.
var torchvisionURLs = map[string]string{
	"resnet18":  "https://download.pytorch.org/models/resnet18-f37072fd.pth",
	"resnet34":  "https://download.pytorch.org/models/resnet34-b627a593.pth",
	"resnet50":  "https://download.pytorch.org/models/resnet50-0676ba61.pth",
	"resnet101": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
	"resnet152": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
}

// ResolveCheckpoint turns an init checkpoint name into a file path. A
// plain path is returned as it is. "torchvision://NAME" is looked up in
// torchvision's download cache, $TORCH_HOME/hub/checkpoints (TORCH_HOME
// defaults to ~/.cache/torch), as a file NAME-<hash>.pth; when there is
// none, the error says where to download it.
func ResolveCheckpoint(name string) (string, error) {
	model, ok := strings.CutPrefix(name, torchvisionScheme)
	if !ok {
		return name, nil
	}
	url, known := torchvisionURLs[model]
	if !known {
		return "", fmt.Errorf("resnet: init checkpoint %q: unknown torchvision model %q (want resnet18, resnet34, resnet50, resnet101 or resnet152)", name, model)
	}
	home := os.Getenv("TORCH_HOME")
	if home == "" {
		userHome, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("resnet: init checkpoint %q: no TORCH_HOME and no home directory: %w", name, err)
		}
		home = filepath.Join(userHome, ".cache", "torch")
	}
	dir := filepath.Join(home, "hub", "checkpoints")
	matches, _ := filepath.Glob(filepath.Join(dir, model+"-*.pth"))
	if len(matches) == 0 {
		return "", fmt.Errorf("resnet: init checkpoint %q: no %s-*.pth in %s; download %s into that folder, or set init.checkpoint to the file's path",
			name, model, dir, url)
	}
	return matches[0], nil
}

// RemapStateDict returns the entries of a checkpoint's state dict that
// concern the backbone, under the backbone's own names: a dp or mmdet
// detector checkpoint's "backbone." prefix is removed (and its other
// entries dropped); a torchvision state_dict is used as it is, its fc.*
// entries then showing up as unexpected keys.
func RemapStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	const prefix = "backbone."
	out := make(map[string]*tensor.Tensor)
	for k, v := range sd {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	if len(out) == 0 {
		return sd
	}
	return out
}

// LoadCheckpoint loads the weights of a file (see InitOptions.Checkpoint)
// non-strictly and returns how the keys matched. A key whose shape differs
// is an error naming the key and both shapes, and then nothing is loaded.
func (m *ResNet) LoadCheckpoint(name string) (nn.LoadReport, error) {
	path, err := ResolveCheckpoint(name)
	if err != nil {
		return nn.LoadReport{}, err
	}
	f, err := checkpoint.Read(path)
	if err != nil {
		return nn.LoadReport{}, fmt.Errorf("resnet: init checkpoint: %w", err)
	}
	r, err := nn.LoadStateDict(m, RemapStateDict(f.Tensors), false)
	if err != nil {
		return r, fmt.Errorf("resnet: init checkpoint %s: %w", path, err)
	}
	return r, nil
}

func (m *ResNet) loadInit(name string) error {
	r, err := m.LoadCheckpoint(name)
	m.InitPath, m.InitReport = name, r
	return err
}

// InitCheckpoint returns the init checkpoint loaded when the backbone was
// built and how its keys matched (backbone.InitReporter).
func (m *ResNet) InitCheckpoint() (string, nn.LoadReport) { return m.InitPath, m.InitReport }
