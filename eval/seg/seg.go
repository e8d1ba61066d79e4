package seg

import (
	"fmt"
	"math"

	"github.com/densepred/dp/eval/internal/numpy"
)

// Metric accumulates the intersection, prediction and label areas of every
// class over a dataset. The zero value is not usable; create one with New.
// A Metric is not safe for concurrent use: give each goroutine its own and
// Merge them (the totals are integers, so the order does not matter).
type Metric struct {
	NumClasses      int
	IgnoreIndex     int  // label value left out of every count (mmseg default 255)
	ReduceZeroLabel bool // labels: 0 becomes 255 and every other value v becomes v-1 (ADE20K)

	intersect, pred, label []int64
}

// New returns a Metric for numClasses classes; it panics if numClasses < 1.
func New(numClasses, ignoreIndex int, reduceZeroLabel bool) *Metric {
	if numClasses < 1 {
		panic("seg: number of classes must be at least 1")
	}
	return &Metric{
		NumClasses: numClasses, IgnoreIndex: ignoreIndex, ReduceZeroLabel: reduceZeroLabel,
		intersect: make([]int64, numClasses),
		pred:      make([]int64, numClasses),
		label:     make([]int64, numClasses),
	}
}

// AddUint8 adds one image given as prediction and label maps of the same
// size (any layout, as long as both agree). It returns an error if their
// lengths differ.
func (m *Metric) AddUint8(pred, label []uint8) error {
	if len(pred) != len(label) {
		return fmt.Errorf("seg: prediction has %d pixels, label %d", len(pred), len(label))
	}
	for i, l := range label {
		m.add(int(pred[i]), int(l))
	}
	return nil
}

// Add is AddUint8 for maps with wider values, such as 16-bit label PNGs.
func (m *Metric) Add(pred, label []int32) error {
	if len(pred) != len(label) {
		return fmt.Errorf("seg: prediction has %d pixels, label %d", len(pred), len(label))
	}
	for i, l := range label {
		m.add(int(pred[i]), int(l))
	}
	return nil
}

func (m *Metric) add(p, l int) {
	if m.ReduceZeroLabel {
		// mmseg's reduce_zero_label on uint8 labels: 0 -> 255, v -> v-1,
		// and 255 (which became 254) back to 255.
		switch l {
		case 0, 255:
			l = 255
		default:
			l--
		}
	}
	if l == m.IgnoreIndex {
		return
	}
	c := m.NumClasses
	if p >= 0 && p < c {
		m.pred[p]++
		if p == l {
			m.intersect[p]++
		}
	}
	if l >= 0 && l < c {
		m.label[l]++
	}
}

// Merge adds the totals of o, which must have the same number of classes.
func (m *Metric) Merge(o *Metric) {
	if o.NumClasses != m.NumClasses {
		panic("seg: Merge of metrics with different numbers of classes")
	}
	for c := range m.intersect {
		m.intersect[c] += o.intersect[c]
		m.pred[c] += o.pred[c]
		m.label[c] += o.label[c]
	}
}

// Result holds the dataset-level metrics as fractions in [0, 1].
type Result struct {
	AAcc float64   // pixel accuracy over the labelled pixels; NaN without any
	MIoU float64   // mean IoU over the classes whose IoU is defined
	MAcc float64   // mean accuracy over the classes present in the labels
	IoU  []float64 // per class; NaN if the class is neither predicted nor labelled
	Acc  []float64 // per class; NaN if the class is not labelled

	Intersect, Union, Pred, Label []int64 // per-class pixel counts
}

// Result computes the metrics from the totals so far.
func (m *Metric) Result() Result {
	C := m.NumClasses
	r := Result{
		IoU: make([]float64, C), Acc: make([]float64, C),
		Intersect: append([]int64(nil), m.intersect...),
		Pred:      append([]int64(nil), m.pred...),
		Label:     append([]int64(nil), m.label...),
		Union:     make([]int64, C),
	}
	var si, sl int64
	for c := range C {
		r.Union[c] = m.pred[c] + m.label[c] - m.intersect[c]
		r.IoU[c] = ratio(m.intersect[c], r.Union[c])
		r.Acc[c] = ratio(m.intersect[c], m.label[c])
		si += m.intersect[c]
		sl += m.label[c]
	}
	r.AAcc = ratio(si, sl)
	r.MIoU = nanMean(r.IoU)
	r.MAcc = nanMean(r.Acc)
	return r
}

// ratio is a/b, NaN for 0/0 as numpy's true_divide gives.
func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// nanMean is np.nanmean: NaNs are replaced by zeros, the array summed
// (pairwise, as numpy does), and the sum divided by the number of non-NaN
// values; NaN if there are none.
func nanMean(x []float64) float64 {
	z := make([]float64, len(x))
	n := 0
	for i, v := range x {
		if !math.IsNaN(v) {
			z[i] = v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return numpy.PairwiseSum(z) / float64(n)
}
