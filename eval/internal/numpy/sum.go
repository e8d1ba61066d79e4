// Package numpy reproduces the numpy reductions dp's evaluators must match
// to the last bit (pycocotools and mmseg compute their means with numpy).
package numpy

// PairwiseSum is numpy's pairwise_sum (the summation behind np.sum and
// np.mean of a contiguous array): plain summation below 8 values, eight
// interleaved accumulators up to 128, and above that the two halves (the
// first rounded down to a multiple of 8) summed recursively. It matches
// numpy for arrays up to its 8192-element block, far more values than the
// evaluators reduce at once.
func PairwiseSum[F float32 | float64](a []F) F {
	n := len(a)
	switch {
	case n < 8:
		var res F
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		var r [8]F
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return PairwiseSum(a[:n2]) + PairwiseSum(a[n2:])
}
