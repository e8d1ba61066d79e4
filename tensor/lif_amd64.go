//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// useLIFAVX2 selects the assembly LIF scans; tests turn it off to compare
// with the pure-Go loops.
var useLIFAVX2 = cpu.X86.HasAVX2

// lifRowAVX computes one step of the scan along H over n lanes, n a
// multiple of 8: u = x[i] when first != 0, else u = float32(tau·c[i]) + x[i];
// y[i] = u if u > vth else vth; c[i] = 0 if u > vth else u.
//
//go:noescape
func lifRowAVX(y, c, x *float32, n int, tau, vth float32, first int)

// lifGroups4AVX runs the scan along W with groups of 4 over blocks·32
// values: for each group of 4, u = float32(tau·c) + x with c = 0 first, and
// y, c as lifRowAVX sets them.
//
//go:noescape
func lifGroups4AVX(y, x *float32, blocks int, tau, vth float32)

// lifRow runs lifRowAVX on the lanes it can take and returns how many.
func lifRow(y, c, x []float32, tau, vth float32, first bool) int {
	n := len(x) &^ 7
	if !useLIFAVX2 || n == 0 {
		return 0
	}
	_, _ = y[n-1], c[n-1]
	f := 0
	if first {
		f = 1
	}
	lifRowAVX(&y[0], &c[0], &x[0], n, tau, vth, f)
	return n
}

// lifGroups4 runs lifGroups4AVX on the whole blocks of 32 values at the
// start of x and returns how many values it scanned.
func lifGroups4(y, x []float32, tau, vth float32) int {
	blocks := len(x) / 32
	if !useLIFAVX2 || blocks == 0 {
		return 0
	}
	_ = y[32*blocks-1]
	lifGroups4AVX(&y[0], &x[0], blocks, tau, vth)
	return 32 * blocks
}

// lifMemAVX recomputes membranes along H over n lanes, n a multiple of 8:
// u[i] = float32(tau·c) + x[i], c = 0 if up[i] > vth else up[i].
//
//go:noescape
func lifMemAVX(u, up, x *float32, n int, tau, vth float32)

// lifBackStepAVX is one step of the backward scan along H over n lanes, n a
// multiple of 8, as lifBackStep documents; flags&1 adds du to gx and
// flags&2 accumulates the tau gradient from the previous membranes up.
//
//go:noescape
func lifBackStepAVX(du, gx, u, up, gy *float32, accTau, accVth *float64, n int, tau, vth float32, flags int)

// lifMem runs lifMemAVX on the lanes it can take and returns how many.
func lifMem(u, up, x []float32, tau, vth float32) int {
	n := len(x) &^ 7
	if !useLIFAVX2 || n == 0 {
		return 0
	}
	_, _ = u[n-1], up[n-1]
	lifMemAVX(&u[0], &up[0], &x[0], n, tau, vth)
	return n
}

// lifBackStepVec runs lifBackStepAVX on the lanes it can take and returns
// how many; gx and up may be nil.
func lifBackStepVec(du, gx, u, up, gy []float32, accTau, accVth []float64, tau, vth float32) int {
	n := len(u) &^ 7
	if !useLIFAVX2 || n == 0 {
		return 0
	}
	_, _, _, _ = du[n-1], gy[n-1], accTau[n-1], accVth[n-1]
	flags := 0
	pgx, pup := &du[0], &du[0] // not read without their flags
	if gx != nil {
		_ = gx[n-1]
		flags |= 1
		pgx = &gx[0]
	}
	if up != nil {
		_ = up[n-1]
		flags |= 2
		pup = &up[0]
	}
	lifBackStepAVX(&du[0], pgx, &u[0], pup, &gy[0], &accTau[0], &accVth[0], n, tau, vth, flags)
	return n
}

// lifBackGroups4AVX is the backward scan along W with groups of 4 over
// blocks·32 values, as lifBackwardW computes it: gx += du when hasGx != 0,
// and per column accTau += du·c, accVth += the output gradient where the
// membrane did not fire, in float64.
//
//go:noescape
func lifBackGroups4AVX(gx, x, gy *float32, accTau, accVth *float64, blocks int, tau, vth float32, hasGx int)

// lifBackGroups4 runs lifBackGroups4AVX on the whole blocks of 32 values
// at the start of x and returns how many values it took; gx may be nil.
func lifBackGroups4(gx, x, gy []float32, accTau, accVth []float64, tau, vth float32) int {
	blocks := len(x) / 32
	if !useLIFAVX2 || blocks == 0 {
		return 0
	}
	n := 32 * blocks
	_, _, _ = gy[n-1], accTau[n-1], accVth[n-1]
	pgx, has := &x[0], 0 // not written without hasGx
	if gx != nil {
		_ = gx[n-1]
		pgx, has = &gx[0], 1
	}
	lifBackGroups4AVX(pgx, &x[0], &gy[0], &accTau[0], &accVth[0], blocks, tau, vth, has)
	return n
}
