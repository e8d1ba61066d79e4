package tensor

import (
	"fmt"
	"math"
)

// Fused normalisation kernels: BatchNorm over (N, H·W) per channel,
// GroupNorm over (C/G, H·W) per sample and group, LayerNorm over the last D
// elements of each row. Each forward makes one pass for the statistics
// (accumulated in float64) and one for the output; each backward makes one
// pass for the two reductions it needs and one for the input gradient.
//
// Work is split over whole channels, groups or rows with Parallel and every
// reduction runs in a fixed order, so results do not depend on scheduling.

// normGrain returns the minimum number of independent units (channels,
// groups, rows) per worker so that a chunk touches about 32k elements.
func normGrain(perUnit int) int { return max(1, (1<<15)/max(perUnit, 1)) }

func checkNormBuf(op, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("%s: %s %s has %d, needs %d", errShortBuf, op, name, got, want))
	}
}

// invStd returns 1/sqrt(v + eps) in float64 rounded to float32.
func invStd(v float64, eps float32) float32 { return float32(1 / math.Sqrt(v+float64(eps))) }

// BatchNormStats computes, for x of shape N×C×HW, each channel's mean and
// biased variance over N and HW:
//
//	mean[c] = Σ_{n,s} x[n,c,s] / (N·HW)
//	variance[c] = Σ_{n,s} (x[n,c,s] - mean[c])² / (N·HW)
//
// mean and variance have length C. It panics on short buffers or N·HW == 0.
func BatchNormStats(n, c, hw int, x, mean, variance []float32) {
	if n*hw == 0 {
		panic(fmt.Sprintf("%s: BatchNormStats over %d values per channel", errBadShape, n*hw))
	}
	checkNormBuf("BatchNormStats", "x", len(x), n*c*hw)
	checkNormBuf("BatchNormStats", "mean", len(mean), c)
	checkNormBuf("BatchNormStats", "variance", len(variance), c)
	Parallel(c, normGrain(n*hw), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s, ss float64
			for i := 0; i < n; i++ {
				a, b := moments(x[(i*c+ch)*hw : (i*c+ch+1)*hw])
				s += a
				ss += b
			}
			m := s / float64(n*hw)
			mean[ch] = float32(m)
			variance[ch] = float32(max(ss/float64(n*hw)-m*m, 0))
		}
	})
}

// BatchNormForward normalises x (N×C×HW) per channel into y:
//
//	y[n,c,s] = (x[n,c,s] - mean[c]) · invstd[c] · weight[c] + bias[c]
//	invstd[c] = 1 / sqrt(variance[c] + eps)
//
// weight and bias may be nil (1 and 0). invstd (length C) receives the
// inverse standard deviations for the backward pass.
func BatchNormForward(n, c, hw int, x, mean, variance, weight, bias []float32, eps float32, invstd, y []float32) {
	checkNormBuf("BatchNormForward", "x", len(x), n*c*hw)
	checkNormBuf("BatchNormForward", "y", len(y), n*c*hw)
	checkNormBuf("BatchNormForward", "mean", len(mean), c)
	checkNormBuf("BatchNormForward", "variance", len(variance), c)
	checkNormBuf("BatchNormForward", "invstd", len(invstd), c)
	checkAffine("BatchNormForward", weight, bias, c)
	for ch := 0; ch < c; ch++ {
		invstd[ch] = invStd(float64(variance[ch]), eps)
	}
	Parallel(n*c, normGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			ch := pl % c
			scale, shift := affineAt(weight, bias, ch)
			scale *= invstd[ch]
			shift -= mean[ch] * scale
			ys := y[pl*hw : (pl+1)*hw]
			for i, v := range x[pl*hw : (pl+1)*hw] {
				ys[i] = v*scale + shift
			}
		}
	})
}

// BatchNormBackward accumulates the gradients of BatchNormForward given dy:
//
//	xhat = (x - mean) · invstd
//	dweight[c] += Σ_{n,s} dy·xhat        dbias[c] += Σ_{n,s} dy
//	training:  dx += weight·invstd · (dy - Σdy/M - xhat · Σ(dy·xhat)/M), M = N·HW
//	otherwise: dx += weight·invstd · dy  (mean and invstd are constants)
//
// dx, dweight, dbias and weight may be nil.
func BatchNormBackward(n, c, hw int, x, dy, mean, invstd, weight []float32, training bool, dx, dweight, dbias []float32) {
	checkNormBuf("BatchNormBackward", "x", len(x), n*c*hw)
	checkNormBuf("BatchNormBackward", "dy", len(dy), n*c*hw)
	checkNormBuf("BatchNormBackward", "mean", len(mean), c)
	checkNormBuf("BatchNormBackward", "invstd", len(invstd), c)
	checkAffine("BatchNormBackward", weight, nil, c)
	if dx != nil {
		checkNormBuf("BatchNormBackward", "dx", len(dx), n*c*hw)
	}
	checkAffine("BatchNormBackward", dweight, dbias, c)
	m := float64(n * hw)
	Parallel(c, normGrain(n*hw), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mu, is := mean[ch], invstd[ch]
			var sdy, sdyx float64
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				a, b := gradMoments(x[off:off+hw], dy[off:off+hw], mu, is)
				sdy += a
				sdyx += b
			}
			if dweight != nil {
				dweight[ch] += float32(sdyx)
			}
			if dbias != nil {
				dbias[ch] += float32(sdy)
			}
			if dx == nil {
				continue
			}
			w, _ := affineAt(weight, nil, ch)
			k := w * is
			var a, b float32 // dx += k·dy - a - b·xhat
			if training {
				a, b = k*float32(sdy/m), k*float32(sdyx/m)
			}
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				xs, ds := x[off:off+hw], dx[off:off+hw]
				for j, g := range dy[off : off+hw] {
					ds[j] += k*g - a - b*(xs[j]-mu)*is
				}
			}
		}
	})
}

// GroupNormForward normalises x (N×C×HW) over each sample's groups of C/G
// consecutive channels and applies a per-channel affine map:
//
//	y[n,c,s] = (x[n,c,s] - mean[n,g]) · invstd[n,g] · weight[c] + bias[c],  g = c / (C/G)
//
// with the biased variance. weight and bias may be nil. mean and invstd
// (length N·G) receive the statistics for the backward pass. It panics
// unless G divides C.
func GroupNormForward(n, c, hw, groups int, x, weight, bias []float32, eps float32, mean, invstd, y []float32) {
	checkGroups("GroupNormForward", c, groups)
	checkNormBuf("GroupNormForward", "x", len(x), n*c*hw)
	checkNormBuf("GroupNormForward", "y", len(y), n*c*hw)
	checkNormBuf("GroupNormForward", "mean", len(mean), n*groups)
	checkNormBuf("GroupNormForward", "invstd", len(invstd), n*groups)
	checkAffine("GroupNormForward", weight, bias, c)
	cg := c / groups
	size := cg * hw
	Parallel(n*groups, normGrain(size), func(lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			xs := x[ng*size : (ng+1)*size]
			mu, is := rowStats(xs, eps)
			mean[ng], invstd[ng] = mu, is
			c0 := (ng % groups) * cg
			for k := 0; k < cg; k++ {
				scale, shift := affineAt(weight, bias, c0+k)
				scale *= is
				shift -= mu * scale
				ys := y[ng*size+k*hw : ng*size+(k+1)*hw]
				for i, v := range xs[k*hw : (k+1)*hw] {
					ys[i] = v*scale + shift
				}
			}
		}
	})
}

// GroupNormBackward accumulates the gradients of GroupNormForward given dy:
//
//	xhat = (x - mean[n,g]) · invstd[n,g],  u = dy · weight[c]
//	dx += invstd · (u - Σu/M - xhat · Σ(u·xhat)/M),  sums over the group, M = C/G·HW
//	dweight[c] += Σ_{n,s} dy·xhat        dbias[c] += Σ_{n,s} dy
//
// dx, dweight, dbias and weight may be nil.
func GroupNormBackward(n, c, hw, groups int, x, dy, mean, invstd, weight []float32, dx, dweight, dbias []float32) {
	checkGroups("GroupNormBackward", c, groups)
	checkNormBuf("GroupNormBackward", "x", len(x), n*c*hw)
	checkNormBuf("GroupNormBackward", "dy", len(dy), n*c*hw)
	checkNormBuf("GroupNormBackward", "mean", len(mean), n*groups)
	checkNormBuf("GroupNormBackward", "invstd", len(invstd), n*groups)
	checkAffine("GroupNormBackward", weight, nil, c)
	checkAffine("GroupNormBackward", dweight, dbias, c)
	cg := c / groups
	size := cg * hw
	if dx != nil {
		checkNormBuf("GroupNormBackward", "dx", len(dx), n*c*hw)
		Parallel(n*groups, normGrain(size), func(lo, hi int) {
			for ng := lo; ng < hi; ng++ {
				mu, is := mean[ng], invstd[ng]
				c0 := (ng % groups) * cg
				var su, sux float64 // Σ dy·w and Σ dy·w·xhat over the group
				for k := 0; k < cg; k++ {
					w, _ := affineAt(weight, nil, c0+k)
					off := ng*size + k*hw
					a, b := gradMoments(x[off:off+hw], dy[off:off+hw], mu, is)
					su += float64(w) * a
					sux += float64(w) * b
				}
				a, b := is*float32(su/float64(size)), is*float32(sux/float64(size))
				for k := 0; k < cg; k++ {
					w, _ := affineAt(weight, nil, c0+k)
					off := ng*size + k*hw
					xs, ds := x[off:off+hw], dx[off:off+hw]
					for j, g := range dy[off : off+hw] {
						ds[j] += is*g*w - a - b*(xs[j]-mu)*is
					}
				}
			}
		})
	}
	if dweight == nil && dbias == nil {
		return
	}
	// Per channel, samples in order: deterministic.
	Parallel(c, normGrain(n*hw), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var sdy, sdyx float64
			for i := 0; i < n; i++ {
				ng := i*groups + ch/cg
				mu, is := mean[ng], invstd[ng]
				off := (i*c + ch) * hw
				a, b := gradMoments(x[off:off+hw], dy[off:off+hw], mu, is)
				sdy += a
				sdyx += b
			}
			if dweight != nil {
				dweight[ch] += float32(sdyx)
			}
			if dbias != nil {
				dbias[ch] += float32(sdy)
			}
		}
	})
}

// LayerNormForward normalises each of the rows of x (rows×D) over its D
// elements and applies a per-element affine map:
//
//	y[r,i] = (x[r,i] - mean[r]) · invstd[r] · weight[i] + bias[i]
//
// with the biased variance. weight and bias (length D) may be nil. mean and
// invstd (length rows) receive the statistics for the backward pass.
func LayerNormForward(rows, d int, x, weight, bias []float32, eps float32, mean, invstd, y []float32) {
	checkNormBuf("LayerNormForward", "x", len(x), rows*d)
	checkNormBuf("LayerNormForward", "y", len(y), rows*d)
	checkNormBuf("LayerNormForward", "mean", len(mean), rows)
	checkNormBuf("LayerNormForward", "invstd", len(invstd), rows)
	checkAffine("LayerNormForward", weight, bias, d)
	if d == 0 {
		return
	}
	Parallel(rows, normGrain(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, ys := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			mu, is := rowStats(xs, eps)
			mean[r], invstd[r] = mu, is
			switch {
			case weight != nil && bias != nil:
				w, b := weight[:d], bias[:d]
				for i, v := range xs {
					ys[i] = (v-mu)*is*w[i] + b[i]
				}
			case weight != nil:
				w := weight[:d]
				for i, v := range xs {
					ys[i] = (v - mu) * is * w[i]
				}
			case bias != nil:
				b := bias[:d]
				for i, v := range xs {
					ys[i] = (v-mu)*is + b[i]
				}
			default:
				for i, v := range xs {
					ys[i] = (v - mu) * is
				}
			}
		}
	})
}

// LayerNormBackward accumulates the gradients of LayerNormForward given dy:
//
//	xhat = (x - mean[r]) · invstd[r],  u = dy · weight[i]
//	dx += invstd · (u - Σu/D - xhat · Σ(u·xhat)/D),  sums over the row
//	dweight[i] += Σ_r dy·xhat        dbias[i] += Σ_r dy
//
// dx, dweight, dbias and weight may be nil.
func LayerNormBackward(rows, d int, x, dy, mean, invstd, weight []float32, dx, dweight, dbias []float32) {
	checkNormBuf("LayerNormBackward", "x", len(x), rows*d)
	checkNormBuf("LayerNormBackward", "dy", len(dy), rows*d)
	checkNormBuf("LayerNormBackward", "mean", len(mean), rows)
	checkNormBuf("LayerNormBackward", "invstd", len(invstd), rows)
	checkAffine("LayerNormBackward", weight, nil, d)
	checkAffine("LayerNormBackward", dweight, dbias, d)
	if d == 0 {
		return
	}
	if dx != nil {
		checkNormBuf("LayerNormBackward", "dx", len(dx), rows*d)
		Parallel(rows, normGrain(d), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				mu, is := mean[r], invstd[r]
				xs, gs, ds := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
				var su, sux float64 // Σ dy·w and Σ dy·w·xhat over the row
				if weight != nil {
					su, sux = gradMomentsWeighted(xs, gs, weight[:d], mu, is)
				} else {
					su, sux = gradMoments(xs, gs, mu, is)
				}
				a, b := is*float32(su/float64(d)), is*float32(sux/float64(d))
				if weight != nil {
					w := weight[:d]
					for i, g := range gs {
						ds[i] += is*g*w[i] - a - b*(xs[i]-mu)*is
					}
				} else {
					for i, g := range gs {
						ds[i] += is*g - a - b*(xs[i]-mu)*is
					}
				}
			}
		})
	}
	if dweight == nil && dbias == nil {
		return
	}
	// Columns split over workers, rows reduced in order inside each: deterministic.
	Parallel(d, max(64, normGrain(rows)), func(lo, hi int) {
		sdy := make([]float64, hi-lo)
		sdyx := make([]float64, hi-lo)
		for r := 0; r < rows; r++ {
			mu, is := mean[r], invstd[r]
			xs, gs := x[r*d+lo:r*d+hi], dy[r*d+lo:r*d+hi]
			for i, g := range gs {
				sdy[i] += float64(g)
				sdyx[i] += float64(g) * float64((xs[i]-mu)*is)
			}
		}
		for i := range sdy {
			if dweight != nil {
				dweight[lo+i] += float32(sdyx[i])
			}
			if dbias != nil {
				dbias[lo+i] += float32(sdy[i])
			}
		}
	})
}

// rowStats returns the mean and 1/sqrt(biased variance + eps) of xs, which
// must not be empty.
func rowStats(xs []float32, eps float32) (mean, invstd float32) {
	s, ss := moments(xs)
	m := s / float64(len(xs))
	return float32(m), invStd(max(ss/float64(len(xs))-m*m, 0), eps)
}

// moments returns Σx and Σx² over xs in float64. Four interleaved lanes
// hide the latency of the additions; the order is fixed, so the result is
// deterministic.
func moments(xs []float32) (sum, sumSq float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		a, b, c, d := float64(xs[i]), float64(xs[i+1]), float64(xs[i+2]), float64(xs[i+3])
		s0, s1, s2, s3 = s0+a, s1+b, s2+c, s3+d
		q0, q1, q2, q3 = q0+a*a, q1+b*b, q2+c*c, q3+d*d
	}
	for ; i < len(xs); i++ {
		a := float64(xs[i])
		s0, q0 = s0+a, q0+a*a
	}
	return (s0 + s1) + (s2 + s3), (q0 + q1) + (q2 + q3)
}

// gradMoments returns Σg and Σg·xhat with xhat = (x-mean)·invstd, over
// equally long xs and gs, in float64 with four interleaved lanes.
func gradMoments(xs, gs []float32, mean, invstd float32) (sumG, sumGX float64) {
	gs = gs[:len(xs)]
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		a, b, c, d := float64(gs[i]), float64(gs[i+1]), float64(gs[i+2]), float64(gs[i+3])
		s0, s1, s2, s3 = s0+a, s1+b, s2+c, s3+d
		q0 += a * float64((xs[i]-mean)*invstd)
		q1 += b * float64((xs[i+1]-mean)*invstd)
		q2 += c * float64((xs[i+2]-mean)*invstd)
		q3 += d * float64((xs[i+3]-mean)*invstd)
	}
	for ; i < len(xs); i++ {
		a := float64(gs[i])
		s0 += a
		q0 += a * float64((xs[i]-mean)*invstd)
	}
	return (s0 + s1) + (s2 + s3), (q0 + q1) + (q2 + q3)
}

// gradMomentsWeighted is gradMoments of g·w (elementwise weights ws).
func gradMomentsWeighted(xs, gs, ws []float32, mean, invstd float32) (sumG, sumGX float64) {
	gs, ws = gs[:len(xs)], ws[:len(xs)]
	var s0, s1, q0, q1 float64
	i := 0
	for ; i+2 <= len(xs); i += 2 {
		a, b := float64(gs[i]*ws[i]), float64(gs[i+1]*ws[i+1])
		s0, s1 = s0+a, s1+b
		q0 += a * float64((xs[i]-mean)*invstd)
		q1 += b * float64((xs[i+1]-mean)*invstd)
	}
	for ; i < len(xs); i++ {
		a := float64(gs[i] * ws[i])
		s0 += a
		q0 += a * float64((xs[i]-mean)*invstd)
	}
	return s0 + s1, q0 + q1
}

// affineAt returns weight[i] and bias[i], with 1 and 0 for nil slices.
func affineAt(weight, bias []float32, i int) (w, b float32) {
	w = 1
	if weight != nil {
		w = weight[i]
	}
	if bias != nil {
		b = bias[i]
	}
	return w, b
}

func checkAffine(op string, weight, bias []float32, n int) {
	if weight != nil {
		checkNormBuf(op, "weight", len(weight), n)
	}
	if bias != nil {
		checkNormBuf(op, "bias", len(bias), n)
	}
}

func checkGroups(op string, c, groups int) {
	if groups < 1 || c%groups != 0 {
		panic(fmt.Sprintf("%s: %s: %d groups for %d channels (groups must divide channels)", errBadShape, op, groups, c))
	}
}
