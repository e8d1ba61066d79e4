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
		var st []uint8           // st[i*A*T + a*T + t]: the outcome of sub[i]
		var prTP, rcTP []float64 // precision and recall at each true positive
		var posTP []int          // and its index
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
			for a := range A {
				if npig[a] == 0 {
					continue
				}
				n := float64(npig[a])
				for t := range T {
					at := a*T + t
					// Precision and recall change only at true positives:
					// before the first one precision is 0, and after each
					// one it only falls until the next. So the envelope
					// (precision made non-increasing from the right) at any
					// index where recall first reaches a threshold is its
					// value at the true positives from there on, and only
					// those are computed, with pycocotools' arithmetic.
					var tp, fp float64
					prTP, rcTP, posTP = prTP[:0], rcTP[:0], posTP[:0]
					for i := range nd {
						switch st[i*A*T+at] {
						case stateTP:
							tp++
							prTP = append(prTP, tp/(fp+tp+eps))
							rcTP = append(rcTP, tp/n)
							posTP = append(posTP, i)
						case stateFP:
							fp++
						}
					}
					ri := ((t*K+k)*A+a)*M + m
					if nd > 0 {
						e.Recall[ri] = tp / n
					} else {
						e.Recall[ri] = 0
					}
					for i := len(prTP) - 1; i > 0; i-- {
						if prTP[i] > prTP[i-1] {
							prTP[i-1] = prTP[i]
						}
					}
					// Recall at index 0 (a true positive or nothing yet).
					rc0 := 0.0
					if len(posTP) > 0 && posTP[0] == 0 {
						rc0 = rcTP[0]
					}
					// For each recall threshold, the first index whose recall
					// reaches it (np.searchsorted, side='left'). From the
					// first threshold past the final recall on, precision and
					// score stay 0: pycocotools' loop stops at the IndexError.
					past := false
					kk := 0
					for r, thr := range p.RecThrs {
						pi := (((t*R+r)*K+k)*A+a)*M + m
						idx, q := -1, 0.0
						switch {
						case nd > 0 && thr <= rc0:
							idx = 0
							if len(prTP) > 0 {
								q = prTP[0]
							}
						default:
							if recSorted {
								for kk < len(rcTP) && rcTP[kk] < thr {
									kk++
								}
							} else {
								kk = sort.SearchFloat64s(rcTP, thr)
							}
							if kk < len(rcTP) {
								idx, q = posTP[kk], prTP[kk]
							}
						}
						if past = past || idx < 0; past {
							e.Precision[pi] = 0
							e.Scores[pi] = 0
							continue
						}
						e.Precision[pi] = q
						e.Scores[pi] = sub[idx].score
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
