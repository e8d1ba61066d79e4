package coco

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/densepred/dp/eval/mask"
)

// Eval evaluates detections against ground truth the way pycocotools'
// COCOeval does. Call Evaluate, then Accumulate, then Summarize (or read the
// arrays); an Eval is not safe for concurrent use, but Evaluate and
// Accumulate spread their work over GOMAXPROCS goroutines and give the same
// result, to the bit, for any number of them.
type Eval struct {
	// Params are the evaluation parameters; Evaluate sorts and fills them in
	// as COCOeval.evaluate does (ids sorted and unique, MaxDets sorted).
	Params Params

	// Precision holds the interpolated precision of every setting, a
	// T×R×K×A×M array in row-major order (IoU threshold, recall threshold,
	// category, area range, maxDets), -1 where a category has no ground truth
	// in that area range; see At. Set by Accumulate.
	Precision []float64
	// Recall holds the final recall of every setting, T×K×A×M, -1 where a
	// category has no ground truth. Set by Accumulate.
	Recall []float64
	// Scores holds the detection score at which each recall threshold is
	// reached, T×R×K×A×M, 0 beyond the final recall and -1 without ground
	// truth. Set by Accumulate.
	Scores []float64
	// Stats are the 12 numbers Summarize computes: AP, AP50, AP75, APsmall,
	// APmedium, APlarge, AR1, AR10, AR100, ARsmall, ARmedium, ARlarge.
	Stats []float64

	gt *Dataset
	dt []Annotation

	// evalImgs[k] lists, in image order, the evaluations of category k
	// (of the single pooled category when UseCats is false) on the images
	// where it has ground truth or detections. Set by Evaluate.
	evalImgs [][]*imgEval
}

// imgEval is COCOeval.evaluateImg's result for one (image, category) pair
// at every area range, reduced to what accumulate reads.
type imgEval struct {
	// scores of the detections in score order, at most MaxDets[M-1] of them.
	scores []float64
	// state[(d*A+a)*T+t] is the outcome of detection d at area range a and
	// IoU threshold t: stateFP, stateTP or stateIgnored.
	state []uint8
	// npig[a] counts the ground truths not ignored at area range a.
	npig []int
}

const (
	stateFP      = 0 // unmatched (or matched to a ground truth whose id is 0) and not ignored
	stateTP      = 1 // matched to a ground truth that is not ignored
	stateIgnored = 2 // matched to an ignored ground truth, or unmatched and outside the area range
)

// NewEval prepares the evaluation of the detections dt (as returned by
// LoadResults or Results) against gt with parameters p.
func NewEval(gt *Dataset, dt []Annotation, p Params) *Eval {
	return &Eval{Params: p, gt: gt, dt: dt}
}

// Dims returns the sizes T, R, K, A, M of the result arrays.
func (e *Eval) Dims() (T, R, K, A, M int) {
	p := &e.Params
	K = 1
	if p.UseCats {
		K = len(p.CatIDs)
	}
	return len(p.IoUThrs), len(p.RecThrs), K, len(p.AreaRng), len(p.MaxDets)
}

// At returns Precision[t, r, k, a, m].
func (e *Eval) At(t, r, k, a, m int) float64 {
	_, R, K, A, M := e.Dims()
	return e.Precision[(((t*R+r)*K+k)*A+a)*M+m]
}

// RecallAt returns Recall[t, k, a, m].
func (e *Eval) RecallAt(t, k, a, m int) float64 {
	_, _, K, A, M := e.Dims()
	return e.Recall[((t*K+k)*A+a)*M+m]
}

// Evaluate matches detections to ground truth on every image
// (COCOeval.evaluate and evaluateImg). It fails if an annotation lacks the
// box or mask the IoU type needs, or a mask is malformed.
func (e *Eval) Evaluate() error {
	p := &e.Params
	if err := p.normalize(e.gt); err != nil {
		return err
	}
	e.Precision, e.Recall, e.Scores, e.Stats = nil, nil, nil, nil
	e.gt.index() // read by every worker; built here, before they start
	imgPos := make(map[int64]int, len(p.ImgIDs))
	for i, id := range p.ImgIDs {
		imgPos[id] = i
	}
	// catPos maps a category id to its index k; with UseCats false, to its
	// position in CatIDs, the order computeIoU concatenates categories in.
	catPos := make(map[int64]int, len(p.CatIDs))
	for k, id := range p.CatIDs {
		if _, ok := catPos[id]; !ok {
			catPos[id] = k
		}
	}
	gtByImg := groupByImage(e.gt.Annotations, imgPos, catPos, len(p.ImgIDs))
	dtByImg := groupByImage(e.dt, imgPos, catPos, len(p.ImgIDs))

	perImg := make([][]catEval, len(p.ImgIDs))
	errs := make([]error, len(p.ImgIDs))
	parallelFor(len(p.ImgIDs), func(w *worker, i int) {
		perImg[i], errs[i] = e.evaluateImage(w, p.ImgIDs[i], gtByImg[i], dtByImg[i], catPos)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	_, _, K, _, _ := e.Dims()
	e.evalImgs = make([][]*imgEval, K)
	for _, ces := range perImg {
		for _, ce := range ces {
			e.evalImgs[ce.k] = append(e.evalImgs[ce.k], ce.ev)
		}
	}
	return nil
}

type catEval struct {
	k  int
	ev *imgEval
}

// groupByImage returns, for every evaluated image, the indices of its
// annotations whose category is evaluated, in file order (COCO.getAnnIds).
func groupByImage(anns []Annotation, imgPos, catPos map[int64]int, n int) [][]int32 {
	counts := make([]int32, n+1)
	pos := make([]int32, len(anns))
	for j := range anns {
		pos[j] = -1
		i, ok := imgPos[anns[j].ImageID]
		if !ok {
			continue
		}
		if _, ok := catPos[anns[j].CategoryID]; !ok {
			continue
		}
		pos[j] = int32(i)
		counts[i+1]++
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	flat := make([]int32, counts[n])
	fill := slices.Clone(counts[:n])
	for j, i := range pos {
		if i >= 0 {
			flat[fill[i]] = int32(j)
			fill[i]++
		}
	}
	out := make([][]int32, n)
	for i := range out {
		out[i] = flat[counts[i]:counts[i+1]:counts[i+1]]
	}
	return out
}

// worker holds one goroutine's scratch buffers, reused across images.
type worker struct {
	ious    []float64
	gtIg    []bool
	crowd   []bool
	gtOrder []int
	gtm     []int64 // matched detection id per ground truth (gtMatches)
	dtm     []int64 // matched ground-truth id per detection (dtMatches)
	dtIg    []bool
	boxes   [][4]float64
	rles    []mask.RLE
}

// evaluateImage runs computeIoU and evaluateImg for every category of one
// image. gtIdx and dtIdx are the image's annotations in file order.
func (e *Eval) evaluateImage(w *worker, imgID int64, gtIdx, dtIdx []int32, catPos map[int64]int) ([]catEval, error) {
	p := &e.Params
	if len(gtIdx) == 0 && len(dtIdx) == 0 {
		return nil, nil
	}
	catOf := func(a *Annotation) int {
		if !p.UseCats {
			return 0
		}
		return catPos[a.CategoryID]
	}
	// Sort by category, keeping file order within one (with UseCats false,
	// by position in CatIDs, which is the order computeIoU concatenates).
	order := func(idx []int32, anns []Annotation) []int32 {
		s := slices.Clone(idx)
		slices.SortStableFunc(s, func(a, b int32) int {
			return cmp.Compare(catPos[anns[a].CategoryID], catPos[anns[b].CategoryID])
		})
		return s
	}
	gts, dts := order(gtIdx, e.gt.Annotations), order(dtIdx, e.dt)
	var out []catEval
	for len(gts) > 0 || len(dts) > 0 {
		// The next category present in either list.
		k := math.MaxInt
		if len(gts) > 0 {
			k = catOf(&e.gt.Annotations[gts[0]])
		}
		if len(dts) > 0 {
			k = min(k, catOf(&e.dt[dts[0]]))
		}
		ng, nd := 0, 0
		for ng < len(gts) && catOf(&e.gt.Annotations[gts[ng]]) == k {
			ng++
		}
		for nd < len(dts) && catOf(&e.dt[dts[nd]]) == k {
			nd++
		}
		ev, err := e.evaluateGroup(w, imgID, gts[:ng], dts[:nd])
		if err != nil {
			return nil, err
		}
		out = append(out, catEval{k: k, ev: ev})
		gts, dts = gts[ng:], dts[nd:]
	}
	return out, nil
}

// byScore orders detections by descending score as
// np.argsort(-scores, kind='mergesort') does when used with a stable sort:
// ties keep their order and NaN scores go last.
func byScore(a, b float64) int {
	na, nb := math.IsNaN(a), math.IsNaN(b)
	switch {
	case na && nb:
		return 0
	case na:
		return 1
	case nb:
		return -1
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// evaluateGroup is computeIoU followed by evaluateImg at every area range
// for one (image, category) pair.
func (e *Eval) evaluateGroup(w *worker, imgID int64, gtIdx, dtIdx []int32) (*imgEval, error) {
	p := &e.Params
	gtAnns, dtAnns := e.gt.Annotations, e.dt
	dts := slices.Clone(dtIdx)
	slices.SortStableFunc(dts, func(a, b int32) int { return byScore(dtAnns[a].Score, dtAnns[b].Score) })
	if maxDet := p.MaxDets[len(p.MaxDets)-1]; len(dts) > maxDet {
		dts = dts[:maxDet]
	}
	G, D := len(gtIdx), len(dts)
	if err := e.computeIoU(w, imgID, gtIdx, dts); err != nil {
		return nil, err
	}
	ious := w.ious // D×G, ground truth in file order

	T, A := len(p.IoUThrs), len(p.AreaRng)
	ev := &imgEval{
		scores: make([]float64, D),
		state:  make([]uint8, A*T*D),
		npig:   make([]int, A),
	}
	for d, j := range dts {
		ev.scores[d] = dtAnns[j].Score
	}
	w.gtIg = grow(w.gtIg, G)
	w.gtOrder = grow(w.gtOrder, G)
	w.gtm = grow(w.gtm, G)
	w.crowd = grow(w.crowd, G)
	w.dtm = grow(w.dtm, D)
	w.dtIg = grow(w.dtIg, D)
	for a, rng := range p.AreaRng {
		// COCOeval._prepare sets ignore = iscrowd, overwriting any "ignore"
		// field; evaluateImg adds the area range, tested on the ground
		// truth's "area" field.
		gtIg, gtOrder, crowd := w.gtIg, w.gtOrder, w.crowd
		for g, j := range gtIdx {
			crowd[g] = gtAnns[j].IsCrowd
			ar := gtAnns[j].Area
			gtIg[g] = gtAnns[j].IsCrowd || ar < rng[0] || ar > rng[1]
			if !gtIg[g] {
				ev.npig[a]++
			}
		}
		// Stable: not-ignored ground truth first (argsort of _ignore, mergesort).
		n := 0
		for g := range gtIdx {
			if !gtIg[g] {
				gtOrder[n] = g
				n++
			}
		}
		for g := range gtIdx {
			if gtIg[g] {
				gtOrder[n] = g
				n++
			}
		}
		for t, thr := range p.IoUThrs {
			gtm, dtm, dtIg := w.gtm, w.dtm, w.dtIg
			clear(gtm)
			clear(dtm)
			clear(dtIg)
			for d := range dts {
				iou := min(thr, 1-1e-10)
				m := -1
				for _, g := range gtOrder {
					// A matched ground truth is skipped unless it is a crowd.
					if gtm[g] > 0 && !crowd[g] {
						continue
					}
					// Once matched to a real ground truth, stop at the
					// ignored ones, which come last.
					if m > -1 && !gtIg[m] && gtIg[g] {
						break
					}
					if v := ious[d*G+g]; v >= iou {
						iou = v
						m = g
					}
				}
				if m == -1 {
					continue
				}
				dtIg[d] = gtIg[m]
				dtm[d] = gtAnns[gtIdx[m]].ID
				gtm[m] = dtAnns[dts[d]].ID
			}
			// Unmatched detections outside the area range are ignored. A
			// detection matched to a ground truth whose id is 0 has
			// dtMatches 0 in pycocotools and is treated as unmatched here
			// and in accumulate.
			for d, j := range dts {
				ar := dtAnns[j].Area
				st := &ev.state[(d*A+a)*T+t]
				switch {
				case dtIg[d] || dtm[d] == 0 && (ar < rng[0] || ar > rng[1]):
					*st = stateIgnored
				case dtm[d] != 0:
					*st = stateTP
				default:
					*st = stateFP
				}
			}
		}
	}
	return ev, nil
}

// grow returns s resized to n, reusing its storage when it is large enough.
func grow[S ~[]E, E any](s S, n int) S {
	if cap(s) < n {
		return make(S, n)
	}
	return s[:n]
}

// computeIoU fills w.ious with the D×G IoUs of the detections dts (in score
// order) and the ground truths gts (in file order) of one image and category
// (COCOeval.computeIoU).
func (e *Eval) computeIoU(w *worker, imgID int64, gts, dts []int32) error {
	G, D := len(gts), len(dts)
	w.ious = grow(w.ious, D*G)
	if G == 0 || D == 0 {
		return nil
	}
	gtAnns, dtAnns := e.gt.Annotations, e.dt
	switch e.Params.IoUType {
	case BBox:
		w.boxes = grow(w.boxes, G+D)
		gb, db := w.boxes[:G], w.boxes[G:]
		for g, j := range gts {
			a := &gtAnns[j]
			if len(a.BBox) != 4 {
				return fmt.Errorf("coco: %s: annotation id %d has no bbox, which bbox evaluation needs", e.gt.Name, a.ID)
			}
			gb[g] = [4]float64(a.BBox)
		}
		for d, j := range dts {
			a := &dtAnns[j]
			if len(a.BBox) != 4 {
				return fmt.Errorf("coco: result %d has no bbox, which bbox evaluation needs", a.ID-1)
			}
			db[d] = [4]float64(a.BBox)
		}
		for d := range db {
			for g := range gb {
				w.ious[d*G+g] = mask.BoxIoU(db[d], gb[g], gtAnns[gts[g]].IsCrowd)
			}
		}
	case Segm:
		im, ok := e.gt.Image(imgID)
		if !ok {
			return fmt.Errorf("coco: %s: image id %d has annotations but is not in images, so its masks have no size", e.gt.Name, imgID)
		}
		w.rles = grow(w.rles, G+D)
		gr, dr := w.rles[:G], w.rles[G:]
		for g, j := range gts {
			r, err := gtAnns[j].Segmentation.ToRLE(im.Height, im.Width)
			if err != nil {
				return fmt.Errorf("coco: %s: annotation id %d: %w", e.gt.Name, gtAnns[j].ID, err)
			}
			gr[g] = r
		}
		for d, j := range dts {
			if r := dtAnns[j].rle; r != nil {
				dr[d] = *r
				continue
			}
			r, err := dtAnns[j].Segmentation.ToRLE(im.Height, im.Width)
			if err != nil {
				return fmt.Errorf("coco: result %d: %w", dtAnns[j].ID-1, err)
			}
			dr[d] = r
		}
		crowd := make([]bool, G)
		for g, j := range gts {
			crowd[g] = gtAnns[j].IsCrowd
		}
		maskIoU(w.ious, dr, gr, crowd)
	}
	return nil
}

// parallelFor calls fn(w, i) for i in [0, n) from GOMAXPROCS goroutines,
// each with its own worker scratch.
func parallelFor(n int, fn func(w *worker, i int)) {
	procs := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := new(worker)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// maskIoU fills ious with mask.IoU(dt, gt, crowd), faster for the valid
// masks evaluation works with. maskApi.c compares two masks only when their
// bounding boxes overlap; for masks of the same size that test never changes
// the result (disjoint masks score 0 either way), so here a cheaper test on
// the columns the masks span skips most disjoint pairs and the rest are
// compared directly. That holds for canonical RLEs (no empty run after the
// first), whose boxes cover every foreground pixel, which is what encoders
// and the polygon rasterizer produce; masks of different sizes score -1 or
// 0 depending on their boxes. Groups holding any other mask are left to
// mask.IoUInto.
func maskIoU(ious []float64, dt, gt []mask.RLE, crowd []bool) {
	G := len(gt)
	if G == 0 || len(dt) == 0 {
		return
	}
	h, w := gt[0].H, gt[0].W
	plain := func(r mask.RLE) bool {
		if r.H != h || r.W != w {
			return false
		}
		for _, c := range r.Counts[min(1, len(r.Counts)):] {
			if c == 0 {
				return false
			}
		}
		return true
	}
	for _, rs := range [][]mask.RLE{dt, gt} {
		for _, r := range rs {
			if !plain(r) {
				mask.IoUInto(ious, dt, gt, crowd)
				return
			}
		}
	}
	type span struct{ lo, hi int }
	cols := func(r mask.RLE) span {
		lo, hi, ok := columnSpan(r)
		if !ok {
			return span{1, 0} // empty: overlaps nothing
		}
		return span{lo, hi}
	}
	gs := make([]span, G)
	for g := range gt {
		gs[g] = cols(gt[g])
	}
	for d := range dt {
		ds := cols(dt[d])
		for g := range gt {
			v := 0.0
			if ds.lo <= gs[g].hi && gs[g].lo <= ds.hi {
				v = mask.PairIoU(dt[d], gt[g], crowd[g])
			}
			ious[d*G+g] = v
		}
	}
}

// columnSpan returns the first and last column holding a foreground pixel
// of a valid RLE (counts summing to H·W), false if there is none. It reads
// only the counts up to the first and from the last non-empty run of ones.
func columnSpan(r mask.RLE) (lo, hi int, ok bool) {
	c := r.Counts
	pos := 0
	j := 0
	for ; j < len(c); j++ {
		if j%2 == 1 && c[j] > 0 {
			break
		}
		pos += int(c[j])
	}
	if j >= len(c) || r.H == 0 {
		return 0, 0, false
	}
	lo = pos / r.H
	end := r.H * r.W // one past the last pixel of the last run of ones
	k := len(c) - 1
	for ; k > j; k-- {
		if k%2 == 1 && c[k] > 0 {
			break
		}
		end -= int(c[k])
	}
	return lo, (end - 1) / r.H, true
}
