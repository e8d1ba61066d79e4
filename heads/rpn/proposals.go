package rpn

import (
	"sort"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
)

// Proposals are one image's candidate boxes with their objectness
// (sigmoid) scores, in decreasing score order.
type Proposals struct {
	Boxes  []detops.Box
	Scores []float32
}

// Proposals turns the head's outputs into region proposals per image, as
// mmdet 3.x's RPNHead._predict_by_feat_single and _bbox_post_process: per
// level the o.NMSPre highest-scoring anchors (all when NMSPre <= 0 or the
// level has no more), their deltas decoded and clipped to the unpadded
// image (imgShapes are (height, width)), boxes whose width or height is not
// above o.MinBBoxSize dropped (when it is >= 0), NMS within each level,
// and the o.MaxPerImg best kept. The outputs' values are read only: no
// gradient flows into proposals.
func (h *Head) Proposals(cls, reg []*nn.Var, imgShapes [][2]int, o ProposalOptions) []Proposals {
	sizes := h.levelSizes(cls)
	na := h.Anchors.NumBaseAnchors()
	out := make([]Proposals, len(imgShapes))
	for img, shape := range imgShapes {
		var boxes []detops.Box
		var scores []float32
		var levels []int
		for l, sz := range sizes {
			hw := sz[0] * sz[1]
			logits := cls[l].Data()[img*na*hw : (img+1)*na*hw]
			deltas := reg[l].Data()[img*4*na*hw : (img+1)*4*na*hw]
			// Anchor k = p·A + a (position-major) reads channel a at p.
			n := hw * na
			order := make([]int, n)
			for k := range order {
				order[k] = k
			}
			logit := func(k int) float32 { return logits[(k%na)*hw+k/na] }
			sort.SliceStable(order, func(i, j int) bool { return logit(order[i]) > logit(order[j]) })
			if o.NMSPre > 0 && o.NMSPre < n {
				order = order[:o.NMSPre]
			}
			base := h.Anchors.BaseAnchors(l)
			stride := float32(h.Anchors.Strides()[l])
			for _, k := range order {
				p, a := k/na, k%na
				sx, sy := float32(p%sz[1])*stride, float32(p/sz[1])*stride
				b := base[a]
				anchor := detops.Box{b[0] + sx, b[1] + sy, b[2] + sx, b[3] + sy}
				var d [4]float32
				for c := range d {
					d[c] = deltas[(4*a+c)*hw+p]
				}
				boxes = append(boxes, h.Coder.Decode(anchor, d, float32(shape[1]), float32(shape[0])))
				scores = append(scores, sigmoid32(logit(k)))
				levels = append(levels, l)
			}
		}
		if o.MinBBoxSize >= 0 {
			m := float32(o.MinBBoxSize)
			j := 0
			for i, b := range boxes {
				if b[2]-b[0] > m && b[3]-b[1] > m {
					boxes[j], scores[j], levels[j] = boxes[i], scores[i], levels[i]
					j++
				}
			}
			boxes, scores, levels = boxes[:j], scores[:j], levels[:j]
		}
		keep := detops.BatchedNMS(boxes, scores, levels, float32(o.NMS.IoUThreshold))
		if len(keep) > o.MaxPerImg {
			keep = keep[:o.MaxPerImg]
		}
		p := Proposals{Boxes: make([]detops.Box, len(keep)), Scores: make([]float32, len(keep))}
		for i, k := range keep {
			p.Boxes[i], p.Scores[i] = boxes[k], scores[k]
		}
		out[img] = p
	}
	return out
}
