package tensor

import (
	"fmt"
	"math"
)

// errBadLIF is the panic string for an invalid LIF axis or group length.
const errBadLIF = "tensor: bad LIF argument"

// Axes along which LIF scans an NCHW tensor.
const (
	LIFAlongH = 2 // the recurrence runs top to bottom within each column
	LIFAlongW = 3 // the recurrence runs left to right within each row
)

// LIF runs the leaky integrate-and-fire scan of SNN-MLP (Li et al., CVPR
// 2022, https://arxiv.org/abs/2203.14679) over the NCHW tensor x along axis
// (LIFAlongH or LIFAlongW) and writes the result to y, which has x's shape
// and must not alias it.
//
// The axis of length L is cut into floor(L/group) contiguous groups starting
// at index 0; each group starts with a fresh membrane, and the last L mod
// group positions are copied through unchanged. Within a group, for
// t = 0..group-1:
//
//	u     = tau*carry + x[t]       // carry = 0 at t = 0
//	fire  = u > vth                // strict
//	y[t]  = u if fire else vth     // = max(u, vth)
//	carry = 0 if fire else u       // hard reset
//
// tau and vth are scalars shared by every element. The product tau*carry is
// rounded to float32 before the addition, as PyTorch computes it.
//
// Work is split over the planes (n, c), and every element is computed the
// same way whatever the split. LIF panics if x is not 4-D, the shapes
// differ, axis is neither LIFAlongH nor LIFAlongW, or group < 1.
func LIF(y, x *Tensor, axis, group int, tau, vth float32) {
	n, c, h, w := checkLIF("LIF", x, y, axis, group)
	planes, plane := n*c, h*w
	if planes*plane == 0 {
		return
	}
	xd, yd := x.data, y.data
	Parallel(planes, lifGrain(plane), func(lo, hi int) {
		var carry []float32
		if axis == LIFAlongH {
			carry = make([]float32, w)
		}
		for p := lo; p < hi; p++ {
			xs, ys := xd[p*plane:(p+1)*plane], yd[p*plane:(p+1)*plane]
			if axis == LIFAlongH {
				lifForwardH(ys, xs, w, group, tau, vth, carry)
			} else {
				lifForwardW(ys, xs, h, w, group, tau, vth)
			}
		}
	})
}

// LIFBackward accumulates into gx the gradient of a loss with respect to the
// input of LIF(y, x, axis, group, tau, vth), given gy, the gradient with
// respect to y, and returns the gradients with respect to tau and vth. The
// firing flags are held constant; they are recomputed from x exactly as the
// forward pass computed them. Within a group, for t = group-1 down to 0:
//
//	du[t]  = fire[t]*gy[t] + (1-fire[t])*tau*du[t+1]     // du[group] = 0
//	gx[t] += du[t]
//	gtau  += du[t]*carry[t]
//	gvth  += (1-fire[t])*gy[t]
//
// Pass-through positions add gy to gx unchanged and add nothing to gtau or
// gvth. gx may be nil when only gtau and gvth are wanted.
//
// The sums for tau and vth are formed per plane (n, c) in float64 and added
// in plane order, so they do not depend on how planes were split across
// threads. LIFBackward panics on the same conditions as LIF, and if gx is
// not nil and differs in shape from x.
func LIFBackward(gx, x, gy *Tensor, axis, group int, tau, vth float32) (gtau, gvth float32) {
	n, c, h, w := checkLIF("LIFBackward", x, gy, axis, group)
	if gx != nil {
		MustSameShape("LIFBackward", x.shape, gx.shape)
	}
	planes, plane := n*c, h*w
	if planes*plane == 0 {
		return 0, 0
	}
	partTau := make([]float64, planes)
	partVth := make([]float64, planes)
	xd, gyd := x.data, gy.data
	var gxd []float32
	if gx != nil {
		gxd = gx.data
	}
	Parallel(planes, lifGrain(plane), func(lo, hi int) {
		var scratch []float32
		var acc []float64 // partial sums of the tau and Vth gradients
		if axis == LIFAlongH {
			scratch = make([]float32, (group+1)*w)
			acc = make([]float64, 2*w)
		} else {
			scratch = make([]float32, group)
			acc = make([]float64, 2*plane)
		}
		for p := lo; p < hi; p++ {
			xs, gys := xd[p*plane:(p+1)*plane], gyd[p*plane:(p+1)*plane]
			var gxs []float32
			if gxd != nil {
				gxs = gxd[p*plane : (p+1)*plane]
			}
			if axis == LIFAlongH {
				partTau[p], partVth[p] = lifBackwardH(gxs, xs, gys, w, group, tau, vth, scratch, acc)
			} else {
				partTau[p], partVth[p] = lifBackwardW(gxs, xs, gys, h, w, group, tau, vth, scratch, acc)
			}
		}
	})
	var st, sv float64
	for p := range partTau {
		st += partTau[p]
		sv += partVth[p]
	}
	return float32(st), float32(sv)
}

// lifGrain is the least number of planes of the given size that one worker
// takes, so that small tensors stay on the calling goroutine.
func lifGrain(plane int) int {
	const minWork = 1 << 14 // elements; below this a goroutine costs more than it saves
	return max(1, minWork/max(plane, 1))
}

func checkLIF(op string, x, y *Tensor, axis, group int) (n, c, h, w int) {
	if len(x.shape) != 4 {
		panic(fmt.Sprintf("%s: %s needs NCHW, got %v", errShapeMismatch, op, x.shape))
	}
	MustSameShape(op, x.shape, y.shape)
	if axis != LIFAlongH && axis != LIFAlongW {
		panic(fmt.Sprintf("%s: %s axis %d (want 2 for H or 3 for W)", errBadLIF, op, axis))
	}
	if group < 1 {
		panic(fmt.Sprintf("%s: %s group length %d (want >= 1)", errBadLIF, op, group))
	}
	return x.shape[0], x.shape[1], x.shape[2], x.shape[3]
}

// lifForwardH scans one plane of rows of width w along H. Columns are
// independent lanes, so each step is a loop over a whole row; carry holds
// the lanes' carried membranes (len w).
func lifForwardH(y, x []float32, w, group int, tau, vth float32, carry []float32) {
	h := len(x) / w
	full := h / group * group
	for r0 := 0; r0 < full; r0 += group {
		xr, yr, cr := x[r0*w:(r0+1)*w], y[r0*w:(r0+1)*w], carry[:w]
		for j := lifRow(yr, cr, xr, tau, vth, true); j < w; j++ { // t = 0: fresh membrane, u = x
			yr[j], cr[j] = lifStep(xr[j], vth)
		}
		for t := 1; t < group; t++ {
			xr, yr := x[(r0+t)*w:(r0+t+1)*w], y[(r0+t)*w:(r0+t+1)*w]
			for j := lifRow(yr, cr, xr, tau, vth, false); j < w; j++ {
				yr[j], cr[j] = lifStep(float32(tau*cr[j])+xr[j], vth)
			}
		}
	}
	copy(y[full*w:], x[full*w:])
}

// lifForwardW scans one h×w plane along W, group by group within each row.
func lifForwardW(y, x []float32, h, w, group int, tau, vth float32) {
	full := w / group * group
	done := 0 // values the vector scan took at the start of the plane
	if group == 4 && full == w {
		// No pass-through columns: the plane is one run of whole groups.
		done = lifGroups4(y, x, tau, vth)
	}
	for r := done / w; r < h; r++ {
		xr, yr := x[r*w:(r+1)*w], y[r*w:(r+1)*w]
		g0 := 0
		switch {
		case done > 0 && r == done/w:
			g0 = done % w
		case group == 4:
			g0 = lifGroups4(yr[:full], xr[:full], tau, vth)
		}
		for ; g0 < full; g0 += group {
			xg, yg := xr[g0:g0+group], yr[g0:g0+group]
			var c float32
			for t, xv := range xg {
				yg[t], c = lifStep(float32(tau*c)+xv, vth)
			}
		}
		copy(yr[full:], xr[full:])
	}
}

// lifBackwardH is LIFBackward for one plane along H. scratch holds
// (group+1)*w values: the group's membranes, then the lanes' du; acc holds
// 2*w per-column partial sums of the tau and Vth gradients, added up in
// column order at the end, so that the lanes run independently (and eight
// at a time in lifBackStepVec) with the same result.
func lifBackwardH(gx, x, gy []float32, w, group int, tau, vth float32, scratch []float32, acc []float64) (gtau, gvth float64) {
	h := len(x) / w
	full := h / group * group
	mem, du := scratch[:group*w], scratch[group*w:(group+1)*w]
	accTau, accVth := acc[:w], acc[w:2*w]
	clear(acc)
	for r0 := 0; r0 < full; r0 += group {
		// Recompute the membranes u[t] of the group.
		copy(mem[:w], x[r0*w:(r0+1)*w])
		for t := 1; t < group; t++ {
			xr, up, ur := x[(r0+t)*w:(r0+t+1)*w], mem[(t-1)*w:t*w], mem[t*w:(t+1)*w]
			for j := lifMem(ur, up, xr, tau, vth); j < w; j++ {
				_, c := lifStep(up[j], vth)
				ur[j] = float32(tau*c) + xr[j]
			}
		}
		clear(du)
		for t := group - 1; t >= 0; t-- {
			ur, gr := mem[t*w:(t+1)*w], gy[(r0+t)*w:(r0+t+1)*w]
			var gxr, up []float32
			if gx != nil {
				gxr = gx[(r0+t)*w : (r0+t+1)*w]
			}
			if t > 0 {
				up = mem[(t-1)*w : t*w]
			}
			for j := lifBackStepVec(du, gxr, ur, up, gr, accTau, accVth, tau, vth); j < w; j++ {
				fire := lifFire(ur[j], vth)
				du[j] = lifSelect(fire, gr[j], tau*du[j])
				accVth[j] += float64(lifSelect(fire, 0, gr[j]))
				if gxr != nil {
					gxr[j] += du[j]
				}
				if up != nil {
					_, c := lifStep(up[j], vth)
					accTau[j] += float64(du[j]) * float64(c)
				}
			}
		}
	}
	if gx != nil {
		for i, g := range gy[full*w:] {
			gx[full*w+i] += g
		}
	}
	for j := range accTau {
		gtau += accTau[j]
		gvth += accVth[j]
	}
	return gtau, gvth
}

// lifBackwardW is LIFBackward for one h×w plane along W. scratch holds group
// values: the membranes of the current group; acc holds 2·h·w values, each
// element's terms of the tau and Vth gradients by position, which sumTerms
// then adds up, so that groups run independently (and eight at a time in
// lifBackGroups4) with the same result.
func lifBackwardW(gx, x, gy []float32, h, w, group int, tau, vth float32, scratch []float32, acc []float64) (gtau, gvth float64) {
	full := w / group * group
	mem := scratch[:group]
	accTau, accVth := acc[:h*w], acc[h*w:2*h*w]
	clear(acc)
	done := 0 // values the vector scan took at the start of the plane
	if group == 4 && full == w {
		// No pass-through columns: the plane is one run of whole groups.
		done = lifBackGroups4(gx, x, gy, accTau, accVth, tau, vth)
	}
	for r := done / w; r < h; r++ {
		xr, gr := x[r*w:(r+1)*w], gy[r*w:(r+1)*w]
		at, av := accTau[r*w:(r+1)*w], accVth[r*w:(r+1)*w]
		var gxr []float32
		if gx != nil {
			gxr = gx[r*w : (r+1)*w]
		}
		g0 := 0
		switch {
		case done > 0 && r == done/w:
			g0 = done % w
		case group == 4:
			g0 = lifBackGroups4(gxr, xr[:full], gr, at, av, tau, vth)
		}
		for ; g0 < full; g0 += group {
			var c float32
			for t, xv := range xr[g0 : g0+group] {
				u := float32(tau*c) + xv
				mem[t] = u
				_, c = lifStep(u, vth)
			}
			var du float32
			gg := gr[g0 : g0+group]
			for t := group - 1; t >= 0; t-- {
				fire := lifFire(mem[t], vth)
				du = lifSelect(fire, gg[t], tau*du)
				av[g0+t] = float64(lifSelect(fire, 0, gg[t]))
				if gxr != nil {
					gxr[g0+t] += du
				}
				if t > 0 {
					_, c := lifStep(mem[t-1], vth)
					at[g0+t] = float64(du) * float64(c)
				}
			}
		}
		if gxr != nil {
			for i, g := range gr[full:] {
				gxr[full+i] += g
			}
		}
	}
	return sumTerms(accTau), sumTerms(accVth)
}

// sumTerms returns the sum of s in four interleaved partial sums (element
// i in sum i mod 4) added pairwise: four independent chains of additions.
func sumTerms(s []float64) float64 {
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		b := s[i : i+4 : i+4]
		a0 += b[0]
		a1 += b[1]
		a2 += b[2]
		a3 += b[3]
	}
	a := [4]float64{a0, a1, a2, a3}
	for j, v := range s[i:] {
		a[j] += v
	}
	return (a[0] + a[1]) + (a[2] + a[3])
}

// lifStep returns the output and the carried membrane of one step with
// membrane u:
//
//	if u > vth { return u, 0 }
//	return vth, u
//
// It selects with a sign mask instead of a branch, because firing is
// unpredictable and a mispredicted branch per element costs several times
// the arithmetic: vth-u is negative exactly when u > vth (IEEE subtraction
// never rounds a nonzero difference to zero, and u == vth gives +0).
func lifStep(u, vth float32) (y, carry float32) {
	fire := lifFire(u, vth)
	return lifSelect(fire, u, vth), lifSelect(fire, 0, u)
}

// lifFire returns all ones when u > vth and zero otherwise.
func lifFire(u, vth float32) uint32 {
	return uint32(int32(math.Float32bits(vth-u)) >> 31)
}

// lifSelect returns a where mask is all ones and b where it is zero.
func lifSelect(mask uint32, a, b float32) float32 {
	return math.Float32frombits(math.Float32bits(a)&mask | math.Float32bits(b)&^mask)
}
