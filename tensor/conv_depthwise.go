package tensor

// Direct depthwise convolution (Groups == C == K): each channel is convolved
// with its own KH×KW filter. im2col would turn this into C products of a
// single row, so the taps are applied directly instead: for each tap, a row
// segment of output pixels whose inputs lie inside the image is updated at
// once, with the bounds worked out once per tap and row.

// depthwiseForward computes Conv2d for a depthwise p, one (image, channel)
// plane per task.
func depthwiseForward(p ConvParams, x, w, bias, y []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	Parallel(p.N*p.C, 4, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			c := nc % p.C
			yc := y[nc*ohw : (nc+1)*ohw]
			b := float32(0)
			if bias != nil {
				b = bias[c]
			}
			fill(yc, b)
			depthwisePlane(p, x[nc*hw:(nc+1)*hw], w[c*taps:(c+1)*taps], yc)
		}
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
func depthwiseBackwardData(p ConvParams, dy, w, dx []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	oh, ow := p.OutH(), p.OutW()
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
func depthwiseBackwardFilter(p ConvParams, x, dy, dw []float32) {
	hw, ohw := p.H*p.W, p.OutH()*p.OutW()
	taps := p.KH * p.KW
	oh, ow := p.OutH(), p.OutW()
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
