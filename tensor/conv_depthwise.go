package tensor

import "sync"

// Direct depthwise convolution (Groups == C == K): each channel is convolved
// with its own KH×KW filter. im2col would turn this into C products of a
// single row, so the taps are applied directly instead.
//
// Stride 1, the common case (3×3 and 7×7 "same" convolutions), copies each
// plane into a zero-bordered scratch plane whose width and height are
// rounded up to the kernel blocks, so the variant's block kernel (dwBlock:
// 4 output rows × 16 or 8 columns held in registers over all taps) and dot
// kernel run without bounds tests. Other strides update, for each tap, the row
// segment of outputs whose inputs lie inside the image, with the bounds worked
// out once per tap and row.

// dwGeom is the layout of the scratch planes for a stride-1 depthwise
// convolution with an oh×ow output.
type dwGeom struct {
	oh, ow   int // output size
	ohp, owp int // output rounded up to blocks of 4 rows and 8 columns
	hx, wx   int // padded input plane: rows and row stride (a multiple of 8)
}

func newDwGeom(p ConvParams) dwGeom {
	g := dwGeom{oh: p.OutH(), ow: p.OutW()}
	g.ohp, g.owp = roundUp(g.oh, 4), roundUp(g.ow, 8)
	g.hx = g.ohp + (p.KH-1)*p.DilationH
	g.wx = roundUp(g.owp+(p.KW-1)*p.DilationW, 8)
	return g
}

// xLen is the padded input plane's length, with room for the dot kernel's
// reads at the last tap.
func (g dwGeom) xLen(p ConvParams) int { return g.hx*g.wx + (p.KW-1)*p.DilationW }

// dwScratch is one worker's scratch planes, reused through dwScratchPool.
type dwScratch struct{ x, y []float32 }

var dwScratchPool = sync.Pool{New: func() any { return new(dwScratch) }}

// padPlane writes the H×W plane x into xp (g.xLen values) at row PadH and
// column PadW of a zero plane with row stride g.wx. Input pixels that no
// output reads are left out.
func padPlane(p ConvParams, g dwGeom, x, xp []float32) {
	clear(xp)
	n := min(p.W, g.wx-p.PadW)
	if n <= 0 {
		return
	}
	for iy := range min(p.H, g.hx-p.PadH) {
		copy(xp[(iy+p.PadH)*g.wx+p.PadW:(iy+p.PadH)*g.wx+p.PadW+n], x[iy*p.W:iy*p.W+n])
	}
}

// depthwisePlaneStride1 adds to y (OutH×OutW) the stride-1 depthwise
// convolution of the plane x (H×W) with the filter w (KH×KW), as
// depthwisePlane does, using v's block kernel.
func depthwisePlaneStride1(v *gemmVariant, s *dwScratch, p ConvParams, x, w, y []float32) {
	g := newDwGeom(p)
	s.x = grow(s.x, g.xLen(p))
	padPlane(p, g, x, s.x)
	s.y = grow(s.y, g.ohp*g.owp)
	clear(s.y)
	for r := range g.oh {
		copy(s.y[r*g.owp:r*g.owp+g.ow], y[r*g.ow:(r+1)*g.ow])
	}
	for r := 0; r < g.ohp; r += 4 {
		c := 0
		for ; c+16 <= g.owp; c += 16 {
			v.dwBlock(16, p.KH, p.KW, w, s.x[r*g.wx+c:], g.wx, p.DilationH, p.DilationW, s.y[r*g.owp+c:], g.owp)
		}
		if c < g.owp {
			v.dwBlock(8, p.KH, p.KW, w, s.x[r*g.wx+c:], g.wx, p.DilationH, p.DilationW, s.y[r*g.owp+c:], g.owp)
		}
	}
	for r := range g.oh {
		copy(y[r*g.ow:(r+1)*g.ow], s.y[r*g.owp:r*g.owp+g.ow])
	}
}

// depthwiseForward computes Conv2d for a depthwise p, one (image, channel)
// plane per task.
func depthwiseForward(p ConvParams, x, w, bias, y []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	v := currentGemm()
	Parallel(p.N*p.C, 4, func(lo, hi int) {
		s := dwScratchPool.Get().(*dwScratch)
		for nc := lo; nc < hi; nc++ {
			c := nc % p.C
			yc := y[nc*ohw : (nc+1)*ohw]
			b := float32(0)
			if bias != nil {
				b = bias[c]
			}
			fill(yc, b)
			if p.StrideH == 1 && p.StrideW == 1 {
				depthwisePlaneStride1(v, s, p, x[nc*hw:(nc+1)*hw], w[c*taps:(c+1)*taps], yc)
			} else {
				depthwisePlane(p, x[nc*hw:(nc+1)*hw], w[c*taps:(c+1)*taps], yc)
			}
		}
		dwScratchPool.Put(s)
	})
}

// depthwisePlane adds to one output plane y (OutH×OutW) the convolution of one
// input plane x (H×W) with one filter w (KH×KW):
//
//	y[oy][ox] += Σ_{i,j} w[i][j] · x[oy·sh−ph+i·dh][ox·sw−pw+j·dw]
//
// taking the taps in (i, j) order.
func depthwisePlane(p ConvParams, x, w, y []float32) {
	oh, ow := p.OutH(), p.OutW()
	for i := range p.KH {
		offH := i*p.DilationH - p.PadH
		yLo, yHi := validRange(oh, p.StrideH, offH, p.H)
		for j := range p.KW {
			wv := w[i*p.KW+j]
			offW := j*p.DilationW - p.PadW
			xLo, xHi := validRange(ow, p.StrideW, offW, p.W)
			if xLo >= xHi {
				continue
			}
			for oy := yLo; oy < yHi; oy++ {
				src := x[(oy*p.StrideH+offH)*p.W:]
				dst := y[oy*ow+xLo : oy*ow+xHi]
				if p.StrideW == 1 {
					axpy(wv, src[xLo+offW:xHi+offW], dst)
					continue
				}
				for o, ix := 0, xLo*p.StrideW+offW; o < len(dst); o, ix = o+1, ix+p.StrideW {
					dst[o] += wv * src[ix]
				}
			}
		}
	}
}

// depthwiseBackwardData adds the input gradient of a depthwise convolution
// to dx, one (image, channel) plane per task.
//
// With stride 1 and padding at most the dilated kernel's reach, the input
// gradient is itself a stride-1 depthwise convolution: of dy, padded by
// dilation·(kernel−1) − padding, with the filter turned by 180°.
func depthwiseBackwardData(p ConvParams, dy, w, dx []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	oh, ow := p.OutH(), p.OutW()
	if p.StrideH == 1 && p.StrideW == 1 && p.PadH <= p.DilationH*(p.KH-1) && p.PadW <= p.DilationW*(p.KW-1) {
		q := p
		q.H, q.W = oh, ow
		q.PadH, q.PadW = p.DilationH*(p.KH-1)-p.PadH, p.DilationW*(p.KW-1)-p.PadW
		flipped := make([]float32, len(w))
		for c := range p.C {
			for t := range taps {
				flipped[c*taps+t] = w[c*taps+taps-1-t]
			}
		}
		v := currentGemm()
		Parallel(p.N*p.C, 4, func(lo, hi int) {
			s := dwScratchPool.Get().(*dwScratch)
			for nc := lo; nc < hi; nc++ {
				c := nc % p.C
				depthwisePlaneStride1(v, s, q, dy[nc*ohw:(nc+1)*ohw], flipped[c*taps:(c+1)*taps], dx[nc*hw:(nc+1)*hw])
			}
			dwScratchPool.Put(s)
		})
		return
	}
	Parallel(p.N*p.C, 4, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			c := nc % p.C
			dyc := dy[nc*ohw : (nc+1)*ohw]
			dxc := dx[nc*hw : (nc+1)*hw]
			wc := w[c*taps : (c+1)*taps]
			for i := range p.KH {
				offH := i*p.DilationH - p.PadH
				yLo, yHi := validRange(oh, p.StrideH, offH, p.H)
				for j := range p.KW {
					wv := wc[i*p.KW+j]
					offW := j*p.DilationW - p.PadW
					xLo, xHi := validRange(ow, p.StrideW, offW, p.W)
					if xLo >= xHi {
						continue
					}
					for oy := yLo; oy < yHi; oy++ {
						dst := dxc[(oy*p.StrideH+offH)*p.W:]
						src := dyc[oy*ow+xLo : oy*ow+xHi]
						if p.StrideW == 1 {
							axpy(wv, src, dst[xLo+offW:xHi+offW])
							continue
						}
						for o, ix := 0, xLo*p.StrideW+offW; o < len(src); o, ix = o+1, ix+p.StrideW {
							dst[ix] += wv * src[o]
						}
					}
				}
			}
		}
	})
}

// depthwiseBackwardFilter adds the weight gradient of a depthwise
// convolution to dw. Each task owns whole channels and sums the images in
// order, so the result does not depend on the split.
//
// With stride 1 each tap is one dot product of the zero-padded dy plane with
// the padded input plane shifted by the tap's offset.
func depthwiseBackwardFilter(p ConvParams, x, dy, dw []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	oh, ow := p.OutH(), p.OutW()
	if p.StrideH == 1 && p.StrideW == 1 {
		g := newDwGeom(p)
		v := currentGemm()
		Parallel(p.C, 1, func(lo, hi int) {
			s := dwScratchPool.Get().(*dwScratch)
			s.x = grow(s.x, g.xLen(p))
			s.y = grow(s.y, g.ohp*g.wx)
			dyp := s.y
			for c := lo; c < hi; c++ {
				dwc := dw[c*taps : (c+1)*taps]
				for n := range p.N {
					padPlane(p, g, x[(n*p.C+c)*hw:(n*p.C+c+1)*hw], s.x)
					clear(dyp)
					dyc := dy[(n*p.C+c)*ohw : (n*p.C+c+1)*ohw]
					for r := range oh {
						copy(dyp[r*g.wx:r*g.wx+ow], dyc[r*ow:(r+1)*ow])
					}
					for i := range p.KH {
						for j := range p.KW {
							dwc[i*p.KW+j] += v.dot8(dyp, s.x[i*p.DilationH*g.wx+j*p.DilationW:])
						}
					}
				}
			}
			dwScratchPool.Put(s)
		})
		return
	}
	Parallel(p.C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dwc := dw[c*taps : (c+1)*taps]
			for n := range p.N {
				xc := x[(n*p.C+c)*hw : (n*p.C+c+1)*hw]
				dyc := dy[(n*p.C+c)*ohw : (n*p.C+c+1)*ohw]
				for i := range p.KH {
					offH := i*p.DilationH - p.PadH
					yLo, yHi := validRange(oh, p.StrideH, offH, p.H)
					for j := range p.KW {
						offW := j*p.DilationW - p.PadW
						xLo, xHi := validRange(ow, p.StrideW, offW, p.W)
						if xLo >= xHi {
							continue
						}
						var s float32
						for oy := yLo; oy < yHi; oy++ {
							src := xc[(oy*p.StrideH+offH)*p.W:]
							g := dyc[oy*ow+xLo : oy*ow+xHi]
							if p.StrideW == 1 {
								s += dot(g, src[xLo+offW:xHi+offW])
								continue
							}
							for o, ix := 0, xLo*p.StrideW+offW; o < len(g); o, ix = o+1, ix+p.StrideW {
								s += g[o] * src[ix]
							}
						}
						dwc[i*p.KW+j] += s
					}
				}
			}
		}
	})
}
