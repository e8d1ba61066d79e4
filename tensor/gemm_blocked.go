package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Blocking of the packed SGEMM, after Goto and van de Geijn, "Anatomy of
// high-performance matrix multiplication" (ACM TOMS 34(3), 2008), in the loop
// order of BLIS: for a block of kc values of k, B is packed into nr-column
// panels and A into mr-row panels, and the micro-kernel runs over every
// (B panel, A panel) pair, B panel outermost so that it stays in L1.
//
// The sizes suit a core with 32 KiB L1d and 512 KiB L2 (the development VM):
// a 16×320 B panel (20 KiB) and a 6×320 A panel (7.5 KiB) fit L1 together, and
// an mc×kc block of A (at most 180 KiB) stays in L2.
const (
	gemmKC = 320  // most values of k per packed block; see kBlock
	gemmMC = 144  // rows of A packed at once (a multiple of every mr)
	gemmNC = 1024 // most columns of B a work unit packs (a multiple of every nr)

	// gemmMinParFlops is the work (2·m·n·k) below which Gemm stays on the
	// calling goroutine: smaller products finish before goroutines start.
	gemmMinParFlops = 2 * 64 * 64 * 64
)

// gemmBuffers are one worker's packing buffers, reused through gemmBufPool.
type gemmBuffers struct {
	a, b []float32 // packed A block and B block; grown on demand
	edge []float32 // an mr×nr scratch tile for partial tiles of C
}

var gemmBufPool = sync.Pool{New: func() any { return new(gemmBuffers) }}

// grow returns s resliced to n values, reallocating if it is too short.
func grow(s []float32, n int) []float32 { return growAtLeast(s, n, n) }

// growAtLeast is grow that, when it must reallocate, makes room for at
// least floor values: scratch buffers that serve products of many sizes
// through a sync.Pool then reach their largest size at once instead of
// growing step by step, wherever the pool hands them.
func growAtLeast(s []float32, n, floor int) []float32 {
	if cap(s) < n {
		return make([]float32, n, max(n, floor))
	}
	return s[:n]
}

// gemmBlocked computes C = alpha*op(A)*op(B) + beta*C with variant v on up to
// workers goroutines. m, n > 0 and the arguments are checked.
//
// C is cut into work units of whole mr×nr tiles: column stripes of at most
// gemmNC columns and, when there are fewer stripes than workers, row slices.
// Workers take units from a shared counter, so which goroutine computes a unit
// varies, but every element of C is computed the same way whatever the split
// and the number of workers: k is cut into blocks of kBlock(k), each block is
// reduced in k order by the micro-kernel, and blocks are added to C in k order.
// Results therefore depend only on the variant, not on GOMAXPROCS.
//
// pa, when not nil, is op(A) already packed by packAllA with the same variant
// and transA; a is then not read. pb, when not nil, is op(B) already packed
// in the layout packedBIndex gives; b is then not read.
func gemmBlocked(workers int, v *gemmVariant, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, pa []float32, b []float32, ldb int, pb []float32, beta float32, c []float32, ldc int) {
	if k == 0 || alpha == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	mr, nr := v.mr, v.nr
	if 2*m*n*k < gemmMinParFlops {
		workers = 1
	}

	// Column stripes: a multiple of the worker count when there are several,
	// so that equal stripes balance; at least 4 panels wide.
	stripes := ceilDiv(n, gemmNC)
	if workers > 1 {
		stripes = min(roundUp(stripes, workers), max(1, ceilDiv(n, 4*nr)))
	}
	nc := roundUp(ceilDiv(n, stripes), nr)
	stripes = ceilDiv(n, nc)
	// Row slices when the stripes alone cannot keep the workers busy.
	slices := 1
	if stripes < workers {
		slices = min(ceilDiv(workers, stripes), ceilDiv(m, mr))
	}
	mp := roundUp(ceilDiv(m, slices), mr)
	slices = ceilDiv(m, mp)
	units := slices * stripes

	if workers = min(workers, units); workers <= 1 {
		// Serial: no counter, no closure, so nothing is allocated.
		buf := gemmBufPool.Get().(*gemmBuffers)
		buf.edge = grow(buf.edge, mr*nr)
		for u := range units {
			i0, j0 := (u/stripes)*mp, (u%stripes)*nc
			gemmUnit(v, buf, transA, transB, i0, min(i0+mp, m), j0, min(j0+nc, n), m, n, k, alpha, a, lda, pa, b, ldb, pb, beta, c, ldc)
		}
		gemmBufPool.Put(buf)
		return
	}
	var next atomic.Int64
	run := func() {
		buf := gemmBufPool.Get().(*gemmBuffers)
		buf.edge = grow(buf.edge, mr*nr)
		for {
			u := int(next.Add(1) - 1)
			if u >= units {
				break
			}
			i0, j0 := (u/stripes)*mp, (u%stripes)*nc
			gemmUnit(v, buf, transA, transB, i0, min(i0+mp, m), j0, min(j0+nc, n), m, n, k, alpha, a, lda, pa, b, ldb, pb, beta, c, ldc)
		}
		gemmBufPool.Put(buf)
	}
	Parallel(workers, 1, func(lo, hi int) {
		for range hi - lo {
			run()
		}
	})
}

// gemmUnit computes rows [i0, i1) and columns [j0, j1) of the m×n C.
func gemmUnit(v *gemmVariant, buf *gemmBuffers, transA, transB bool, i0, i1, j0, j1, m, n, k int, alpha float32, a []float32, lda int, pa []float32, b []float32, ldb int, pb []float32, beta float32, c []float32, ldc int) {
	mr, nr := v.mr, v.nr
	nc := j1 - j0
	panelsN := ceilDiv(nc, nr)
	kb := kBlock(k)
	for pc := 0; pc < k; pc += kb {
		kc := min(kb, k-pc)
		var bb []float32
		if pb != nil {
			off := packedBIndex(nr, n, k, pc, j0)
			bb = pb[off : off+panelsN*nr*kc]
		} else {
			buf.b = growAtLeast(buf.b, panelsN*nr*kc, gemmNC*gemmKC)
			packB(v, transB, b, ldb, pc, kc, j0, nc, buf.b)
			bb = buf.b
		}
		betaP := beta
		if pc > 0 {
			betaP = 1 // later k blocks add to what the first one wrote
		}
		for ic := i0; ic < i1; ic += gemmMC {
			mc := min(gemmMC, i1-ic)
			panelsM := ceilDiv(mc, mr)
			var ap []float32
			if pa != nil {
				// Block pc of the prepacked A starts after pc/kb full
				// blocks of all rows; rows ic.. start at panel ic/mr.
				off := pc*roundUp(m, mr) + (ic/mr)*mr*kc
				ap = pa[off : off+panelsM*mr*kc]
			} else {
				buf.a = growAtLeast(buf.a, panelsM*mr*kc, gemmMC*gemmKC)
				packA(v, transA, a, lda, ic, mc, pc, kc, buf.a)
				ap = buf.a
			}
			for jp := range panelsN {
				jj := j0 + jp*nr
				nw := min(nr, j1-jj)
				bp := bb[jp*nr*kc : (jp+1)*nr*kc]
				for ip := range panelsM {
					ii := ic + ip*mr
					mh := min(mr, ic+mc-ii)
					ap := ap[ip*mr*kc : (ip+1)*mr*kc]
					gemmTile(v, buf.edge, kc, ap, bp, c[ii*ldc+jj:], ldc, mh, nw, alpha, betaP)
				}
			}
		}
	}
}

// gemmTile runs the micro-kernel of v on one mr×nr tile of C at c (row
// stride ldc) of which only mh rows and nw columns lie inside C. A full
// tile is written in place; a partial one is computed into edge (mr·nr
// values; the packed padding rows and columns are zero) and only its part
// inside C is stored.
func gemmTile(v *gemmVariant, edge []float32, kc int, ap, bp, c []float32, ldc, mh, nw int, alpha, beta float32) {
	mr, nr := v.mr, v.nr
	if mh == mr && nw == nr {
		v.kernel(kc, ap, bp, c, ldc, alpha, beta)
		return
	}
	v.kernel(kc, ap, bp, edge, nr, 1, 0)
	for i := range mh {
		e := edge[i*nr : i*nr+nw]
		crow := c[i*ldc : i*ldc+nw]
		if beta == 0 {
			for j, s := range e {
				crow[j] = alpha * s
			}
		} else {
			for j, s := range e {
				crow[j] = alpha*s + beta*crow[j]
			}
		}
	}
}

// gemmTileBias is gemmTile with alpha 1 for the first k block of a product
// whose C starts from a bias per row: it writes c[i][j] = s + bias[i] (bias
// holds the tile's mh values), the same values as beta 1 over C filled with
// the bias, without that fill: a fill just before the tile stalls the
// kernel's loads on the fresh stores, and one long before it is evicted.
func gemmTileBias(v *gemmVariant, edge []float32, kc int, ap, bp, c []float32, ldc, mh, nw int, bias []float32) {
	mr, nr := v.mr, v.nr
	if mh == mr && nw == nr && v.biasKernel != nil {
		v.biasKernel(kc, ap, bp, c, ldc, bias)
		return
	}
	v.kernel(kc, ap, bp, edge, nr, 1, 0)
	for i := range mh {
		e := edge[i*nr : i*nr+nw]
		crow := c[i*ldc : i*ldc+nw]
		for j, s := range e {
			crow[j] = s + bias[i]
		}
	}
}

// packAllA packs the whole m×k op(A) for variant v into dst, which holds
// roundUp(m, v.mr)·k values, in the order gemmBlocked reads it with its pa
// argument: for each block of kBlock(k) values of k, all rows as mr-row panels.
// Callers that multiply one A by many B (a convolution's weights by each
// image) pack it once.
func packAllA(v *gemmVariant, transA bool, m, k int, a []float32, lda int, dst []float32) {
	mr := v.mr
	mp := roundUp(m, mr)
	kb := kBlock(k)
	for pc := 0; pc < k; pc += kb {
		kc := min(kb, k-pc)
		// Panels are packed on all threads: a large layer's weights are
		// megabytes, packed at every call.
		Parallel(mp/mr, max(1, packGrain/(mr*kc)), func(q0, q1 int) {
			r0 := q0 * mr
			packA(v, transA, a, lda, r0, min(m, q1*mr)-r0, pc, kc, dst[pc*mp+r0*kc:pc*mp+q1*mr*kc])
		})
	}
}

// packGrain is the least number of packed values one goroutine copies.
const packGrain = 1 << 16

// packedBIndex is where op(B)[p][j] of a k×n op(B) sits when all of it is
// packed for tiles nr wide in the order gemmUnit reads it: for each block of
// kBlock(k) values of k, every column panel in turn, each panel kc rows of nr
// values, columns past n zero. It is packB's layout for the whole matrix.
func packedBIndex(nr, n, k, p, j int) int {
	kb := kBlock(k)
	pc := p - p%kb
	kc := min(kb, k-pc)
	return pc*roundUp(n, nr) + (j/nr)*nr*kc + (p-pc)*nr + j%nr
}

// packA copies rows [r0, r0+mc) and columns [pc, pc+kc) of op(A) into dst as
// panels of mr = v.mr rows: panel q holds dst[q*mr*kc + p*mr + i] = op(A)[r0+q*mr+i][pc+p],
// zero for rows past r0+mc.
func packA(v *gemmVariant, transA bool, a []float32, lda, r0, mc, pc, kc int, dst []float32) {
	mr := v.mr
	for q := range ceilDiv(mc, mr) {
		row := r0 + q*mr
		rows := min(mr, r0+mc-row)
		d := dst[q*mr*kc : (q+1)*mr*kc]
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each k step is a contiguous run of rows.
			if mr == 6 && rows == 6 {
				for p := range kc {
					s := a[(pc+p)*lda+row : (pc+p)*lda+row+6 : (pc+p)*lda+row+6]
					dp := d[p*6 : p*6+6 : p*6+6]
					dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = s[0], s[1], s[2], s[3], s[4], s[5]
				}
				continue
			}
			for p := range kc {
				src := a[(pc+p)*lda+row : (pc+p)*lda+row+rows]
				dp := d[p*mr : p*mr+mr]
				copy(dp, src)
				clear(dp[rows:])
			}
			continue
		}
		if mr == 6 && rows == 6 {
			// The common full panel: read six rows side by side and write
			// the panel in order, rather than striding through it.
			o := row*lda + pc
			done := 0
			if v.panelA6 != nil {
				done = v.panelA6(a[o:], lda, kc, d)
			}
			r0, r1, r2 := a[o:o+kc], a[o+lda:o+lda+kc], a[o+2*lda:o+2*lda+kc]
			r3, r4, r5 := a[o+3*lda:o+3*lda+kc], a[o+4*lda:o+4*lda+kc], a[o+5*lda:o+5*lda+kc]
			for p := done; p < kc; p++ {
				dp := d[p*6 : p*6+6 : p*6+6]
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		for i := range rows {
			src := a[(row+i)*lda+pc : (row+i)*lda+pc+kc]
			for p, x := range src {
				d[p*mr+i] = x
			}
		}
		for i := rows; i < mr; i++ {
			for p := range kc {
				d[p*mr+i] = 0
			}
		}
	}
}

// packB copies rows [pc, pc+kc) and columns [c0, c0+nc) of op(B) into dst as
// panels v.nr columns wide: panel q holds dst[q*nr*kc + p*nr + j] =
// op(B)[pc+p][c0+q*nr+j], zero for columns past c0+nc.
func packB(v *gemmVariant, transB bool, b []float32, ldb, pc, kc, c0, nc int, dst []float32) {
	nr := v.nr
	if !transB {
		// Row by row, so that B is read in order; each row is spread over
		// the panels.
		full := nc / nr
		for p := range kc {
			src := b[(pc+p)*ldb+c0 : (pc+p)*ldb+c0+nc]
			if nr == 16 {
				// A fixed-size array copy compiles to a few vector moves
				// where copy would call memmove for 64 bytes.
				for q := range full {
					*(*[16]float32)(dst[q*16*kc+p*16:]) = *(*[16]float32)(src[q*16:])
				}
			} else {
				for q := range full {
					copy(dst[q*nr*kc+p*nr:q*nr*kc+p*nr+nr], src[q*nr:q*nr+nr])
				}
			}
			if rest := nc - full*nr; rest > 0 {
				dp := dst[full*nr*kc+p*nr : full*nr*kc+p*nr+nr]
				copy(dp, src[full*nr:])
				clear(dp[rest:])
			}
		}
		return
	}
	for q := range ceilDiv(nc, nr) {
		col := c0 + q*nr
		cols := min(nr, c0+nc-col)
		d := dst[q*nr*kc : (q+1)*nr*kc]
		// op(B)[p][j] = b[j*ldb+p]: each column of op(B) is a contiguous row of b.
		done := 0
		if cols == nr && v.transPanel != nil {
			done = v.transPanel(b[col*ldb+pc:], ldb, kc, d)
		}
		for j := range cols {
			src := b[(col+j)*ldb+pc+done : (col+j)*ldb+pc+kc]
			for p, x := range src {
				d[(done+p)*nr+j] = x
			}
		}
		for j := cols; j < nr; j++ {
			for p := range kc {
				d[p*nr+j] = 0
			}
		}
	}
}

// scaleRows sets C = beta*C for an m×n C, writing zeros when beta == 0.
func scaleRows(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// kBlock returns how many values of k each packed block holds for a product
// with inner dimension k: k split evenly into as few blocks of at most
// gemmKC as possible, so that no block is left short (576 = 2×288, not
// 256+256+64; short blocks cost a pass over C each). It depends on k only,
// which keeps the rounding of every product fixed.
func kBlock(k int) int { return ceilDiv(k, ceilDiv(k, gemmKC)) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// gemmWorkers is the number of goroutines Gemm uses.
func gemmWorkers() int { return runtime.GOMAXPROCS(0) }
