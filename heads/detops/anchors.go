package detops

import (
	"fmt"
	"math"
)

// AnchorOptions configure an AnchorGenerator with mmdet's defaults for
// Faster/Mask R-CNN RPNs.
type AnchorOptions struct {
	Strides      []int     `yaml:"strides"`       // per level; default [4, 8, 16, 32, 64]
	Ratios       []float64 `yaml:"ratios"`        // height/width ratios; default [0.5, 1, 2]
	Scales       []float64 `yaml:"scales"`        // multiples of the base size; default [8]
	BaseSizes    []int     `yaml:"base_sizes"`    // per level; default the strides
	CenterOffset float64   `yaml:"center_offset"` // in units of the stride; default 0
}

// DefaultAnchorOptions returns mmdet's RPN anchor settings.
func DefaultAnchorOptions() AnchorOptions {
	return AnchorOptions{Strides: []int{4, 8, 16, 32, 64}, Ratios: []float64{0.5, 1, 2}, Scales: []float64{8}}
}

// AnchorGenerator places base anchors at every feature-map position, as
// mmdet's AnchorGenerator (not the legacy one: no rounding of base anchors).
type AnchorGenerator struct {
	opts AnchorOptions
	base [][]Box // per level, the anchors centred at the level's origin
}

// NewAnchorGenerator validates opts and computes the base anchors.
func NewAnchorGenerator(opts AnchorOptions) (*AnchorGenerator, error) {
	if len(opts.Strides) == 0 || len(opts.Ratios) == 0 || len(opts.Scales) == 0 {
		return nil, fmt.Errorf("detops: anchors need strides, ratios and scales, got %d, %d and %d", len(opts.Strides), len(opts.Ratios), len(opts.Scales))
	}
	if opts.BaseSizes == nil {
		opts.BaseSizes = opts.Strides
	}
	if len(opts.BaseSizes) != len(opts.Strides) {
		return nil, fmt.Errorf("detops: %d base sizes for %d strides", len(opts.BaseSizes), len(opts.Strides))
	}
	g := &AnchorGenerator{opts: opts}
	for _, bs := range opts.BaseSizes {
		w, h := float64(bs), float64(bs)
		cx, cy := opts.CenterOffset*w, opts.CenterOffset*h
		var lvl []Box
		// mmdet's scale_major order: ratios outer, scales inner.
		for _, r := range opts.Ratios {
			hr := math.Sqrt(r)
			wr := 1 / hr
			for _, s := range opts.Scales {
				ws, hs := w*wr*s, h*hr*s
				lvl = append(lvl, Box{float32(cx - 0.5*ws), float32(cy - 0.5*hs), float32(cx + 0.5*ws), float32(cy + 0.5*hs)})
			}
		}
		g.base = append(g.base, lvl)
	}
	return g, nil
}

// NumLevels returns the number of feature levels.
func (g *AnchorGenerator) NumLevels() int { return len(g.base) }

// NumBaseAnchors returns the anchors per position (same on every level).
func (g *AnchorGenerator) NumBaseAnchors() int { return len(g.base[0]) }

// Strides returns the per-level strides.
func (g *AnchorGenerator) Strides() []int { return g.opts.Strides }

// BaseAnchors returns the anchors of level l centred at the origin.
func (g *AnchorGenerator) BaseAnchors(l int) []Box { return g.base[l] }

// GridAnchors returns the anchors of level l for a feature map of h×w, in
// mmdet's order: position-major (row, then column), then base anchor.
func (g *AnchorGenerator) GridAnchors(l, h, w int) []Box {
	base := g.base[l]
	s := float32(g.opts.Strides[l])
	out := make([]Box, 0, h*w*len(base))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := float32(x)*s, float32(y)*s
			for _, b := range base {
				out = append(out, Box{b[0] + sx, b[1] + sy, b[2] + sx, b[3] + sy})
			}
		}
	}
	return out
}

// ValidFlags returns, for level l's grid anchors, whether each anchor's
// position lies inside the unpadded image (valid_h×valid_w feature cells),
// as mmdet's valid_flags.
func (g *AnchorGenerator) ValidFlags(l, h, w int, imgH, imgW int) []bool {
	s := g.opts.Strides[l]
	vh, vw := min(ceilDiv(imgH, s), h), min(ceilDiv(imgW, s), w)
	na := len(g.base[l])
	out := make([]bool, h*w*na)
	for y := 0; y < vh; y++ {
		for x := 0; x < vw; x++ {
			for a := 0; a < na; a++ {
				out[(y*w+x)*na+a] = true
			}
		}
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
