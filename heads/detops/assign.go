package detops

import "github.com/densepred/dp/tensor"

// MaxIoUOptions configure MaxIoUAssigner (mmdet's names and defaults).
type MaxIoUOptions struct {
	PosIoUThr       float64 `yaml:"pos_iou_thr"`
	NegIoUThr       float64 `yaml:"neg_iou_thr"`
	MinPosIoU       float64 `yaml:"min_pos_iou"`
	MatchLowQuality bool    `yaml:"match_low_quality"`
	GTMaxAssignAll  bool    `yaml:"gt_max_assign_all"` // default true
	IgnoreIoFThr    float64 `yaml:"ignore_iof_thr"`    // default -1 (off)
}

// Assignment says, for each box, which ground truth it is assigned to:
// GT[i] = -1 ignore, 0 negative (background), k > 0 the (k-1)-th gt.
// MaxOverlap is the box's best IoU with any gt.
type Assignment struct {
	GT         []int
	MaxOverlap []float32
}

// AssignMaxIoU assigns boxes to gts as mmdet's MaxIoUAssigner.assign, step by
// step: all boxes start ignored (-1); boxes whose best IoU is in [0, neg)
// become negatives; boxes whose best IoU ≥ pos take their best gt; with
// low-quality matching, each gt whose best IoU ≥ min_pos_iou also takes the
// boxes that reach that best IoU (all of them with gt_max_assign_all), later
// gts overwriting earlier ones. Boxes overlapping an ignore region (IoF above
// the threshold) are ignored.
func AssignMaxIoU(boxes, gts []Box, ignore []Box, o MaxIoUOptions) Assignment {
	n := len(boxes)
	a := Assignment{GT: make([]int, n), MaxOverlap: make([]float32, n)}
	for i := range a.GT {
		a.GT[i] = -1
	}
	if len(gts) == 0 {
		for i := range a.GT {
			a.GT[i] = 0
		}
		return a
	}
	ov := Overlaps(gts, boxes, IoU) // gts × boxes
	argmax := make([]int, n)
	for j := 0; j < n; j++ {
		best, arg := float32(-1), 0
		for i := range gts {
			// first maximum wins, as torch.max
			if v := ov[i*n+j]; v > best {
				best, arg = v, i
			}
		}
		a.MaxOverlap[j], argmax[j] = best, arg
	}
	if o.IgnoreIoFThr > 0 && len(ignore) > 0 {
		iof := Overlaps(boxes, ignore, IoF)
		for j := 0; j < n; j++ {
			for k := range ignore {
				if float64(iof[j*len(ignore)+k]) > o.IgnoreIoFThr {
					a.MaxOverlap[j] = -1
					break
				}
			}
		}
	}
	for j := 0; j < n; j++ {
		if v := float64(a.MaxOverlap[j]); v >= 0 && v < o.NegIoUThr {
			a.GT[j] = 0
		}
	}
	for j := 0; j < n; j++ {
		if float64(a.MaxOverlap[j]) >= o.PosIoUThr {
			a.GT[j] = argmax[j] + 1
		}
	}
	if o.MatchLowQuality {
		for i := range gts {
			row := ov[i*n : (i+1)*n]
			best, arg := float32(-1), 0
			for j, v := range row {
				if v > best {
					best, arg = v, j
				}
			}
			if float64(best) < o.MinPosIoU {
				continue
			}
			if o.GTMaxAssignAll {
				for j, v := range row {
					if v == best {
						a.GT[j] = i + 1
					}
				}
			} else {
				a.GT[arg] = i + 1
			}
		}
	}
	return a
}

// SamplerOptions configure RandomSampler (mmdet's names).
type SamplerOptions struct {
	Num              int     `yaml:"num"`
	PosFraction      float64 `yaml:"pos_fraction"`
	NegPosUB         float64 `yaml:"neg_pos_ub"` // -1: no bound
	AddGTAsProposals bool    `yaml:"add_gt_as_proposals"`
}

// SampleRandom picks at most Num·PosFraction positives (GT > 0) and fills up
// to Num with negatives (GT == 0), uniformly at random without replacement,
// as mmdet's RandomSampler. It returns the indices of each, in random order.
func SampleRandom(gt []int, o SamplerOptions, rng *tensor.RNG) (pos, neg []int) {
	for i, g := range gt {
		if g > 0 {
			pos = append(pos, i)
		} else if g == 0 {
			neg = append(neg, i)
		}
	}
	numPos := int(float64(o.Num) * o.PosFraction)
	pos = choose(pos, numPos, rng)
	numNeg := o.Num - len(pos)
	if o.NegPosUB >= 0 {
		ub := int(o.NegPosUB * float64(max(1, len(pos))))
		numNeg = min(numNeg, ub)
	}
	neg = choose(neg, numNeg, rng)
	return pos, neg
}

// choose returns k random elements of idx (all of them, shuffled, if fewer).
func choose(idx []int, k int, rng *tensor.RNG) []int {
	if k >= len(idx) {
		k = len(idx)
	}
	perm := rng.Perm(len(idx))
	out := make([]int, k)
	for i := 0; i < k; i++ {
		out[i] = idx[perm[i]]
	}
	return out
}
