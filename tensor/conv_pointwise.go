package tensor

// pointwiseProducts runs the products of a 1×1 stride-1 unpadded
// convolution with the weights prepacked in pw: the forward pass
// y_g = w_g·x_g + bias, or with transposed, the
// input gradient dx_g += w_gᵀ·dy_g (b = dy, c = dx, bias nil). The bias
// enters with the first k block (gemmTileBias).
//
// Per group it is one product whose columns are the pixels of every image
// in turn (N·H·W of them), so that a 7×7 map of a batch fills whole
// 16-pixel tiles instead of wasting 15 of the 64 columns per image; a tile
// that straddles two images is computed aside and scattered. The products
// are cut into column stripes and row slices that workers take from one
// counter. Each element is computed the same way whatever the cut.
func pointwiseProducts(v *gemmVariant, p ConvParams, transposed bool, pw, b, bias, c []float32) {
	hw := p.H * p.W
	cols := p.N * hw
	cg, kg := p.C/p.Groups, p.K/p.Groups
	m, k, bch, cch := kg, cg, p.C, p.K // rows of C and k; channels of b and c
	if transposed {
		m, k, bch, cch = cg, kg, p.K, p.C
	}
	per := packedWeightsLen(v, p, transposed)
	mr, nr := v.mr, v.nr
	// About four units per worker, of two kinds: column stripes of whole
	// panels (at most gemmNC wide, for the cache, and at least 4 panels),
	// each of which streams all of A; or row slices of whole mr-row panels
	// (at least 8), each of which packs all of B again. Whichever moves
	// less memory goes first; the other kind makes up the count.
	stripes, slices := ceilDiv(cols, gemmNC), 1
	if workers := gemmWorkers(); workers > 1 {
		want := ceilDiv(4*workers, p.Groups)
		maxStripes, maxSlices := max(stripes, ceilDiv(cols, 4*nr)), ceilDiv(m, 8*mr)
		if a, b := m*k, k*cols; want*a+b <= a+2*want*b {
			stripes = max(stripes, min(want, maxStripes))
			slices = min(ceilDiv(want, stripes), maxSlices)
		} else {
			slices = min(want, maxSlices)
			stripes = max(stripes, min(ceilDiv(want, slices), maxStripes))
		}
	}
	nc := roundUp(ceilDiv(cols, stripes), nr)
	stripes = ceilDiv(cols, nc)
	mp := roundUp(ceilDiv(m, slices), mr)
	slices = ceilDiv(m, mp)
	beta := float32(0) // the forward pass overwrites y
	if transposed {
		beta = 1
	}
	pp := pointwiseProduct{v: v, hw: hw, m: m, k: k, bch: bch, cch: cch, bias: bias, beta: beta}
	Parallel(p.Groups*slices*stripes, 1, func(lo, hi int) {
		buf := gemmBufPool.Get().(*gemmBuffers)
		buf.edge = grow(buf.edge, mr*nr)
		for u := lo; u < hi; u++ {
			g, rest := u/(slices*stripes), u%(slices*stripes)
			i0, j0 := (rest/stripes)*mp, (rest%stripes)*nc
			pp.unit(buf, pw[g*per:(g+1)*per], b, c, g, i0, min(m, i0+mp), j0, min(cols, j0+nc))
		}
		gemmBufPool.Put(buf)
	})
}

// pointwiseProduct describes one group's product of pointwiseProducts: C
// (m rows of channels) = A (m×k, prepacked) · B (k rows of channels), where
// column j of B and C is pixel j%hw of image j/hw, and channel r of image n
// sits at (n·ch + g·rows + r)·hw in b (ch = bch, rows = k) and c (cch, m).
type pointwiseProduct struct {
	v        *gemmVariant
	hw, m, k int
	bch, cch int
	bias     []float32 // per row of C, or nil
	beta     float32   // 0 to overwrite C, 1 to add to it
}

// unit computes rows [i0, i1) and columns [j0, j1) of group g's C.
func (pp *pointwiseProduct) unit(buf *gemmBuffers, pa, b, c []float32, g, i0, i1, j0, j1 int) {
	v, hw, m := pp.v, pp.hw, pp.m
	mr, nr := v.mr, v.nr
	cImage, cRow0 := pp.cch*hw, g*m*hw // image stride and group offset in c
	var bias []float32                 // this group's bias, for the first k block
	if pp.bias != nil {
		bias = pp.bias[g*m : (g+1)*m]
	}
	nc := j1 - j0
	panelsN := ceilDiv(nc, nr)
	kb := kBlock(pp.k)
	for pc := 0; pc < pp.k; pc += kb {
		kc := min(kb, pp.k-pc)
		buf.b = growAtLeast(buf.b, panelsN*nr*kc, gemmNC*gemmKC)
		packColumns(nr, b, pp.bch*hw, hw, g*pp.k+pc, kc, j0, nc, buf.b)
		beta := pp.beta
		if pc > 0 {
			beta, bias = 1, nil // later k blocks add to what the first one wrote
		}
		for ic := i0; ic < i1; ic += gemmMC {
			mc := min(gemmMC, i1-ic)
			panelsM := ceilDiv(mc, mr)
			off := pc*roundUp(m, mr) + (ic/mr)*mr*kc
			ap := pa[off : off+panelsM*mr*kc]
			for jp := range panelsN {
				jj := j0 + jp*nr
				nw := min(nr, j1-jj)
				bp := buf.b[jp*nr*kc : (jp+1)*nr*kc]
				n, pix := jj/hw, jj%hw
				for ip := range panelsM {
					ii := ic + ip*mr
					mh := min(mr, ic+mc-ii)
					a := ap[ip*mr*kc : (ip+1)*mr*kc]
					switch {
					case pix+nw <= hw && bias != nil:
						gemmTileBias(v, buf.edge, kc, a, bp, c[n*cImage+cRow0+ii*hw+pix:], hw, mh, nw, bias[ii:ii+mh])
						continue
					case pix+nw <= hw:
						gemmTile(v, buf.edge, kc, a, bp, c[n*cImage+cRow0+ii*hw+pix:], hw, mh, nw, 1, beta)
						continue
					}
					// The tile straddles images: compute it aside, then
					// add each column to its image as gemmTile(Bias) would.
					v.kernel(kc, a, bp, buf.edge, nr, 1, 0)
					for t := 0; t < nw; {
						cn, cp := (jj+t)/hw, (jj+t)%hw
						l := min(hw-cp, nw-t)
						for i := range mh {
							e := buf.edge[i*nr+t : i*nr+t+l]
							crow := c[cn*cImage+cRow0+(ii+i)*hw+cp:][:l]
							switch {
							case bias != nil:
								for j, s := range e {
									crow[j] = s + bias[ii+i]
								}
							case beta == 0:
								copy(crow, e)
							default:
								for j, s := range e {
									crow[j] = s + crow[j]
								}
							}
						}
						t += l
					}
				}
			}
		}
	}
}

// packColumns packs rows [row0, row0+kc) of B into dst as panels nr columns
// wide, for columns [j0, j0+nc) of the N images laid side by side: column j
// is pixel j%hw of image j/hw, whose row r is at b[(j/hw)·stride + r·hw +
// j%hw]. Columns of the last panel past nc are zero.
func packColumns(nr int, b []float32, stride, hw, row0, kc, j0, nc int, dst []float32) {
	panels := ceilDiv(nc, nr)
	for p := range kc {
		for j := 0; j < nc; {
			n, pix := (j0+j)/hw, (j0+j)%hw
			q, t := j/nr, j%nr
			l := min(hw-pix, nr-t, nc-j)
			src := b[n*stride+(row0+p)*hw+pix:]
			d := dst[q*nr*kc+p*nr+t:]
			if nr == 16 && l == 16 {
				// A fixed-size array copy compiles to a few vector
				// moves where copy would call memmove for 64 bytes.
				*(*[16]float32)(d) = *(*[16]float32)(src)
			} else {
				copy(d[:l], src[:l])
			}
			j += l
		}
		if rest := nc % nr; rest > 0 {
			clear(dst[(panels-1)*nr*kc+p*nr+rest : (panels-1)*nr*kc+(p+1)*nr])
		}
	}
}
