package snnmlp

import (
	"fmt"
	"strings"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// RemapStateDict returns the entries of a checkpoint's state dict that
// concern the backbone, under the backbone's own names: a dp model
// checkpoint's "backbone." prefix is removed (and its other entries
// dropped); an official classification state_dict is used as it is, its
// norm.* and head.* entries then showing up as unexpected keys. Official
// and backbone names are otherwise identical, so nothing else is renamed.
func RemapStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	const prefix = "backbone."
	hasPrefix := false
	for k := range sd {
		if strings.HasPrefix(k, prefix) {
			hasPrefix = true
			break
		}
	}
	if !hasPrefix {
		return sd
	}
	out := make(map[string]*tensor.Tensor)
	for k, v := range sd {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// LoadCheckpoint loads the weights of a .pth/.pt or .safetensors file (see
// InitOptions.Checkpoint) non-strictly and returns how the keys matched. A
// key whose shape differs is an error naming the key and both shapes, and
// then nothing is loaded.
func (m *SNNMLP) LoadCheckpoint(path string) (nn.LoadReport, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nn.LoadReport{}, fmt.Errorf("snnmlp: init checkpoint: %w", err)
	}
	r, err := nn.LoadStateDict(m, RemapStateDict(f.Tensors), false)
	if err != nil {
		return r, fmt.Errorf("snnmlp: init checkpoint %s: %w", path, err)
	}
	return r, nil
}

func (m *SNNMLP) loadInit(path string) error {
	r, err := m.LoadCheckpoint(path)
	m.InitPath, m.InitReport = path, r
	return err
}

// InitCheckpoint returns the init checkpoint loaded when the backbone was
// built and how its keys matched (backbone.InitReporter).
func (m *SNNMLP) InitCheckpoint() (string, nn.LoadReport) { return m.InitPath, m.InitReport }
