package detops

import "math"

// Box is an axis-aligned box [x1, y1, x2, y2].
type Box [4]float32

// Area returns (x2-x1)·(y2-y1), which is negative for an inverted box as in
// mmdet (callers drop degenerate boxes beforehand).
func (b Box) Area() float32 { return (b[2] - b[0]) * (b[3] - b[1]) }

// IoUMode selects the overlap measure of Overlaps.
type IoUMode int

const (
	// IoU is intersection over union.
	IoU IoUMode = iota
	// IoF is intersection over the first box's area (mmdet's "iof", used for
	// crowd and ignore regions).
	IoF
)

// Overlaps returns the m×n matrix of overlaps between a (m boxes) and b
// (n boxes), row-major, as mmdet's bbox_overlaps (eps 1e-6 guards the
// division):
//
//	iou = inter / max(area_a + area_b - inter, eps)
func Overlaps(a, b []Box, mode IoUMode) []float32 {
	out := make([]float32, len(a)*len(b))
	const eps = 1e-6
	for i, x := range a {
		ax := x.Area()
		row := out[i*len(b) : (i+1)*len(b)]
		for j, y := range b {
			w := min(x[2], y[2]) - max(x[0], y[0])
			h := min(x[3], y[3]) - max(x[1], y[1])
			if w <= 0 || h <= 0 {
				row[j] = 0
				continue
			}
			inter := w * h
			union := ax
			if mode == IoU {
				union = ax + y.Area() - inter
			}
			row[j] = inter / max(union, eps)
		}
	}
	return out
}

// Clip clamps b to an image of width w and height h.
func (b Box) Clip(w, h float32) Box {
	return Box{clamp(b[0], 0, w), clamp(b[1], 0, h), clamp(b[2], 0, w), clamp(b[3], 0, h)}
}

func clamp(v, lo, hi float32) float32 {
	return float32(math.Min(math.Max(float64(v), float64(lo)), float64(hi)))
}
