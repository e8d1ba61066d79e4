package voc

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/densepred/dp/eval/internal/numpy"
)

// Detection is one predicted box of class Class in image Image.
type Detection struct {
	Image, Class int
	Box          [4]float64 // x1, y1, x2, y2
	Score        float64
}

// GroundTruth is one annotated box; difficult boxes are neither required
// nor penalised.
type GroundTruth struct {
	Image, Class int
	Box          [4]float64 // x1, y1, x2, y2
	Difficult    bool
}

// Mode selects how AP integrates the precision/recall curve.
type Mode int

// The AP modes.
const (
	Area        Mode = iota // VOC2010 and later: area under the precision envelope
	ElevenPoint             // VOC2007: mean of the envelope at recall 0, 0.1, ..., 1
)

// Options configure Evaluate.
type Options struct {
	IoUThr            float64 // match threshold, VOCMetric default 0.5
	Mode              Mode
	LegacyCoordinates bool // count box widths and heights as x2 - x1 + 1 (VOC devkit, VOCMetric)
}

// VOC2007 returns VOCMetric's defaults: IoU 0.5, 11-point AP, +1 widths.
func VOC2007() Options { return Options{IoUThr: 0.5, Mode: ElevenPoint, LegacyCoordinates: true} }

// VOC2012 is VOC2007 with area AP.
func VOC2012() Options { return Options{IoUThr: 0.5, Mode: Area, LegacyCoordinates: true} }

// ClassResult is the evaluation of one class.
type ClassResult struct {
	NumGTs    int       // ground truths that are not difficult
	NumDets   int       // detections
	Recall    []float64 // after each detection, by descending score
	Precision []float64 // likewise (float32 values)
	AP        float64   // a float32 value
}

// Evaluate returns the mAP over the classes 0..numClasses-1 that have
// ground truth (0 if none has) and every class's result. Detections or
// ground truths with a class outside that range are an error.
func Evaluate(numClasses int, dets []Detection, gts []GroundTruth, opt Options) (float64, []ClassResult, error) {
	for i, d := range dets {
		if d.Class < 0 || d.Class >= numClasses {
			return 0, nil, fmt.Errorf("voc: detection %d has class %d, want 0..%d", i, d.Class, numClasses-1)
		}
	}
	for i, g := range gts {
		if g.Class < 0 || g.Class >= numClasses {
			return 0, nil, fmt.Errorf("voc: ground truth %d has class %d, want 0..%d", i, g.Class, numClasses-1)
		}
	}
	// Group by class, then image, keeping input order within a group.
	dIdx := make([]int, len(dets))
	for i := range dIdx {
		dIdx[i] = i
	}
	slices.SortStableFunc(dIdx, func(a, b int) int {
		return cmp.Or(cmp.Compare(dets[a].Class, dets[b].Class), cmp.Compare(dets[a].Image, dets[b].Image))
	})
	gIdx := make([]int, len(gts))
	for i := range gIdx {
		gIdx[i] = i
	}
	slices.SortStableFunc(gIdx, func(a, b int) int {
		return cmp.Or(cmp.Compare(gts[a].Class, gts[b].Class), cmp.Compare(gts[a].Image, gts[b].Image))
	})
	results := make([]ClassResult, numClasses)
	var aps []float32
	for c := range numClasses {
		cd, cg := classSlice(dIdx, func(i int) int { return dets[i].Class }, c), classSlice(gIdx, func(i int) int { return gts[i].Class }, c)
		dIdx, gIdx = dIdx[len(cd):], gIdx[len(cg):]
		results[c] = evalClass(dets, gts, cd, cg, opt)
		if results[c].NumGTs > 0 {
			aps = append(aps, float32(results[c].AP))
		}
	}
	if len(aps) == 0 {
		return 0, results, nil
	}
	// np.array(aps).mean(): a float32 pairwise sum divided in float32.
	return float64(numpy.PairwiseSum(aps) / float32(len(aps))), results, nil
}

// classSlice returns the leading run of idx whose class is c.
func classSlice(idx []int, class func(int) int, c int) []int {
	n := 0
	for n < len(idx) && class(idx[n]) == c {
		n++
	}
	return idx[:n]
}

// evalClass is tpfp_default on every image followed by eval_map's
// accumulation for one class. cd and cg index dets and gts, grouped by image.
func evalClass(dets []Detection, gts []GroundTruth, cd, cg []int, opt Options) ClassResult {
	var extra float32
	if opt.LegacyCoordinates {
		extra = 1
	}
	thr := float32(opt.IoUThr) // numpy compares the float32 IoUs with the threshold cast to float32
	all := cd
	tp := make([]bool, len(cd))
	fp := make([]bool, len(cd))
	numGTs := 0
	for _, i := range cg {
		if !gts[i].Difficult {
			numGTs++
		}
	}
	// Walk the images present in either list.
	for len(cd) > 0 || len(cg) > 0 {
		img := math.MaxInt
		if len(cd) > 0 {
			img = dets[cd[0]].Image
		}
		if len(cg) > 0 {
			img = min(img, gts[cg[0]].Image)
		}
		nd, ng := 0, 0
		for nd < len(cd) && dets[cd[nd]].Image == img {
			nd++
		}
		for ng < len(cg) && gts[cg[ng]].Image == img {
			ng++
		}
		off := len(tp) - len(cd)
		tpfp(dets, gts, cd[:nd], cg[:ng], tp[off:off+nd], fp[off:off+nd], thr, extra)
		cd, cg = cd[nd:], cg[ng:]
	}
	scores := make([]float64, 0, len(tp))
	for _, i := range all {
		scores = append(scores, dets[i].Score)
	}
	return accumulate(tp, fp, scores, numGTs, opt.Mode)
}

// tpfp marks the detections of one image and class (tpfp_default): the
// ground truths are the non-difficult ones followed by the difficult ones.
func tpfp(dets []Detection, gts []GroundTruth, di, gi []int, tp, fp []bool, thr, extra float32) {
	var boxes [][4]float32
	var ignored []bool
	for _, difficult := range []bool{false, true} {
		for _, i := range gi {
			if gts[i].Difficult == difficult {
				boxes = append(boxes, box32(gts[i].Box))
				ignored = append(ignored, difficult)
			}
		}
	}
	if len(boxes) == 0 {
		for d := range fp {
			fp[d] = true
		}
		return
	}
	// Detections by descending score; the first takes a ground truth.
	order := make([]int, len(di))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dets[di[b]].Score, dets[di[a]].Score) })
	covered := make([]bool, len(boxes))
	for _, d := range order {
		db := box32(dets[di[d]].Box)
		best, arg := float32(0), 0
		for g, gb := range boxes {
			if v := iou32(db, gb, extra); g == 0 || v > best {
				best, arg = v, g
			}
		}
		switch {
		case best < thr:
			fp[d] = true
		case ignored[arg]:
			// Matched a difficult box: neither.
		case !covered[arg]:
			covered[arg] = true
			tp[d] = true
		default:
			fp[d] = true
		}
	}
}

func box32(b [4]float64) [4]float32 {
	return [4]float32{float32(b[0]), float32(b[1]), float32(b[2]), float32(b[3])}
}

// iou32 is mmdet's bbox_overlaps for one pair, in float32. The float32
// conversions round every product before it is added, as numpy does.
func iou32(a, b [4]float32, extra float32) float32 {
	area1 := float32((a[2] - a[0] + extra) * (a[3] - a[1] + extra))
	area2 := float32((b[2] - b[0] + extra) * (b[3] - b[1] + extra))
	w := max(min(a[2], b[2])-max(a[0], b[0])+extra, 0)
	h := max(min(a[3], b[3])-max(a[1], b[1])+extra, 0)
	overlap := float32(w * h)
	union := max(area1+area2-overlap, float32(1e-6))
	return overlap / union
}

// eps32 is np.finfo(np.float32).eps.
const eps32 = float32(1.1920928955078125e-07)

// accumulate sorts the detections' outcomes by descending score (ties in
// input order) and integrates the precision/recall curve (eval_map and
// average_precision).
func accumulate(tp, fp []bool, scores []float64, numGTs int, mode Mode) ClassResult {
	n := len(tp)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	r := ClassResult{NumGTs: numGTs, NumDets: n, Recall: make([]float64, n), Precision: make([]float64, n)}
	// Cumulative counts are float32 in mmdet; recall divides them by
	// max(num_gts, eps) in float64, precision by max(tp+fp, eps) in float32.
	den := math.Max(float64(numGTs), float64(eps32))
	var ctp, cfp float32
	for i, o := range order {
		if tp[o] {
			ctp++
		}
		if fp[o] {
			cfp++
		}
		r.Recall[i] = float64(ctp) / den
		r.Precision[i] = float64(ctp / max(ctp+cfp, eps32))
	}
	var ap float32
	switch mode {
	case Area:
		// Sentinels (recall 0 and 1, precision 0 and 0), the envelope from
		// the right, then Σ Δrecall · precision where recall changes.
		mrec := append(append([]float64{0}, r.Recall...), 1)
		mpre := append(append([]float64{0}, r.Precision...), 0)
		for i := len(mpre) - 1; i > 0; i-- {
			mpre[i-1] = max(mpre[i-1], mpre[i])
		}
		var terms []float64
		for i := 0; i+1 < len(mrec); i++ {
			if mrec[i+1] != mrec[i] {
				terms = append(terms, float64((mrec[i+1]-mrec[i])*mpre[i+1]))
			}
		}
		ap = float32(sum64(terms))
	case ElevenPoint:
		for k := range 11 {
			thr := float64(k) * 0.1 // np.arange(0, 1 + 1e-3, 0.1)
			var best float32
			for i, rc := range r.Recall {
				if rc >= thr {
					best = max(best, float32(r.Precision[i]))
				}
			}
			ap += best
		}
		ap /= 11
	}
	r.AP = float64(ap)
	return r
}

// sum64 is np.sum of a float64 vector: pairwise sums of 8192-value blocks.
func sum64(x []float64) float64 {
	var s float64
	for i := 0; i < len(x); i += 8192 {
		s += numpy.PairwiseSum(x[i:min(i+8192, len(x))])
	}
	return s
}
