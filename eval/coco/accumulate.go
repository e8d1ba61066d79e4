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
	e.Recall = filled(T*K*A*M, -1)
	e.Stats = nil
	// Each category fills its own T×R×A×M blocks, laid out so that the
	// final T×R×K×A×M arrays are assembled by copying A·M runs: writing the
	// final arrays directly would touch a cache line per value, shared
	// between the goroutines of neighbouring categories.
	AM := A * M
	precK, scoresK := make([][]float64, K), make([][]float64, K)
	// With increasing thresholds the search below can resume where the
	// previous threshold's ended.
	recSorted := slices.IsSorted(p.RecThrs)
	parallelFor(K, func(w *worker, k int) {
		E := e.evalImgs[k]
		if len(E) == 0 {
			return
		}
		prec, scores := filled(T*R*AM, -1), filled(T*R*AM, -1)
		precK[k], scoresK[k] = prec, scores
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
		npigF := make([]float64, A)
		for a := range A {
			for _, ev := range E {
				npig[a] += ev.npig[a]
			}
			npigF[a] = float64(npig[a])
		}
		var sub []accDet
		// Per (area range, IoU threshold) at = a*T+t: the counts so far and
		// the precision, recall and index at each true positive.
		AT := A * T
		tp, fp := make([]float64, AT), make([]float64, AT)
		prTP, rcTP, posTP := make([][]float64, AT), make([][]float64, AT), make([][]int, AT)
		// There are at most npig[a] true positives at each (a, t).
		sumNpig := 0
		for _, n := range npig {
			sumNpig += n
		}
		prBuf, rcBuf, posBuf := make([]float64, T*sumNpig), make([]float64, T*sumNpig), make([]int, T*sumNpig)
		off := 0
		for at := range AT {
			n := npig[at/T]
			prTP[at], rcTP[at], posTP[at] = prBuf[off:off:off+n], rcBuf[off:off:off+n], posBuf[off:off:off+n]
			off += n
		}
		for m, maxDet := range p.MaxDets {
			sub = sub[:0]
			for _, x := range dets {
				if int(x.d) < maxDet {
					sub = append(sub, x)
				}
			}
			nd := len(sub)
			// Precision and recall change only at true positives: before the
			// first one precision is 0, and after each one it only falls
			// until the next. So the envelope (precision made non-increasing
			// from the right) at any index where recall first reaches a
			// threshold is its value at the true positives from there on,
			// and only those are computed, with pycocotools' arithmetic, in
			// one pass over the detections for every (a, t).
			clear(tp)
			clear(fp)
			for at := range AT {
				prTP[at], rcTP[at], posTP[at] = prTP[at][:0], rcTP[at][:0], posTP[at][:0]
			}
			for i, x := range sub {
				d := int(x.d)
				for at, s := range E[x.img].state[d*AT : (d+1)*AT] {
					if s == stateTP {
						tp[at]++
						prTP[at] = append(prTP[at], tp[at]/(fp[at]+tp[at]+eps))
						rcTP[at] = append(rcTP[at], tp[at]/npigF[at/T])
						posTP[at] = append(posTP[at], i)
						continue
					}
					fp[at] += fpStep[s] // without a branch: the outcomes are unpredictable
				}
			}
			for a := range A {
				if npig[a] == 0 {
					continue
				}
				n := npigF[a]
				for t := range T {
					at := a*T + t
					prTP, rcTP, posTP := prTP[at], rcTP[at], posTP[at]
					tp := tp[at]
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
						pi := (t*R+r)*AM + a*M + m
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
							prec[pi] = 0
							scores[pi] = 0
							continue
						}
						prec[pi] = q
						scores[pi] = sub[idx].score
					}
				}
			}
		}
	})
	e.Precision = make([]float64, T*R*K*AM)
	e.Scores = make([]float64, T*R*K*AM)
	minus := filled(AM, -1)
	for tr := range T * R {
		for k := range K {
			dst := (tr*K + k) * AM
			if precK[k] == nil {
				copy(e.Precision[dst:dst+AM], minus)
				copy(e.Scores[dst:dst+AM], minus)
				continue
			}
			copy(e.Precision[dst:dst+AM], precK[k][tr*AM:(tr+1)*AM])
			copy(e.Scores[dst:dst+AM], scoresK[k][tr*AM:(tr+1)*AM])
		}
	}
}

// fpStep is the false-positive count's increment for each outcome.
var fpStep = [...]float64{stateFP: 1, stateTP: 0, stateIgnored: 0}

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
