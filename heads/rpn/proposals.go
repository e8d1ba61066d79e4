package rpn

import (
	"cmp"
	"slices"

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
			order := make([]scored, n)
			for k := range order {
				order[k] = scored{logits[(k%na)*hw+k/na], int32(k)}
			}
			topK(order, o.NMSPre)
			if o.NMSPre > 0 && o.NMSPre < n {
				order = order[:o.NMSPre]
			}
			base := h.Anchors.BaseAnchors(l)
			stride := float32(h.Anchors.Strides()[l])
			for _, sk := range order {
				k := int(sk.k)
				p, a := k/na, k%na
				sx, sy := float32(p%sz[1])*stride, float32(p/sz[1])*stride
				b := base[a]
				anchor := detops.Box{b[0] + sx, b[1] + sy, b[2] + sx, b[3] + sy}
				var d [4]float32
				for c := range d {
					d[c] = deltas[(4*a+c)*hw+p]
				}
				boxes = append(boxes, h.Coder.Decode(anchor, d, float32(shape[1]), float32(shape[0])))
				scores = append(scores, sigmoid32(sk.v))
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

// scored is an anchor's objectness logit and index within its level.
type scored struct {
	v float32
	k int32
}

// byScore orders by decreasing logit, then increasing index: the order of
// a stable descending sort, as a total order.
func byScore(a, b scored) int {
	if c := cmp.Compare(b.v, a.v); c != 0 {
		return c
	}
	return cmp.Compare(a.k, b.k)
}

// topK moves the k best of s (by byScore) to its front, sorted; with k <= 0
// or k >= len(s) it sorts all of s. Selection first (quickselect on the
// total order) keeps the cost linear in len(s) for the large lower levels.
func topK(s []scored, k int) {
	if k <= 0 || k >= len(s) {
		slices.SortFunc(s, byScore)
		return
	}
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Median of three as the pivot, then a Lomuto partition.
		mid := lo + (hi-lo)/2
		if byScore(s[mid], s[lo]) < 0 {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if byScore(s[hi], s[lo]) < 0 {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if byScore(s[mid], s[hi]) < 0 {
			s[mid], s[hi] = s[hi], s[mid]
		}
		pivot := s[hi]
		i := lo
		for j := lo; j < hi; j++ {
			if byScore(s[j], pivot) < 0 {
				s[i], s[j] = s[j], s[i]
				i++
			}
		}
		s[i], s[hi] = s[hi], s[i]
		switch {
		case i == k:
			lo = hi
		case i < k:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
	slices.SortFunc(s[:k], byScore)
}
