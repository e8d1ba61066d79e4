package roi

import (
	"fmt"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Extractor is mmdet's SingleRoIExtractor: it pools each RoI from the one
// feature level its scale maps to.
type Extractor struct {
	opts    ExtractorOptions
	strides []int
}

// NewExtractor returns an extractor over maps of the given strides (the
// neck's first len(strides) outputs) and channel count.
func NewExtractor(o ExtractorOptions, strides []int, channels int, key string) (*Extractor, error) {
	if err := o.validate(key); err != nil {
		return nil, err
	}
	if len(o.FeatmapStrides) == 0 {
		o.FeatmapStrides = strides[:min(4, len(strides))]
	}
	if len(o.FeatmapStrides) > len(strides) {
		return nil, fmt.Errorf("roi: %s featmap_strides %v: the neck has only %d outputs (strides %v)", key, o.FeatmapStrides, len(strides), strides)
	}
	for i, s := range o.FeatmapStrides {
		if s != strides[i] {
			return nil, fmt.Errorf("roi: %s featmap_strides %v, but the neck's outputs have strides %v", key, o.FeatmapStrides, strides)
		}
	}
	if o.OutChannels == 0 {
		o.OutChannels = channels
	}
	if o.OutChannels != channels {
		return nil, fmt.Errorf("roi: %s out_channels %d, but the neck's maps have %d", key, o.OutChannels, channels)
	}
	return &Extractor{opts: o, strides: o.FeatmapStrides}, nil
}

// OutputSize returns the pooled side.
func (e *Extractor) OutputSize() int { return e.opts.RoILayer.OutputSize }

// Channels returns the pooled feature width.
func (e *Extractor) Channels() int { return e.opts.OutChannels }

// Extract pools rois from feats (the neck's maps; only the first
// len(FeatmapStrides) are read) into [R, C, S, S], in the order of rois.
func (e *Extractor) Extract(feats []*nn.Var, rois []detops.RoI) *nn.Var {
	nl := len(e.strides)
	if len(feats) < nl {
		panic(fmt.Sprintf("roi: Extract: %d feature maps for %d strides", len(feats), nl))
	}
	boxes := make([]detops.Box, len(rois))
	for i, r := range rois {
		boxes[i] = r.Box
	}
	levels := detops.MapRoILevels(boxes, nl, e.opts.FinestScale)
	var parts []*nn.Var
	var index [][]int
	s := e.opts.RoILayer.OutputSize
	for l := 0; l < nl; l++ {
		var idx []int
		var sub []detops.RoI
		for i, lv := range levels {
			if lv == l {
				idx = append(idx, i)
				sub = append(sub, rois[i])
			}
		}
		if len(sub) == 0 {
			continue
		}
		parts = append(parts, detops.RoIAlign(feats[l], sub, detops.RoIAlignOptions{
			OutH: s, OutW: s, SpatialScale: 1 / float32(e.strides[l]),
			SamplingRatio: e.opts.RoILayer.SamplingRatio, Aligned: e.opts.RoILayer.Aligned}))
		index = append(index, idx)
	}
	c := feats[0].Shape()[1]
	return scatterRows(parts, index, []int{len(rois), c, s, s}, feats[0])
}

// scatterRows builds a tensor of the given shape whose rows index[k][j]
// are the rows j of parts[k] (every row is written exactly once). like
// supplies the tape when there are no parts.
func scatterRows(parts []*nn.Var, index [][]int, shape []int, like *nn.Var) *nn.Var {
	if len(parts) == 0 {
		out := nn.Output(shape, like)
		clear(out.Data())
		return out
	}
	out := nn.Output(shape, parts...)
	row := tensor.Numel(shape[1:])
	od := out.Data()
	for k, p := range parts {
		pd := p.Data()
		for j, i := range index[k] {
			copy(od[i*row:(i+1)*row], pd[j*row:(j+1)*row])
		}
	}
	nn.Record("ScatterRows", out, func() {
		g := out.Grad.Data()
		for k, p := range parts {
			pg := nn.GradOf(p)
			if pg == nil {
				continue
			}
			d := pg.Data()
			for j, i := range index[k] {
				dst, src := d[j*row:(j+1)*row], g[i*row:(i+1)*row]
				for t := range dst {
					dst[t] += src[t]
				}
			}
		}
	})
	return out
}

// selectChannels returns x[i, ch[i]] for x of shape [P, C, ...]: shape
// [P, ...], with the gradient flowing back into the selected channels.
func selectChannels(x *nn.Var, ch []int) *nn.Var {
	s := x.Shape()
	if len(ch) != s[0] {
		panic(fmt.Sprintf("roi: selectChannels: %d channels for %v", len(ch), s))
	}
	plane := tensor.Numel(s[2:])
	shape := append([]int{s[0]}, s[2:]...)
	out := nn.Output(shape, x)
	xd, od := x.Data(), out.Data()
	for i, c := range ch {
		if c < 0 || c >= s[1] {
			panic(fmt.Sprintf("roi: selectChannels: channel %d of %d at row %d", c, s[1], i))
		}
		copy(od[i*plane:(i+1)*plane], xd[(i*s[1]+c)*plane:(i*s[1]+c+1)*plane])
	}
	nn.Record("SelectChannels", out, func() {
		gx := nn.GradOf(x)
		if gx == nil {
			return
		}
		g, d := out.Grad.Data(), gx.Data()
		for i, c := range ch {
			dst, src := d[(i*s[1]+c)*plane:(i*s[1]+c+1)*plane], g[i*plane:(i+1)*plane]
			for t := range dst {
				dst[t] += src[t]
			}
		}
	})
	return out
}
