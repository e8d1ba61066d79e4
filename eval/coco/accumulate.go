package coco

import (
	"cmp"
	"slices"
	"sort"
)

// eps is np.spacing(1), added to the precision's denominator.
const eps = 2.220446049250313e-16

// Accumulate turns the per-image matches into precision, recall and score
// arrays (COCOeval.accumulate). It panics if Evaluate has not run.
func (e *Eval) Accumulate() {
	if e.evalImgs == nil {
		panic(errNoEvaluate)
	}
	p := &e.Params
	T, R, K, A, M := e.Dims()
	e.Precision = filled(T*R*K*A*M, -1)
	e.Recall = filled(T*K*A*M, -1)
	e.Scores = filled(T*R*K*A*M, -1)
	e.Stats = nil
	// With increasing thresholds the search below can resume where the
	// previous threshold's ended.
	recSorted := slices.IsSorted(p.RecThrs)
	parallelFor(K, func(w *worker, k int) {
		E := e.evalImgs[k]
		if len(E) == 0 {
			return
		}
		// All detections of category k, image after image, each at most
		// MaxDets[M-1] per image, ordered by descending score. Sorting by
		// (score, position) is the stable sort of np.argsort(kind='mergesort'),
		// and since every smaller maxDets keeps a prefix of each image's
		// detections, filtering this order gives the stable order of the
		// shorter concatenation too.
		var dets []accDet
		for i, ev := range E {
			for d, s := range ev.scores {
				dets = append(dets, accDet{img: int32(i), d: int32(d), score: s})
			}
		}
		slices.SortFunc(dets, func(x, y accDet) int {
			if c := byScore(x.score, y.score); c != 0 {
				return c
			}
			if x.img != y.img {
				return cmp.Compare(x.img, y.img)
			}
			return cmp.Compare(x.d, y.d)
		})
		npig := make([]int, A)
		for a := range A {
			for _, ev := range E {
				npig[a] += ev.npig[a]
			}
		}
		var sub []accDet
		var st []uint8 // st[i*A*T + a*T + t]: the outcome of sub[i]
		var rc, pr []float64
		for m, maxDet := range p.MaxDets {
			sub = sub[:0]
			for _, x := range dets {
				if int(x.d) < maxDet {
					sub = append(sub, x)
				}
			}
			nd := len(sub)
			// Gather the outcomes in score order once; each (area range,
			// IoU threshold) then reads its column.
			st = grow(st, nd*A*T)
			for i, x := range sub {
				copy(st[i*A*T:(i+1)*A*T], E[x.img].state[int(x.d)*A*T:(int(x.d)+1)*A*T])
			}
			rc, pr = grow(rc, nd), grow(pr, nd)
			for a := range A {
				if npig[a] == 0 {
					continue
				}
				n := float64(npig[a])
				for t := range T {
					at := a*T + t
					var tp, fp float64
					for i := range nd {
						switch st[i*A*T+at] {
						case stateTP:
							tp++
						case stateFP:
							fp++
						}
						rc[i] = tp / n
						pr[i] = tp / (fp + tp + eps)
					}
					ri := ((t*K+k)*A+a)*M + m
					if nd > 0 {
						e.Recall[ri] = rc[nd-1]
					} else {
						e.Recall[ri] = 0
					}
					// Precision envelope: non-increasing from the right.
					for i := nd - 1; i > 0; i-- {
						if pr[i] > pr[i-1] {
							pr[i-1] = pr[i]
						}
					}
					// For each recall threshold, the first index whose recall
					// reaches it (np.searchsorted, side='left'). From the
					// first threshold past the final recall on, precision and
					// score stay 0: pycocotools' loop stops at the IndexError.
					past := false
					i := 0
					for r, thr := range p.RecThrs {
						pi := (((t*R+r)*K+k)*A+a)*M + m
						if recSorted {
							for i < nd && rc[i] < thr {
								i++
							}
						} else {
							i = sort.SearchFloat64s(rc[:nd], thr)
						}
						if past = past || i >= nd; past {
							e.Precision[pi] = 0
							e.Scores[pi] = 0
							continue
						}
						e.Precision[pi] = pr[i]
						e.Scores[pi] = sub[i].score
					}
				}
			}
		}
	})
}

// accDet is one detection in accumulate's concatenation: detection d (in
// score order) of the evaluation E[img].
type accDet struct {
	img, d int32
	score  float64
}

func filled(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
