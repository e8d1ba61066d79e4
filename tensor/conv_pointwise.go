package tensor

// pointwiseProducts runs the products of a 1×1 stride-1 unpadded
// convolution with the weights prepacked in pw: the forward pass
// y_g = w_g·x_g + bias, or with transposed, the input gradient
// dx_g += w_gᵀ·dy_g (b = dy, c = dx, bias nil). The bias enters with the
// first k block (gemmTileBias).
//
// Per group it is one product whose columns are the pixels of every image
// in turn (N·H·W of them), so that a 7×7 map of a batch fills whole
// 16-pixel tiles instead of wasting 15 of the 64 columns per image; a tile
// that straddles two images is computed aside and scattered. B is packed
// once, on all threads (in rounds of columns when it is large), and the
// product is then cut into blocks of rows and stripes of columns, many more
// than threads, that share it: a thread that finishes early takes another
// block instead of waiting. Each element is computed the same way whatever
// the cut.
func pointwiseProducts(v *gemmVariant, p ConvParams, transposed bool, pw, b, bias, c []float32, packFloats int) {
	hw := p.H * p.W
	cols := p.N * hw
	cg, kg := p.C/p.Groups, p.K/p.Groups
	m, k, bch, cch := kg, cg, p.C, p.K // rows of C and k; channels of b and c
	if transposed {
		m, k, bch, cch = cg, kg, p.K, p.C
	}
	mr, nr := v.mr, v.nr
	kb, panels := kBlock(k), ceilDiv(cols, nr)
	kBlocks := ceilDiv(k, kb)
	beta := float32(0) // the forward pass overwrites y
	if transposed {
		beta = 1
	}
	pp := pointwiseProduct{v: v, hw: hw, m: m, k: k, cols: cols, cch: cch, bias: bias, beta: beta}
	per := packedWeightsLen(v, p, transposed)

	// Rounds of column panels, each of whose B, packed, fits packFloats
	// for all groups: per group, per k block, every panel of the round
	// (packedBIndex's layout over the round's columns).
	roundPanels := min(panels, max(1, packFloats/(p.Groups*k*nr)))
	pb := packPool.Get().(*[]float32)
	defer packPool.Put(pb)
	*pb = grow(*pb, p.Groups*k*roundPanels*nr)
	for r0 := 0; r0 < panels; r0 += roundPanels {
		rp := min(roundPanels, panels-r0) // panels in this round
		bLen := k * rp * nr
		Parallel(p.Groups*kBlocks*rp, max(1, packGrain/(kb*nr)), func(lo, hi int) {
			for u := lo; u < hi; {
				g, rest := u/(kBlocks*rp), u%(kBlocks*rp)
				pc, q := (rest/rp)*kb, rest%rp
				end := min(rp, q+hi-u) // a run of panels within one k block
				kc := min(kb, k-pc)
				dst := (*pb)[g*bLen+pc*rp*nr+q*nr*kc : g*bLen+pc*rp*nr+end*nr*kc]
				j0 := (r0 + q) * nr
				packColumns(nr, b, bch*hw, hw, g*k+pc, kc, j0, min(cols, (r0+end)*nr)-j0, dst)
				u += end - q
			}
		})
		rb, stripes := pointwiseCut(m, k, rp*nr, mr, nr, ceilDiv(6*gemmWorkers(), p.Groups))
		mb := roundUp(ceilDiv(m, rb), mr)
		rb = ceilDiv(m, mb)
		sp := ceilDiv(rp, stripes) // panels per stripe
		stripes = ceilDiv(rp, sp)
		Parallel(p.Groups*rb*stripes, 1, func(lo, hi int) {
			buf := gemmBufPool.Get().(*gemmBuffers)
			buf.edge = grow(buf.edge, mr*nr)
			for u := lo; u < hi; u++ {
				g, rest := u/(rb*stripes), u%(rb*stripes)
				i0, q0 := (rest/stripes)*mb, (rest%stripes)*sp
				pp.unit(buf, pw[g*per:(g+1)*per], (*pb)[g*bLen:(g+1)*bLen], c, g, i0, min(m, i0+mb), r0, rp, q0, min(rp, q0+sp))
			}
			gemmBufPool.Put(buf)
		})
	}
}

// pointwisePackFloats is the packFloats of pointwiseProducts in Conv2d and
// Conv2dBackwardData: packed B takes at most 4 Mi values (16 MiB) at a time,
// whatever the batch and image size.
const pointwisePackFloats = 4 << 20

// pointwiseCut returns how many blocks of rows and stripes of columns to
// cut an m×cols product (k deep) into: at least want units if the panels
// allow, blocks of at most gemmMC rows (one block of A stays in L2), and
// of the cuts that do, the one that reads the least: each stripe reads all
// of A, each block of rows all of packed B.
func pointwiseCut(m, k, cols, mr, nr, want int) (rowBlocks, stripes int) {
	panelsM, panelsN := ceilDiv(m, mr), ceilDiv(cols, nr)
	best := -1
	for rb := ceilDiv(m, gemmMC); rb <= panelsM; rb++ {
		s := min(panelsN, max(1, ceilDiv(want, rb)))
		cost := s*m*k + rb*k*cols
		if best < 0 || cost < best {
			best, rowBlocks, stripes = cost, rb, s
		}
		if rb*s >= want && s == 1 {
			break // more blocks of rows only read B more often
		}
	}
	return rowBlocks, stripes
}

// pointwiseProduct describes one group's product of pointwiseProducts: C
// (m rows of channels) = A (m×k, prepacked) · B (k×cols, packed), where
// column j of C is pixel j%hw of image j/hw, and channel r of image n sits
// at (n·cch + g·m + r)·hw in c.
type pointwiseProduct struct {
	v              *gemmVariant
	hw, m, k, cols int
	cch            int
	bias           []float32 // per row of C, or nil
	beta           float32   // 0 to overwrite C, 1 to add to it (bias nil)
}

// unit computes rows [i0, i1) (i0 a multiple of mr) and column panels
// r0+q0 .. r0+q1 of group g's C from its packed A and the packed B of the
// round of rp panels from panel r0.
func (pp *pointwiseProduct) unit(buf *gemmBuffers, pa, pb, c []float32, g, i0, i1, r0, rp, q0, q1 int) {
	v, hw, m := pp.v, pp.hw, pp.m
	mr, nr := v.mr, v.nr
	cImage, cRow0 := pp.cch*hw, g*m*hw // image stride and group offset in c
	var bias []float32                 // this group's bias, for the first k block
	if pp.bias != nil {
		bias = pp.bias[g*m : (g+1)*m]
	}
	kb := kBlock(pp.k)
	for pc := 0; pc < pp.k; pc += kb {
		kc := min(kb, pp.k-pc)
		beta := pp.beta
		if pc > 0 {
			beta, bias = 1, nil // later k blocks add to what the first one wrote
		}
		for ic := i0; ic < i1; ic += gemmMC {
			mc := min(gemmMC, i1-ic)
			panelsM := ceilDiv(mc, mr)
			off := pc*roundUp(m, mr) + (ic/mr)*mr*kc
			ap := pa[off : off+panelsM*mr*kc]
			for q := q0; q < q1; q++ {
				jj := (r0 + q) * nr
				nw := min(nr, pp.cols-jj)
				bp := pb[pc*rp*nr+q*nr*kc : pc*rp*nr+(q+1)*nr*kc]
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
