package snnmlp

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/nn"
)

// FLOPs implements backbone.FLOPsCounter: the patch embedding, each block
// and each patch merging for an h×w input, counted as the official flops()
// methods count them (multiply-accumulates of the 1×1 and patch convs,
// N·C·9 for the depthwise conv, N·C per norm and per addition, 0 for the
// LIF neurons). Sizes are rounded up where dense mode pads; at sides that
// are multiples of 32 this equals the official count. Out norms are
// counted as norms.
func (m *SNNMLP) FLOPs(h, w int) []backbone.LayerFLOPs {
	o := m.opts
	ho, wo := ceilDiv(h, o.PatchSize), ceilDiv(w, o.PatchSize)
	if !o.Dense {
		ho, wo = h/o.PatchSize, w/o.PatchSize
	}
	var out []backbone.LayerFLOPs
	add := func(name string, mod nn.Module, flops int64) {
		var p int64
		for _, v := range nn.Params(mod) {
			p += int64(v.Value.Len())
		}
		out = append(out, backbone.LayerFLOPs{Name: name, Params: p, FLOPs: flops})
	}
	c0 := int64(m.dims[0])
	n := int64(ho * wo)
	add("patch_embed", m.PatchEmbed, n*c0*int64(o.InChannels*o.PatchSize*o.PatchSize)+n*c0)
	for i, l := range m.Layers {
		c := int64(m.dims[i])
		n := int64(ho * wo)
		for j, b := range l.blocks {
			f := c * n // norm1
			// LIF module: conv1, norm1, dw1, norm2, conv2_1 + conv2_2, the
			// sum, norm3 and conv3.
			f += n*c*c + n*c + n*c*9 + n*c + 2*n*c*c + n*c + n*c + n*c*c
			f += int64(2 * float64(n*c*c) * o.MLPRatio) // mlp
			f += c * n                                  // norm2
			add(fmt.Sprintf("layers.%d.blocks.%d", i, j), b, f)
		}
		if l.Downsample != nil {
			if o.Dense {
				ho, wo = ho+ho%2, wo+wo%2
			}
			f := int64(ho*wo)*c + int64(ho/2)*int64(wo/2)*8*c*c
			add(fmt.Sprintf("layers.%d.downsample", i), l.Downsample, f)
			ho, wo = ho/2, wo/2
		}
	}
	for j, oi := range o.OutIndices {
		if m.OutNorms == nil {
			break
		}
		s := o.PatchSize << oi
		add(fmt.Sprintf("norm%d", oi), m.OutNorms[j], int64(ceilDiv(h, s)*ceilDiv(w, s)*m.dims[oi]))
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// HeadNormFLOPs is what the official flops() counts for the classifier's
// final GroupNorm on an h×w input: num_features · (h/patch)·(w/patch) //
// 2^num_layers, with the integer divisions of the official code. (The norm
// runs on the last stage's map, (h/patch)·(w/patch) / 4^(num_layers-1)
// positions; the official count keeps the formula of the Swin code it came
// from.)
func (m *SNNMLP) HeadNormFLOPs(h, w int) int64 {
	p := m.opts.PatchSize
	return int64(m.dims[len(m.dims)-1]) * int64(h/p) * int64(w/p) / int64(1<<len(m.dims))
}
