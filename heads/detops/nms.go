package detops

import (
	"math"
	"sort"
)

// NMS returns the indices of boxes kept by greedy non-maximum suppression,
// in decreasing score order, as torchvision.ops.nms: a box is dropped when
// its IoU with a kept, higher-scoring box exceeds thr. Ties in score keep
// the input order (stable sort).
func NMS(boxes []Box, scores []float32, thr float32) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	suppressed := make([]bool, len(boxes))
	areas := make([]float32, len(boxes))
	for i, b := range boxes {
		areas[i] = b.Area()
	}
	var keep []int
	for oi, i := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, i)
		bi := boxes[i]
		for _, j := range order[oi+1:] {
			if suppressed[j] {
				continue
			}
			bj := boxes[j]
			w := min(bi[2], bj[2]) - max(bi[0], bj[0])
			h := min(bi[3], bj[3]) - max(bi[1], bj[1])
			if w <= 0 || h <= 0 {
				continue
			}
			inter := w * h
			if inter/(areas[i]+areas[j]-inter) > thr {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// BatchedNMS runs NMS independently per class (idxs[i] is box i's class) and
// returns the kept indices over all classes in decreasing score order, as
// mmcv's batched_nms (whose coordinate-offset trick is equivalent).
func BatchedNMS(boxes []Box, scores []float32, idxs []int, thr float32) []int {
	byClass := map[int][]int{}
	var classes []int
	for i, c := range idxs {
		if _, ok := byClass[c]; !ok {
			classes = append(classes, c)
		}
		byClass[c] = append(byClass[c], i)
	}
	var keep []int
	for _, c := range classes {
		members := byClass[c]
		bs := make([]Box, len(members))
		ss := make([]float32, len(members))
		for k, i := range members {
			bs[k], ss[k] = boxes[i], scores[i]
		}
		for _, k := range NMS(bs, ss, thr) {
			keep = append(keep, members[k])
		}
	}
	sort.SliceStable(keep, func(a, b int) bool {
		if scores[keep[a]] != scores[keep[b]] {
			return scores[keep[a]] > scores[keep[b]]
		}
		return keep[a] < keep[b]
	})
	return keep
}

// MapRoILevels assigns each RoI to an FPN level as mmdet's
// SingleRoIExtractor.map_roi_levels:
//
//	level = clamp(floor(log2(sqrt(w·h)/finestScale + 1e-6)), 0, numLevels-1)
func MapRoILevels(rois []Box, numLevels int, finestScale float64) []int {
	out := make([]int, len(rois))
	for i, r := range rois {
		s := math.Sqrt(float64(r[2]-r[0]) * float64(r[3]-r[1]))
		l := int(math.Floor(math.Log2(s/finestScale + 1e-6)))
		out[i] = min(max(l, 0), numLevels-1)
	}
	return out
}
