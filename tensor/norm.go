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
			scaleShift(x[pl*hw:(pl+1)*hw], y[pl*hw:(pl+1)*hw], scale, shift)
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
				normGradRow(x[off:off+hw], dy[off:off+hw], dx[off:off+hw], k, a, b, mu, is)
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
				scaleShift(xs[k*hw:(k+1)*hw], y[ng*size+k*hw:ng*size+(k+1)*hw], scale, shift)
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
	}
	// part holds each (sample, channel)'s Σdy and Σdy·xhat, computed in the
	// first pass and summed over samples in order at the end: deterministic
	// without a third pass over the data.
	var part []float64
	if dweight != nil || dbias != nil {
		part = make([]float64, 2*n*c)
	}
	Parallel(n*groups, normGrain(size), func(lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			mu, is := mean[ng], invstd[ng]
			c0 := (ng % groups) * cg
			ch0 := (ng/groups)*c + c0 // index of (sample, first channel of the group)
			var su, sux float64       // Σ dy·w and Σ dy·w·xhat over the group
			for k := 0; k < cg; k++ {
				w, _ := affineAt(weight, nil, c0+k)
				off := ng*size + k*hw
				a, b := gradMoments(x[off:off+hw], dy[off:off+hw], mu, is)
				su += float64(w) * a
				sux += float64(w) * b
				if part != nil {
					part[2*(ch0+k)], part[2*(ch0+k)+1] = a, b
				}
			}
			if dx == nil {
				continue
			}
			a, b := is*float32(su/float64(size)), is*float32(sux/float64(size))
			for k := 0; k < cg; k++ {
				w, _ := affineAt(weight, nil, c0+k)
				off := ng*size + k*hw
				normGradRow(x[off:off+hw], dy[off:off+hw], dx[off:off+hw], is*w, a, b, mu, is)
			}
		}
	})
	if part == nil {
		return
	}
	for ch := 0; ch < c; ch++ {
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			sdy += part[2*(i*c+ch)]
			sdyx += part[2*(i*c+ch)+1]
		}
		if dweight != nil {
			dweight[ch] += float32(sdyx)
		}
		if dbias != nil {
			dbias[ch] += float32(sdy)
		}
	}
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
			xs := x[r*d : (r+1)*d]
			mu, is := rowStats(xs, eps)
			mean[r], invstd[r] = mu, is
			layerNormRow(xs, y[r*d:(r+1)*d], weight, bias, mu, is)
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
	}
	// The rows are cut into at most lnBlocks fixed blocks; each block sums
	// its rows' contributions to dweight and dbias in order into its own
	// partials, which are then summed in block order. The split depends on
	// rows only, so the result does not depend on the number of workers.
	nb := min(rows, lnBlocks)
	var part []float64 // per block: Σdy (d values), then Σdy·xhat (d values)
	if dweight != nil || dbias != nil {
		part = make([]float64, 2*nb*d)
	}
	Parallel(nb, normGrain(rows/max(nb, 1)*d), func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			var pdy, pdyx []float64
			if part != nil {
				pdy, pdyx = part[2*blk*d:(2*blk+1)*d], part[(2*blk+1)*d:(2*blk+2)*d]
			}
			for r := blk * rows / nb; r < (blk+1)*rows/nb; r++ {
				layerNormBackwardRow(x[r*d:(r+1)*d], dy[r*d:(r+1)*d], mean[r], invstd[r], weight, dx, r*d, pdy, pdyx)
			}
		}
	})
	if part == nil {
		return
	}
	for i := 0; i < d; i++ {
		var sdy, sdyx float64
		for blk := 0; blk < nb; blk++ {
			sdy += part[2*blk*d+i]
			sdyx += part[(2*blk+1)*d+i]
		}
		if dweight != nil {
			dweight[i] += float32(sdyx)
		}
		if dbias != nil {
			dbias[i] += float32(sdy)
		}
	}
}

// The inner loops below are leaf functions rather than loops inside the
// Parallel closures: inside a closure the compiler kept the loop counter on
// the stack, which made LayerNormForward about 5× slower (measured on this
// 2-core machine, November 2026).

// scaleShift computes ys[i] = xs[i]·scale + shift.
func scaleShift(xs, ys []float32, scale, shift float32) {
	ys = ys[:len(xs)]
	for i, v := range xs {
		ys[i] = v*scale + shift
	}
}

// normGradRow computes ds[i] += k·gs[i] - a - b·(xs[i]-mu)·is: the input
// gradient of a normalisation whose unit-wide sums are folded into a and b.
func normGradRow(xs, gs, ds []float32, k, a, b, mu, is float32) {
	gs, ds = gs[:len(xs)], ds[:len(xs)]
	for i, g := range gs {
		ds[i] += k*g - a - b*(xs[i]-mu)*is
	}
}

// layerNormRow computes ys[i] = (xs[i]-mu)·is·weight[i] + bias[i], with
// weight and bias optional.
func layerNormRow(xs, ys, weight, bias []float32, mu, is float32) {
	ys = ys[:len(xs)]
	switch {
	case weight != nil && bias != nil:
		w, b := weight[:len(xs)], bias[:len(xs)]
		for i, v := range xs {
			ys[i] = (v-mu)*is*w[i] + b[i]
		}
	case weight != nil:
		w := weight[:len(xs)]
		for i, v := range xs {
			ys[i] = (v - mu) * is * w[i]
		}
	case bias != nil:
		b := bias[:len(xs)]
		for i, v := range xs {
			ys[i] = (v-mu)*is + b[i]
		}
	default:
		for i, v := range xs {
			ys[i] = (v - mu) * is
		}
	}
}

// lnBlocks is the number of row blocks LayerNormBackward reduces the
// parameter gradients over: enough to keep 16 workers busy, few enough that
// the partial sums stay small (2·16·D float64).
const lnBlocks = 16

// layerNormBackwardRow handles one row: xs, gs are the row of x and dy,
// dx (may be nil) the whole input gradient with the row at off, and pdy,
// pdyx (nil or length D) the partial parameter gradients to add to.
func layerNormBackwardRow(xs, gs []float32, mu, is float32, weight, dx []float32, off int, pdy, pdyx []float64) {
	d := len(xs)
	gs = gs[:d]
	var a, b float32 // dx += is·dy·w - a - b·xhat
	var ds, w []float32
	if dx != nil {
		var su, sux float64 // Σ dy·w and Σ dy·w·xhat over the row
		if weight != nil {
			w = weight[:d]
			su, sux = gradMomentsWeighted(xs, gs, w, mu, is)
		} else {
			su, sux = gradMoments(xs, gs, mu, is)
		}
		a, b = is*float32(su/float64(d)), is*float32(sux/float64(d))
		ds = dx[off : off+d]
	}
	switch {
	case ds != nil && pdy != nil && w != nil:
		pdy, pdyx = pdy[:d], pdyx[:d]
		for i, g := range gs {
			xh := (xs[i] - mu) * is
			ds[i] += is*g*w[i] - a - b*xh
			pdy[i] += float64(g)
			pdyx[i] += float64(g) * float64(xh)
		}
	case ds != nil:
		for i, g := range gs {
			wi := float32(1)
			if w != nil {
				wi = w[i]
			}
			ds[i] += is*g*wi - a - b*(xs[i]-mu)*is
		}
		if pdy != nil {
			layerNormParamRow(xs, gs, mu, is, pdy, pdyx)
		}
	case pdy != nil:
		layerNormParamRow(xs, gs, mu, is, pdy, pdyx)
	}
}

// layerNormParamRow adds one row's dy and dy·xhat to the partial sums.
func layerNormParamRow(xs, gs []float32, mu, is float32, pdy, pdyx []float64) {
	gs, pdy, pdyx = gs[:len(xs)], pdy[:len(xs)], pdyx[:len(xs)]
	for i, g := range gs {
		pdy[i] += float64(g)
		pdyx[i] += float64(g) * float64((xs[i]-mu)*is)
	}
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
