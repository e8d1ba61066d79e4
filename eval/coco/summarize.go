package coco

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/densepred/dp/eval/internal/numpy"
)

// Summarize computes the 12 standard numbers from the accumulated arrays
// (COCOeval.summarize), stores them in Stats and returns them: AP at IoU
// .50:.95, .50 and .75; AP for small, medium and large objects; AR with 1,
// 10 and 100 detections per image; AR for small, medium and large objects.
// Each is the mean of the array entries above -1 for that setting, -1 if
// there are none. As in pycocotools, stats[0] uses maxDets = 100 whatever
// Params.MaxDets holds, the others MaxDets[2] (or [0], [1]), so Params needs
// at least three MaxDets. It panics if Accumulate has not run.
func (e *Eval) Summarize() []float64 {
	lines := e.summary()
	e.Stats = make([]float64, len(lines))
	for i, l := range lines {
		e.Stats[i] = l.value
	}
	return e.Stats
}

// WriteSummary writes the 12 summary lines exactly as pycocotools prints
// them, e.g.
//
//	Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505
func (e *Eval) WriteSummary(w io.Writer) error {
	var sb strings.Builder
	for _, l := range e.summary() {
		sb.WriteString(l.String())
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// summaryLine is one call of COCOeval.summarize's _summarize.
type summaryLine struct {
	ap      bool
	iouThr  float64 // NaN: all thresholds
	areaRng string
	maxDets int
	iouStr  string
	value   float64
}

func (l summaryLine) String() string {
	title, typ := "Average Recall", "(AR)"
	if l.ap {
		title, typ = "Average Precision", "(AP)"
	}
	return fmt.Sprintf(" %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f", title, typ, l.iouStr, l.areaRng, l.maxDets, l.value)
}

func (e *Eval) summary() []summaryLine {
	if e.Precision == nil {
		panic(errNoAccumulate)
	}
	md := e.Params.MaxDets
	if len(md) < 3 {
		panic("coco: Summarize needs at least three MaxDets, as pycocotools does")
	}
	all := math.NaN()
	lines := []summaryLine{
		{ap: true, iouThr: all, areaRng: "all", maxDets: 100},
		{ap: true, iouThr: .5, areaRng: "all", maxDets: md[2]},
		{ap: true, iouThr: .75, areaRng: "all", maxDets: md[2]},
		{ap: true, iouThr: all, areaRng: "small", maxDets: md[2]},
		{ap: true, iouThr: all, areaRng: "medium", maxDets: md[2]},
		{ap: true, iouThr: all, areaRng: "large", maxDets: md[2]},
		{iouThr: all, areaRng: "all", maxDets: md[0]},
		{iouThr: all, areaRng: "all", maxDets: md[1]},
		{iouThr: all, areaRng: "all", maxDets: md[2]},
		{iouThr: all, areaRng: "small", maxDets: md[2]},
		{iouThr: all, areaRng: "medium", maxDets: md[2]},
		{iouThr: all, areaRng: "large", maxDets: md[2]},
	}
	for i := range lines {
		e.summarizeOne(&lines[i])
	}
	return lines
}

// summarizeOne is _summarize: select the entries of one setting in numpy's
// row-major order and average those above -1.
func (e *Eval) summarizeOne(l *summaryLine) {
	p := &e.Params
	_, R, K, A, M := e.Dims()
	if math.IsNaN(l.iouThr) {
		l.iouStr = fmt.Sprintf("%0.2f:%0.2f", p.IoUThrs[0], p.IoUThrs[len(p.IoUThrs)-1])
	} else {
		l.iouStr = fmt.Sprintf("%0.2f", l.iouThr)
	}
	var ts []int
	for t, thr := range p.IoUThrs {
		// np.where(iouThr == p.iouThrs): exact equality.
		if math.IsNaN(l.iouThr) || thr == l.iouThr {
			ts = append(ts, t)
		}
	}
	var aind, mind []int
	for a, lbl := range p.AreaRngLbl {
		if lbl == l.areaRng {
			aind = append(aind, a)
		}
	}
	for m, v := range p.MaxDets {
		if v == l.maxDets {
			mind = append(mind, m)
		}
	}
	pairs := indexPairs(aind, mind)
	sel := make([]float64, 0, len(ts)*R*K*len(pairs))
	for _, t := range ts {
		if l.ap {
			for r := range R {
				for k := range K {
					for _, am := range pairs {
						sel = appendValid(sel, e.Precision[(((t*R+r)*K+k)*A+am[0])*M+am[1]])
					}
				}
			}
		} else {
			for k := range K {
				for _, am := range pairs {
					sel = appendValid(sel, e.Recall[((t*K+k)*A+am[0])*M+am[1]])
				}
			}
		}
	}
	if len(sel) == 0 {
		l.value = -1
		return
	}
	l.value = npMean(sel)
}

func appendValid(s []float64, v float64) []float64 {
	if v > -1 {
		return append(s, v)
	}
	return s
}

// indexPairs pairs the area and maxDets indices as numpy's advanced
// indexing s[..., aind, mind] does: element-wise, a single index broadcast
// against the other list. Lists of other unequal lengths, which numpy
// rejects, select nothing.
func indexPairs(aind, mind []int) [][2]int {
	var out [][2]int
	switch {
	case len(aind) == len(mind):
		for i := range aind {
			out = append(out, [2]int{aind[i], mind[i]})
		}
	case len(aind) == 1:
		for _, m := range mind {
			out = append(out, [2]int{aind[0], m})
		}
	case len(mind) == 1:
		for _, a := range aind {
			out = append(out, [2]int{a, mind[0]})
		}
	}
	return out
}

// npMean is np.mean of a float64 vector, bit for bit: numpy's add.reduce
// sums the data in blocks of 8192 (its buffer size), each block by pairwise
// summation, adding the block sums in order, then divides by the count.
func npMean(x []float64) float64 {
	const block = 8192
	var s float64
	for i := 0; i < len(x); i += block {
		s += numpy.PairwiseSum(x[i:min(i+block, len(x))])
	}
	return s / float64(len(x))
}

// CategoryAP is the AP of one category.
type CategoryAP struct {
	ID   int64
	Name string
	AP   float64 // NaN if the category has no ground truth
}

// PerCategoryAP returns the AP of every evaluated category, as mmdet's
// CocoMetric prints with classwise=True: the mean of the precision entries
// above -1 over all IoU and recall thresholds, at the first area range
// ("all") and the last MaxDets. It panics if Accumulate has not run or
// UseCats is false.
func (e *Eval) PerCategoryAP() []CategoryAP {
	if e.Precision == nil {
		panic(errNoAccumulate)
	}
	if !e.Params.UseCats {
		panic("coco: PerCategoryAP needs UseCats")
	}
	names := make(map[int64]string, len(e.gt.Categories))
	for _, c := range e.gt.Categories {
		names[c.ID] = c.Name
	}
	T, R, K, A, M := e.Dims()
	out := make([]CategoryAP, K)
	for k, id := range e.Params.CatIDs {
		var sel []float64
		for t := range T {
			for r := range R {
				sel = appendValid(sel, e.Precision[(((t*R+r)*K+k)*A+0)*M+M-1])
			}
		}
		ap := math.NaN()
		if len(sel) > 0 {
			ap = npMean(sel)
		}
		out[k] = CategoryAP{ID: id, Name: names[id], AP: ap}
	}
	return out
}
