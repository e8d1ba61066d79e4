package tensor

import (
	"fmt"
	"sync"
)

// errConvParams prefixes the panic of a convolution given inconsistent
// parameters or buffers.
const errConvParams = "tensor: bad convolution"

// ConvParams describes a 2-D convolution over NCHW images, as PyTorch's
// torch.nn.functional.conv2d does: N images of C channels and H×W pixels,
// K output channels, a KH×KW kernel, and per axis a stride, a zero padding
// added on both sides and a dilation. Channels are split into Groups groups
// of C/Groups inputs and K/Groups outputs; Groups == C == K is a depthwise
// convolution.
//
// Every stride, dilation and Groups must be at least 1 (PyTorch's defaults are
// stride 1, padding 0, dilation 1, groups 1). The weights are K×(C/Groups)×KH×KW.
type ConvParams struct {
	N, C, H, W           int // input: N×C×H×W
	K, KH, KW            int // output channels and kernel size
	StrideH, StrideW     int
	PadH, PadW           int
	DilationH, DilationW int
	Groups               int
}

// OutH returns the output height, (H + 2·PadH − DilationH·(KH−1) − 1)/StrideH + 1.
func (p ConvParams) OutH() int {
	return (p.H+2*p.PadH-p.DilationH*(p.KH-1)-1)/p.StrideH + 1
}

// OutW returns the output width, (W + 2·PadW − DilationW·(KW−1) − 1)/StrideW + 1.
func (p ConvParams) OutW() int {
	return (p.W+2*p.PadW-p.DilationW*(p.KW-1)-1)/p.StrideW + 1
}

// Validate reports whether p describes a convolution with a non-empty output.
func (p ConvParams) Validate() error {
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.KH < 1 || p.KW < 1:
		return fmt.Errorf("%s: sizes N=%d C=%d H=%d W=%d K=%d KH=%d KW=%d: want N >= 0 and the others >= 1", errConvParams, p.N, p.C, p.H, p.W, p.K, p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1 || p.DilationH < 1 || p.DilationW < 1 || p.Groups < 1:
		return fmt.Errorf("%s: stride %dx%d, dilation %dx%d, groups %d: each must be >= 1", errConvParams, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.Groups)
	case p.PadH < 0 || p.PadW < 0:
		return fmt.Errorf("%s: padding %dx%d is negative", errConvParams, p.PadH, p.PadW)
	case p.C%p.Groups != 0 || p.K%p.Groups != 0:
		return fmt.Errorf("%s: %d input and %d output channels do not split into %d groups", errConvParams, p.C, p.K, p.Groups)
	case p.OutH() < 1 || p.OutW() < 1:
		return fmt.Errorf("%s: %dx%d input with padding %dx%d is smaller than the dilated %dx%d kernel", errConvParams, p.H, p.W, p.PadH, p.PadW, p.KH, p.KW)
	}
	return nil
}

// depthwise reports whether each output channel reads exactly its own input
// channel, which the direct depthwise kernels handle.
func (p ConvParams) depthwise() bool { return p.Groups == p.C && p.K == p.C }

// pointwise reports whether the convolution is a plain matrix product: a 1×1
// kernel with stride 1 and no padding reads each pixel once, so the image
// (C×H·W) is its own im2col matrix.
func (p ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0
}

// check panics unless p is valid and the buffers have the sizes p implies.
func (p ConvParams) check(op string, x, w, bias, y []float32) {
	if err := p.Validate(); err != nil {
		panic(op + ": " + err.Error())
	}
	lens := []struct {
		name   string
		got    []float32
		want   int
		mayNil bool
	}{
		{"input", x, p.N * p.C * p.H * p.W, false},
		{"weight", w, p.K * (p.C / p.Groups) * p.KH * p.KW, false},
		{"bias", bias, p.K, true},
		{"output", y, p.N * p.K * p.OutH() * p.OutW(), false},
	}
	for _, l := range lens {
		if l.mayNil && l.got == nil {
			continue
		}
		if len(l.got) != l.want {
			panic(fmt.Sprintf("%s: %s: %s has %d values, want %d for %+v", errConvParams, op, l.name, len(l.got), l.want, p))
		}
	}
}

// Conv2d computes the cross-correlation of PyTorch's conv2d:
//
//	y[n][k][oh][ow] = bias[k] + Σ_{c,i,j} w[k][c][i][j] · x[n][g·C/G+c][oh·sh−ph+i·dh][ow·sw−pw+j·dw]
//
// for group g = k/(K/G), with x zero outside the image. x is N×C×H×W, w is
// K×(C/G)×KH×KW, bias is nil or K values, and y (N×K×OutH×OutW) is
// overwritten. It panics if p is invalid or a buffer has the wrong length.
//
// Depthwise convolutions (Groups == C == K) run a direct kernel; 1×1
// stride-1 unpadded ones whose weights outgrow panelsFitBytes are one
// matrix product per group over the pixels of all images (pointwiseProducts);
// the others gather, for each
// panel of output pixels as wide as the GEMM micro-tile, their patches
// straight into the packed layout of the product's B operand and multiply
// it by the prepacked weights while it is in cache. Results do not depend
// on GOMAXPROCS.
func Conv2d(p ConvParams, x, w, bias, y []float32) {
	p.check("Conv2d", x, w, bias, y)
	if p.N == 0 {
		return
	}
	if p.depthwise() {
		depthwiseForward(p, x, w, bias, y)
		return
	}
	v := currentGemm()
	pw := packWeights(v, p, w, false)
	defer packPool.Put(pw)
	if p.pointwise() && !p.panelsFit(v) {
		pointwiseProducts(v, p, false, *pw, x, bias, y, pointwisePackFloats)
		return
	}
	convPanels(v, p, *pw, x, bias, y, false)
}

// panelsFitBytes bounds one group's packed weights for the panel-wise
// pointwise convolution: they are read again for every panel of pixels,
// so they must stay in L2 (512 KiB here) next to the panel.
const panelsFitBytes = 256 << 10

// panelsFit reports whether one group's packed weights fit panelsFitBytes,
// so that a pointwise convolution runs panel by panel (convPanels) rather
// than as one product over all images (pointwiseProducts), which reads large
// weights once per block of the product instead of once per panel.
func (p ConvParams) panelsFit(v *gemmVariant) bool {
	return 4*packedWeightsLen(v, p, false) <= panelsFitBytes
}

// convPanels runs convForwardPanels over every image, group and panel of
// v.nr output pixels, the units of work, which workers take in runs handed
// out in turn (Parallel). With accumulate, y is added to rather than
// overwritten (bias must then be nil).
func convPanels(v *gemmVariant, p ConvParams, pw, x, bias, y []float32, accumulate bool) {
	ohw := p.OutH() * p.OutW()
	panels := ceilDiv(ohw, v.nr)
	Parallel(p.N*p.Groups*panels, 1, func(lo, hi int) {
		buf := gemmBufPool.Get().(*gemmBuffers)
		buf.edge = grow(buf.edge, v.mr*v.nr)
		for u := lo; u < hi; {
			ng, q := u/panels, u%panels
			end := min(panels, q+hi-u)
			convForwardPanels(v, p, pw, x, bias, y, ng/p.Groups, ng%p.Groups, q*v.nr, min(end*v.nr, ohw), accumulate, buf)
			u += end - q
		}
		gemmBufPool.Put(buf)
	})
}

// convForwardPanels computes output pixels [j0, j1) (j0 a multiple of v.nr)
// of group g of image n without an im2col matrix: for each panel of v.nr
// pixels it gathers their patches straight into the packed layout of the
// GEMM's B operand (gatherPanel, a buffer that stays in cache) and runs
// every panel of the packed weights pw over it, k blocks in order, the
// first one adding the bias. Each output is computed the same way
// whatever range of pixels a call covers.
func convForwardPanels(v *gemmVariant, p ConvParams, pw, x, bias, y []float32, n, g, j0, j1 int, accumulate bool, buf *gemmBuffers) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	rows := cg * p.KH * p.KW
	mr, nr := v.mr, v.nr
	kb, mp := kBlock(rows), roundUp(kg, mr)
	xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
	yg := y[(n*p.K+g*kg)*ohw : (n*p.K+(g+1)*kg)*ohw]
	wg := pw[g*packedWeightsLen(v, p, false) : (g+1)*packedWeightsLen(v, p, false)]
	buf.b = grow(buf.b, rows*nr)
	for jj := j0; jj < j1; jj += nr {
		nw := min(nr, j1-jj)
		gatherPanel(v, p, xg, buf.b, nr, jj, nw)
		beta := float32(0)
		if accumulate {
			beta = 1
		}
		for pc := 0; pc < rows; pc += kb {
			kc := min(kb, rows-pc)
			bp := buf.b[pc*nr : (pc+kc)*nr]
			for ii := 0; ii < kg; ii += mr {
				ap := wg[pc*mp+ii*kc : pc*mp+(ii+mr)*kc]
				mh := min(mr, kg-ii)
				if pc == 0 && bias != nil {
					gemmTileBias(v, buf.edge, kc, ap, bp, yg[ii*ohw+jj:], ohw, mh, nw, bias[g*kg+ii:g*kg+ii+mh])
					continue
				}
				gemmTile(v, buf.edge, kc, ap, bp, yg[ii*ohw+jj:], ohw, mh, nw, 1, beta)
			}
			beta = 1 // later k blocks add to what the first one wrote
		}
	}
}

// gatherPanel writes the patches of output pixels [o0, o0+nw) (flattened
// over OutH×OutW) of one group's image x into dst as one packed B panel nr
// wide: dst[r·nr + t] is the input value kernel row r = (c·KH+i)·KW+j reads
// for pixel o0+t, zero in the padding and for t >= nw. For each tap and run
// of pixels in one output row, the channels are one strided copy (v.copyRows).
func gatherPanel(v *gemmVariant, p ConvParams, x, dst []float32, nr, o0, nw int) {
	cg, taps := p.C/p.Groups, p.KH*p.KW
	ow, hw := p.OutW(), p.H*p.W
	ds := taps * nr // from one channel's row of the panel to the next's
	if p.pointwise() {
		// The image is its own patch matrix: one copy of nw pixels per channel.
		v.copyRows(nw, cg, dst, nr, x[o0:], hw)
		if nw < nr {
			for c := range cg {
				clear(dst[c*nr+nw : (c+1)*nr])
			}
		}
		return
	}
	for o := o0; o < o0+nw; {
		oy, ox := o/ow, o%ow
		seg := min(o0+nw-o, ow-ox) // pixels of this output row in the panel
		t := o - o0
		for i := range p.KH {
			iy := oy*p.StrideH + i*p.DilationH - p.PadH
			for j := range p.KW {
				d0 := (i*p.KW+j)*nr + t
				offW := j*p.DilationW - p.PadW
				lo, hi := validRange(ow, p.StrideW, offW, p.W)
				lo, hi = min(max(lo, ox), ox+seg)-ox, max(min(hi, ox+seg), ox)-ox
				if iy < 0 || iy >= p.H || lo == hi {
					lo, hi = seg, seg // all padding
				}
				if lo > 0 || hi < seg {
					for c := range cg {
						d := dst[c*ds+d0 : c*ds+d0+seg]
						clear(d[:lo])
						clear(d[hi:])
					}
				}
				if lo == hi {
					continue
				}
				ix := iy*p.W + (ox+lo)*p.StrideW + offW
				if p.StrideW == 1 {
					v.copyRows(hi-lo, cg, dst[d0+lo:], ds, x[ix:], hw)
					continue
				}
				for c := range cg {
					d, src := dst[c*ds+d0+lo:c*ds+d0+hi], x[c*hw+ix:]
					for u := range d {
						d[u] = src[u*p.StrideW]
					}
				}
			}
		}
		o += seg
	}
	if nw < nr {
		for r := range cg * taps {
			clear(dst[r*nr+nw : (r+1)*nr])
		}
	}
}

// Conv2dBackwardData adds the gradient of Conv2d with respect to its input to
// dx (N×C×H×W), given the output gradient dy (N×K×OutH×OutW) and the weights:
//
//	dx[n][g·C/G+c][ih][iw] += Σ_{k in g,i,j: ih = oh·sh−ph+i·dh, iw = ow·sw−pw+j·dw} w[k][c][i][j] · dy[n][k][oh][ow]
//
// It panics if p is invalid or a buffer has the wrong length.
func Conv2dBackwardData(p ConvParams, dy, w, dx []float32) {
	p.check("Conv2dBackwardData", dx, w, nil, dy)
	if p.N == 0 {
		return
	}
	if p.depthwise() {
		depthwiseBackwardData(p, dy, w, dx)
		return
	}
	v := currentGemm()
	if q, ok := p.adjoint(); ok && (!p.pointwise() || q.panelsFit(v)) {
		// dx is the stride-1 convolution of dy with the flipped,
		// transposed weights: the forward panels, with no col2im.
		wt := packPool.Get().(*[]float32)
		defer packPool.Put(wt)
		*wt = grow(*wt, len(w))
		adjointWeights(p, w, *wt)
		pw := packWeights(v, q, *wt, false)
		defer packPool.Put(pw)
		convPanels(v, q, *pw, dy, nil, dx, true)
		return
	}
	pw := packWeights(v, p, w, true)
	defer packPool.Put(pw)
	if p.pointwise() {
		pointwiseProducts(v, p, true, *pw, dy, nil, dx, pointwisePackFloats)
		return
	}
	perImage(p, func(n int, col []float32, serial bool) {
		convBackwardDataImage(v, p, *pw, dy, dx, n, col, serial)
	})
}

// adjoint returns the convolution whose output is the input gradient of p
// (Conv2dBackwardData) and true, when there is one: for stride 1 with
// padding at most the dilated kernel's reach, the input
// gradient is the convolution of the output gradient (K channels,
// OutH×OutW) with the weights flipped in space and transposed per group
// (adjointWeights), padded by dilation·(kernel−1) − padding, which yields
// H×W.
func (p ConvParams) adjoint() (ConvParams, bool) {
	reachH, reachW := p.DilationH*(p.KH-1), p.DilationW*(p.KW-1)
	if p.StrideH != 1 || p.StrideW != 1 || p.PadH > reachH || p.PadW > reachW {
		return ConvParams{}, false
	}
	q := p
	q.C, q.H, q.W, q.K = p.K, p.OutH(), p.OutW(), p.C
	q.PadH, q.PadW = reachH-p.PadH, reachW-p.PadW
	return q, true
}

// adjointWeights writes into wt (C×(K/G)×KH×KW) the weights of p.adjoint:
// wt[g·C/G+c][k][i][j] = w[g·K/G+k][c][KH−1−i][KW−1−j].
func adjointWeights(p ConvParams, w, wt []float32) {
	cg, kg, taps := p.C/p.Groups, p.K/p.Groups, p.KH*p.KW
	for g := range p.Groups {
		for k := range kg {
			for c := range cg {
				src := w[((g*kg+k)*cg+c)*taps : ((g*kg+k)*cg+c+1)*taps]
				dst := wt[((g*cg+c)*kg+k)*taps : ((g*cg+c)*kg+k+1)*taps]
				for t, x := range src {
					dst[taps-1-t] = x
				}
			}
		}
	}
}

// Conv2dBackwardFilter adds the gradients of Conv2d with respect to its
// weights and bias to dw (K×(C/G)×KH×KW) and dbias (K values, or nil to skip),
// given the input x and the output gradient dy:
//
//	dw[k][c][i][j] += Σ_{n,oh,ow} dy[n][k][oh][ow] · x[n][g·C/G+c][oh·sh−ph+i·dh][ow·sw−pw+j·dw]
//	dbias[k]       += Σ_{n,oh,ow} dy[n][k][oh][ow]
//
// Images are summed in order, so the result does not depend on GOMAXPROCS.
// It panics if p is invalid or a buffer has the wrong length.
func Conv2dBackwardFilter(p ConvParams, x, dy, dw, dbias []float32) {
	p.check("Conv2dBackwardFilter", x, dw, dbias, dy)
	if p.N == 0 {
		return
	}
	if dbias != nil {
		ohw := p.OutH() * p.OutW()
		Parallel(p.K, max(1, (1<<16)/(p.N*ohw)), func(k0, k1 int) {
			for k := k0; k < k1; k++ {
				for n := range p.N {
					dbias[k] += sum8(dy[(n*p.K+k)*ohw : (n*p.K+k+1)*ohw])
				}
			}
		})
	}
	if p.depthwise() {
		depthwiseBackwardFilter(p, x, dy, dw)
		return
	}
	// Per group, dw_g += dy_g · col_gᵀ: the A operand, dy, packs six rows
	// at a time and the B operand, the patches, is packed transposed, eight
	// by eight. Workers split dw_g along its longer side, output channels
	// (rows) or input channels (columns), so that only the smaller operand
	// is packed again by every worker; each computes whole blocks of dw_g,
	// summing the images in order, so every element is computed the same
	// way whatever the split.
	cg, kg := p.C/p.Groups, p.K/p.Groups
	byRows := kg > cg*p.KH*p.KW
	per := cg
	if byRows {
		per = kg
	}
	units := p.Groups * per
	v := currentGemm()
	Parallel(units, ceilDiv(units, 2*gemmWorkers()), func(lo, hi int) {
		col := getCol(p)
		for u := lo; u < hi; {
			g, i0 := u/per, u%per
			i1 := min(per, i0+hi-u)
			c0, c1, k0, k1 := i0, i1, 0, kg
			if byRows {
				c0, c1, k0, k1 = 0, cg, i0, i1
			}
			for n := range p.N {
				convBackwardFilterBlock(v, p, x, dy, dw, n, g, c0, c1, k0, k1, *col)
			}
			u += i1 - i0
		}
		putCol(col)
	})
}

// colPool holds im2col buffers; one per goroutine doing convolution work.
var colPool sync.Pool

// colChunkFloats bounds an im2col chunk: 96 Ki values (384 KiB) stay in a
// 512 KiB L2 cache while the product packs them, where a whole 64-channel 3×3
// 56×56 image (7 MiB) would not.
const colChunkFloats = 96 << 10

// colChunkRows is the number of output rows whose patches one im2col chunk
// holds: as many as fit colChunkFloats, at least one. It depends on the sizes
// only, so the split is the same on every run.
func colChunkRows(p ConvParams) int {
	rows := (p.C / p.Groups) * p.KH * p.KW
	return max(1, min(p.OutH(), colChunkFloats/(rows*p.OutW())))
}

// getCol returns a buffer large enough for one im2col chunk.
func getCol(p ConvParams) *[]float32 {
	n := 0
	if !p.pointwise() {
		n = (p.C / p.Groups) * p.KH * p.KW * colChunkRows(p) * p.OutW()
	}
	if v, ok := colPool.Get().(*[]float32); ok {
		*v = growAtLeast(*v, n, colChunkFloats)
		return v
	}
	s := make([]float32, n)
	return &s
}

func putCol(col *[]float32) { colPool.Put(col) }

// perImage runs fn for every image. When the batch can keep every worker
// busy, images are shared out and each runs its products serially (serial
// true); otherwise images run one after another with parallel products.
// Either way each image is computed the same way.
func perImage(p ConvParams, fn func(n int, col []float32, serial bool)) {
	workers := gemmWorkers()
	if workers > 1 && (p.N >= 2*workers || p.N%workers == 0) {
		Parallel(p.N, 1, func(lo, hi int) {
			col := getCol(p)
			for n := lo; n < hi; n++ {
				fn(n, *col, true)
			}
			putCol(col)
		})
		return
	}
	col := getCol(p)
	for n := range p.N {
		fn(n, *col, false)
	}
	putCol(col)
}

// packPool holds buffers of packed weights.
var packPool = sync.Pool{New: func() any { return new([]float32) }}

// packWeights packs each group's weights once per call, as the A operand of
// the per-image products: w_g (K/G × C/G·KH·KW) for the forward pass, its
// transpose for the input gradient. Group g starts at g·packedWeightsLen.
func packWeights(v *gemmVariant, p ConvParams, w []float32, transpose bool) *[]float32 {
	kg, rows := p.K/p.Groups, (p.C/p.Groups)*p.KH*p.KW
	per := packedWeightsLen(v, p, transpose)
	buf := packPool.Get().(*[]float32)
	*buf = grow(*buf, per*p.Groups)
	for g := range p.Groups {
		wg := w[g*kg*rows : (g+1)*kg*rows]
		if transpose {
			packAllA(v, true, rows, kg, wg, rows, (*buf)[g*per:(g+1)*per])
		} else {
			packAllA(v, false, kg, rows, wg, rows, (*buf)[g*per:(g+1)*per])
		}
	}
	return buf
}

// packedWeightsLen is the length of one group's packed weights.
func packedWeightsLen(v *gemmVariant, p ConvParams, transpose bool) int {
	kg, rows := p.K/p.Groups, (p.C/p.Groups)*p.KH*p.KW
	if transpose {
		return roundUp(rows, v.mr) * kg
	}
	return roundUp(kg, v.mr) * rows
}

// convGemm runs one product of a convolution, C = op(A)·B + beta·C, with
// variant v and op(A) prepacked in pa, on the calling goroutine when serial.
// B is either b (row-major, ldb) or, when pb is not nil, already packed.
func convGemm(v *gemmVariant, serial, transA bool, m, n, k int, pa, b []float32, ldb int, pb []float32, beta float32, c []float32, ldc int) {
	workers := gemmWorkers()
	if serial {
		workers = 1
	}
	gemmBlocked(workers, v, transA, false, m, n, k, 1, nil, 0, pa, b, ldb, pb, beta, c, ldc)
}

// convBackwardDataImage adds image n's input gradient: per group and chunk
// of output rows, dcol = w_gᵀ · dy_g, scattered back onto dx by col2im.
func convBackwardDataImage(v *gemmVariant, p ConvParams, pw, dy, dx []float32, n int, col []float32, serial bool) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	hw, ow, ohw := p.H*p.W, p.OutW(), p.OutH()*p.OutW()
	rows := cg * p.KH * p.KW
	chunk := colChunkRows(p)
	per := packedWeightsLen(v, p, true)
	for g := range p.Groups {
		dxg := dx[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
		dyg := dy[(n*p.K+g*kg)*ohw : (n*p.K+(g+1)*kg)*ohw]
		wg := pw[g*per : (g+1)*per]
		for y0 := 0; y0 < p.OutH(); y0 += chunk {
			y1 := min(y0+chunk, p.OutH())
			cols := (y1 - y0) * ow
			convGemm(v, serial, true, rows, cols, kg, wg, dyg[y0*ow:], ohw, nil, 0, col[:rows*cols], cols)
			col2im(p, col[:rows*cols], dxg, y0, y1)
		}
	}
}

// convBackwardFilterBlock adds image n's weight gradient for output
// channels [k0, k1) and input channels [c0, c1) of group g to that block
// of dw: per chunk of output rows, dw_g += dy_g · col_gᵀ on the calling
// goroutine.
func convBackwardFilterBlock(v *gemmVariant, p ConvParams, x, dy, dw []float32, n, g, c0, c1, k0, k1 int, col []float32) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	hw, ow, ohw := p.H*p.W, p.OutW(), p.OutH()*p.OutW()
	taps := p.KH * p.KW
	rows, cols := (c1-c0)*taps, cg*taps // this call's patch rows; dw's row length
	xc := x[(n*p.C+g*cg+c0)*hw : (n*p.C+g*cg+c1)*hw]
	dyk := dy[(n*p.K+g*kg+k0)*ohw : (n*p.K+g*kg+k1)*ohw]
	dwc := dw[(g*kg+k0)*cols+c0*taps:]
	if p.pointwise() {
		gemmBlocked(1, v, false, true, k1-k0, rows, ohw, 1, dyk, ohw, nil, xc, ohw, nil, 1, dwc, cols)
		return
	}
	chunk := colChunkRows(p)
	for y0 := 0; y0 < p.OutH(); y0 += chunk {
		y1 := min(y0+chunk, p.OutH())
		pix := (y1 - y0) * ow
		c := col[:rows*pix]
		im2col(p, xc, c, 0, c1-c0, y0, y1)
		gemmBlocked(1, v, false, true, k1-k0, rows, pix, 1, dyk[y0*ow:], ohw, nil, c, pix, nil, 1, dwc, cols)
	}
}

// validRange returns the outputs [lo, hi) of a row of out outputs whose input
// index o·stride + off falls inside [0, size).
func validRange(out, stride, off, size int) (lo, hi int) {
	// o·stride + off >= 0  ⇔  o >= ceil(−off/stride)
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// o·stride + off <= size−1  ⇔  o <= floor((size−1−off)/stride)
	if last := size - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(out, last/stride+1)
	}
	return min(lo, out), max(hi, min(lo, out))
}

// im2col gathers, for channels [c0, c1) of one group's image x (C/G×H×W)
// and output rows [y0, y1), the patches into col: a (C/G·KH·KW) × ((y1−y0)·OutW)
// matrix whose row (c·KH+i)·KW+j holds, for each of those output pixels, the
// input value its kernel tap (i, j) of channel c reads, 0 in the padding.
// Bounds are worked out once per row segment, not per element.
func im2col(p ConvParams, x, col []float32, c0, c1, y0, y1 int) {
	oh, ow := p.OutH(), p.OutW()
	n := (y1 - y0) * ow
	for c := c0; c < c1; c++ {
		xc := x[c*p.H*p.W : (c+1)*p.H*p.W]
		for i := range p.KH {
			yLo, yHi := validRange(oh, p.StrideH, i*p.DilationH-p.PadH, p.H)
			yLo, yHi = min(max(yLo, y0), y1), max(min(yHi, y1), y0)
			for j := range p.KW {
				row := col[((c*p.KH+i)*p.KW+j)*n : ((c*p.KH+i)*p.KW+j+1)*n]
				offW := j*p.DilationW - p.PadW
				xLo, xHi := validRange(ow, p.StrideW, offW, p.W)
				clear(row[:(yLo-y0)*ow])
				clear(row[(yHi-y0)*ow:])
				for y := yLo; y < yHi; y++ {
					dst := row[(y-y0)*ow : (y-y0+1)*ow]
					src := xc[(y*p.StrideH+i*p.DilationH-p.PadH)*p.W:]
					clear(dst[:xLo])
					clear(dst[xHi:])
					if p.StrideW == 1 {
						copy(dst[xLo:xHi], src[xLo+offW:xHi+offW])
						continue
					}
					for o, ix := xLo, xLo*p.StrideW+offW; o < xHi; o, ix = o+1, ix+p.StrideW {
						dst[o] = src[ix]
					}
				}
			}
		}
	}
}

// col2im is im2col's adjoint for all channels of a group and output rows
// [y0, y1): it adds every entry of col to the input pixel it was gathered
// from, in row order, so overlapping taps sum deterministically. Padding
// entries are dropped.
func col2im(p ConvParams, col, dx []float32, y0, y1 int) {
	axpy := currentGemm().axpy
	oh, ow := p.OutH(), p.OutW()
	n := (y1 - y0) * ow
	for c := range p.C / p.Groups {
		dxc := dx[c*p.H*p.W : (c+1)*p.H*p.W]
		for i := range p.KH {
			yLo, yHi := validRange(oh, p.StrideH, i*p.DilationH-p.PadH, p.H)
			yLo, yHi = min(max(yLo, y0), y1), max(min(yHi, y1), y0)
			for j := range p.KW {
				row := col[((c*p.KH+i)*p.KW+j)*n : ((c*p.KH+i)*p.KW+j+1)*n]
				offW := j*p.DilationW - p.PadW
				xLo, xHi := validRange(ow, p.StrideW, offW, p.W)
				for y := yLo; y < yHi; y++ {
					src := row[(y-y0)*ow : (y-y0+1)*ow]
					dst := dxc[(y*p.StrideH+i*p.DilationH-p.PadH)*p.W:]
					if p.StrideW == 1 {
						axpy(1, src[xLo:xHi], dst[xLo+offW:xHi+offW])
						continue
					}
					for o, ix := xLo, xLo*p.StrideW+offW; o < xHi; o, ix = o+1, ix+p.StrideW {
						dst[ix] += src[o]
					}
				}
			}
		}
	}
}

// sum8 returns the sum of s, accumulated in eight interleaved partial sums
// (element i in sum i mod 8) that are then added pairwise: eight
// independent chains where one would wait on each addition.
func sum8(s []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8 : i+8]
		s0 += b[0]
		s1 += b[1]
		s2 += b[2]
		s3 += b[3]
		s4 += b[4]
		s5 += b[5]
		s6 += b[6]
		s7 += b[7]
	}
	a := [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
	for j, v := range s[i:] {
		a[j] += v
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// fill sets every element of s to v.
// It writes a few values and then doubles them with copy, which moves
// whole vectors where a plain loop stores one value at a time.
func fill(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	n := min(len(s), 16)
	for i := range n {
		s[i] = v
	}
	for ; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}
