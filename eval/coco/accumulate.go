package coco

import (
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
	parallelFor(K, func(w *worker, k int) {
		E := e.evalImgs[k]
		if len(E) == 0 {
			return
		}
		var (
			scores []float64
			states [][]uint8 // per t
			order  []int32
			rc, pr []float64
		)
		for a := range A {
			npig := 0
			for _, ev := range E {
				npig += ev.npig[a]
			}
			if npig == 0 {
				continue
			}
			for m, maxDet := range p.MaxDets {
				// Concatenate the first maxDet detections of every image
				// in image order, then sort stably by score.
				scores = scores[:0]
				states = grow(states, T)
				for t := range T {
					states[t] = states[t][:0]
				}
				for _, ev := range E {
					D := len(ev.scores)
					n := min(D, maxDet)
					scores = append(scores, ev.scores[:n]...)
					for t := range T {
						off := (a*T + t) * D
						states[t] = append(states[t], ev.state[off:off+n]...)
					}
				}
				nd := len(scores)
				order = grow(order, nd)
				for i := range order {
					order[i] = int32(i)
				}
				slices.SortStableFunc(order, func(x, y int32) int { return byScore(scores[x], scores[y]) })
				rc, pr = grow(rc, nd), grow(pr, nd)
				for t := range T {
					st := states[t]
					var tp, fp float64
					for i, o := range order {
						switch st[o] {
						case stateTP:
							tp++
						case stateFP:
							fp++
						}
						rc[i] = tp / float64(npig)
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
					for r, thr := range p.RecThrs {
						pi := (((t*R+r)*K+k)*A+a)*M + m
						i := sort.SearchFloat64s(rc[:nd], thr)
						if past = past || i >= nd; past {
							e.Precision[pi] = 0
							e.Scores[pi] = 0
							continue
						}
						e.Precision[pi] = pr[i]
						e.Scores[pi] = scores[order[i]]
					}
				}
			}
		}
	})
}

func filled(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
