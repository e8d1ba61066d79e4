package coco

import (
	"fmt"
	"slices"
)

// IoUType selects what is compared: boxes or masks.
type IoUType string

// The evaluated IoU types.
const (
	BBox IoUType = "bbox"
	Segm IoUType = "segm"
)

// Params are COCOeval's evaluation parameters (pycocotools Params.setDetParams).
type Params struct {
	IoUType    IoUType
	ImgIDs     []int64      // images to evaluate; nil: every ground-truth image
	CatIDs     []int64      // categories to evaluate; nil: every ground-truth category
	IoUThrs    []float64    // T IoU thresholds, default .50:.05:.95
	RecThrs    []float64    // R recall thresholds, default 0:.01:1
	MaxDets    []int        // M limits on detections per image, default 1, 10, 100
	AreaRng    [][2]float64 // A area ranges [min, max], both inclusive
	AreaRngLbl []string     // A labels; Summarize looks up "all", "small", "medium", "large"
	UseCats    bool         // false: categories are ignored, as in proposal recall
}

// DefaultParams returns pycocotools' defaults for bbox and segm evaluation.
func DefaultParams(t IoUType) Params {
	return Params{
		IoUType: t,
		// np.linspace(.5, 0.95, 10) and np.linspace(.0, 1.00, 101).
		IoUThrs:    Linspace(.5, .95, 10),
		RecThrs:    Linspace(0, 1, 101),
		MaxDets:    []int{1, 10, 100},
		AreaRng:    [][2]float64{{0, 1e5 * 1e5}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e5 * 1e5}},
		AreaRngLbl: []string{"all", "small", "medium", "large"},
		UseCats:    true,
	}
}

// Linspace returns num evenly spaced numbers from start to stop inclusive,
// bit for bit as numpy's linspace computes them: i·step + start with
// step = (stop-start)/(num-1), and the last value set to stop.
func Linspace(start, stop float64, num int) []float64 {
	out := make([]float64, num)
	if num == 0 {
		return out
	}
	if num == 1 {
		out[0] = start
		return out
	}
	div := float64(num - 1)
	delta := stop - start
	step := delta / div
	for i := range out {
		if step == 0 {
			out[i] = float64(float64(i)/div)*delta + start
		} else {
			// The conversion keeps the product rounded before the sum, as
			// numpy computes it (no fused multiply-add).
			out[i] = float64(float64(i)*step) + start
		}
	}
	out[num-1] = stop
	return out
}

// normalize applies COCOeval.evaluate's clean-up: image and category ids
// sorted and unique (np.unique), maxDets sorted, ids defaulting to the
// ground truth's.
func (p *Params) normalize(gt *Dataset) error {
	if p.IoUType != BBox && p.IoUType != Segm {
		return UnsupportedError(fmt.Sprintf("iou type %q, want bbox or segm", p.IoUType))
	}
	if p.ImgIDs == nil {
		p.ImgIDs = gt.ImageIDs()
	} else {
		p.ImgIDs = slices.Clone(p.ImgIDs)
		slices.Sort(p.ImgIDs)
		p.ImgIDs = slices.Compact(p.ImgIDs)
	}
	if p.CatIDs == nil {
		p.CatIDs = gt.CategoryIDs()
	} else if p.UseCats {
		p.CatIDs = slices.Clone(p.CatIDs)
		slices.Sort(p.CatIDs)
		p.CatIDs = slices.Compact(p.CatIDs)
	}
	if len(p.MaxDets) == 0 {
		return fmt.Errorf("coco: params: MaxDets is empty")
	}
	if len(p.AreaRng) != len(p.AreaRngLbl) {
		return fmt.Errorf("coco: params: %d area ranges but %d labels", len(p.AreaRng), len(p.AreaRngLbl))
	}
	p.MaxDets = slices.Clone(p.MaxDets)
	slices.Sort(p.MaxDets)
	return nil
}
