package mask

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// RLE is a binary mask of H rows and W columns stored as run lengths of
// alternating zeros and ones over its pixels in column-major order, starting
// with zeros. A valid RLE has counts summing to H·W; the zero value is an
// empty 0×0 mask.
type RLE struct {
	H, W   int
	Counts []uint32
}

// Empty returns the all-zero h×w mask.
func Empty(h, w int) RLE {
	return RLE{H: h, W: w, Counts: []uint32{uint32(h * w)}}
}

// Encode returns the RLE of an h×w bitmap stored row-major (pixel (x, y) at
// bitmap[y*w+x]); any nonzero byte is foreground. It panics if
// len(bitmap) != h*w.
func Encode(bitmap []uint8, h, w int) RLE {
	if len(bitmap) != h*w {
		panic(errBitmapSize)
	}
	return encode(h, w, func(x, y int) bool { return bitmap[y*w+x] != 0 })
}

// EncodeColMajor is Encode for a bitmap stored column-major (pixel (x, y) at
// bitmap[x*h+y]), the layout the COCO API's encode expects.
func EncodeColMajor(bitmap []uint8, h, w int) RLE {
	if len(bitmap) != h*w {
		panic(errBitmapSize)
	}
	return encode(h, w, func(x, y int) bool { return bitmap[x*h+y] != 0 })
}

// encode follows maskApi.c rleEncode: runs of equal values in column-major
// order, the first run counting zeros.
func encode(h, w int, at func(x, y int) bool) RLE {
	var counts []uint32
	prev := false
	var c uint32
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			if v := at(x, y); v != prev {
				counts = append(counts, c)
				c = 0
				prev = v
			}
			c++
		}
	}
	counts = append(counts, c)
	return RLE{H: h, W: w, Counts: counts}
}

// Decode returns the mask as a row-major h×w bitmap of zeros and ones.
// It panics if the counts sum to more than H·W.
func (r RLE) Decode() []uint8 {
	out := make([]uint8, r.H*r.W)
	pos := 0
	var v uint8
	for _, c := range r.Counts {
		if v == 1 {
			for p := pos; p < pos+int(c); p++ {
				out[(p%r.H)*r.W+p/r.H] = 1
			}
		}
		pos += int(c)
		v ^= 1
	}
	return out
}

// DecodeColMajor returns the mask as a column-major bitmap of zeros and ones
// (pixel (x, y) at index x*H+y), the layout of the COCO API's decode.
// It panics if the counts sum to more than H·W.
func (r RLE) DecodeColMajor() []uint8 {
	out := make([]uint8, r.H*r.W)
	pos := 0
	var v uint8
	for _, c := range r.Counts {
		if v == 1 {
			fillOnes(out[pos : pos+int(c)])
		}
		pos += int(c)
		v ^= 1
	}
	return out
}

func fillOnes(b []uint8) {
	for i := range b {
		b[i] = 1
	}
}

// Area returns the number of foreground pixels (maskApi.c rleArea).
func (r RLE) Area() int {
	a := 0
	for j := 1; j < len(r.Counts); j += 2 {
		a += int(r.Counts[j])
	}
	return a
}

// Validate reports whether the counts sum to H·W, the invariant every other
// function assumes.
func (r RLE) Validate() error {
	if r.H < 0 || r.W < 0 {
		return fmt.Errorf("mask: negative size %dx%d", r.H, r.W)
	}
	var sum uint64
	for _, c := range r.Counts {
		sum += uint64(c)
	}
	if len(r.Counts) == 0 {
		return errors.New("mask: RLE has no counts")
	}
	if sum != uint64(r.H)*uint64(r.W) {
		return fmt.Errorf("mask: RLE counts sum to %d, want height×width = %d×%d = %d", sum, r.H, r.W, r.H*r.W)
	}
	return nil
}

// ToBBox returns the bounding box [x, y, width, height] of the foreground
// pixels, all zero for an empty mask. As maskApi.c rleToBbox does, a run of
// ones spanning more than one column widens the box to the full image height;
// the arithmetic is the C code's 32-bit unsigned arithmetic.
func (r RLE) ToBBox() [4]float64 {
	h := uint32(r.H)
	m := len(r.Counts) / 2 * 2
	if m == 0 || h == 0 {
		return [4]float64{}
	}
	xs, ys := uint32(r.W), h
	var xe, ye uint32
	// Runs are taken in pairs: zeros, then ones from pixel p0 to p1. The
	// position cc = cx·h + cy is advanced by each count; most counts stay
	// within a column, which spares rleToBbox's division.
	var cc, cx, cy uint64
	h64 := uint64(h)
	advance := func(c uint64) {
		cc += c
		if cy += c; cy >= h64 {
			if cy < 2*h64 {
				cy -= h64
				cx++
			} else {
				q := cy / h64
				cx += q
				cy -= q * h64
			}
		}
	}
	for j := 0; j < m; j += 2 {
		c0, c1 := uint64(r.Counts[j]), uint64(r.Counts[j+1])
		if c1 == 0 || cc+c0+c1 > math.MaxUint32 {
			// An empty run of ones (its "last pixel" precedes its first) or
			// a position past 2^32, where the C code wraps around.
			return r.toBBoxSlow()
		}
		advance(c0)
		x0, y0 := uint32(cx), uint32(cy) // first pixel of the run of ones
		advance(c1)
		x1, y1 := uint32(cx), uint32(cy) // one past its last pixel
		if y1 == 0 {
			x1, y1 = x1-1, h-1
		} else {
			y1--
		}
		if x0 < x1 {
			ys, ye = 0, h-1
		}
		xs, xe = min(xs, x0), max(xe, x1)
		ys, ye = min(ys, y0, y1), max(ye, y0, y1)
	}
	return [4]float64{float64(xs), float64(ys), float64(xe - xs + 1), float64(ye - ys + 1)}
}

// toBBoxSlow is rleToBbox as written in maskApi.c, with a division per count.
func (r RLE) toBBoxSlow() [4]float64 {
	h := uint32(r.H)
	m := len(r.Counts) / 2 * 2
	if m == 0 || h == 0 {
		return [4]float64{}
	}
	xs, ys := uint32(r.W), h
	var xe, ye, xp, cc uint32
	for j := 0; j < m; j++ {
		cc += r.Counts[j]
		t := cc - uint32(j%2)
		y := t % h
		x := (t - y) / h
		if j%2 == 0 {
			xp = x
		} else if xp < x {
			ys, ye = 0, h-1
		}
		xs, xe = min(xs, x), max(xe, x)
		ys, ye = min(ys, y), max(ye, y)
	}
	return [4]float64{float64(xs), float64(ys), float64(xe - xs + 1), float64(ye - ys + 1)}
}

// Merge returns the union of rles, or their intersection if intersect is
// true (maskApi.c rleMerge). No masks give the zero RLE, one mask a copy. If
// the masks differ in size the result is the zero RLE, as in the COCO API.
func Merge(rles []RLE, intersect bool) RLE {
	switch len(rles) {
	case 0:
		return RLE{}
	case 1:
		return RLE{H: rles[0].H, W: rles[0].W, Counts: slices.Clone(rles[0].Counts)}
	}
	h, w := rles[0].H, rles[0].W
	acc := slices.Clone(rles[0].Counts)
	var buf []uint32
	for _, b := range rles[1:] {
		if b.H != h || b.W != w {
			return RLE{}
		}
		buf = merge2(buf[:0], acc, b.Counts, intersect)
		acc, buf = buf, acc
	}
	return RLE{H: h, W: w, Counts: acc}
}

// merge2 appends to dst the runs of A∪B (or A∩B) following rleMerge's loop.
func merge2(dst, A, B []uint32, intersect bool) []uint32 {
	ca, cb := A[0], B[0]
	var v, va, vb bool
	a, b := 1, 1
	var cc uint32
	for ct := uint32(1); ct > 0; {
		c := min(ca, cb)
		cc += c
		ct = 0
		ca -= c
		if ca == 0 && a < len(A) {
			ca = A[a]
			a++
			va = !va
		}
		ct += ca
		cb -= c
		if cb == 0 && b < len(B) {
			cb = B[b]
			b++
			vb = !vb
		}
		ct += cb
		vp := v
		if intersect {
			v = va && vb
		} else {
			v = va || vb
		}
		if v != vp || ct == 0 {
			dst = append(dst, cc)
			cc = 0
		}
	}
	return dst
}

// BBoxIoU returns the IoU of every detection box with every ground-truth box,
// boxes as [x, y, width, height]: out[d][g]. Against a crowd ground truth
// (iscrowd[g] true) the union is the detection's area alone, so a detection
// inside a crowd region scores 1 (maskApi.c bbIou). iscrowd may be nil.
func BBoxIoU(dt, gt [][4]float64, iscrowd []bool) [][]float64 {
	out := make([][]float64, len(dt))
	flat := make([]float64, len(dt)*len(gt))
	for d := range dt {
		out[d] = flat[d*len(gt) : (d+1)*len(gt)]
		for g := range gt {
			out[d][g] = BoxIoU(dt[d], gt[g], iscrowd != nil && iscrowd[g])
		}
	}
	return out
}

// BoxIoU is BBoxIoU for one pair of boxes: the detection D and the ground
// truth G, a crowd if crowd is true. Boxes that do not overlap score 0.
func BoxIoU(D, G [4]float64, crowd bool) float64 {
	w := math.Min(D[2]+D[0], G[2]+G[0]) - math.Max(D[0], G[0])
	if w <= 0 {
		return 0
	}
	h := math.Min(D[3]+D[1], G[3]+G[1]) - math.Max(D[1], G[1])
	if h <= 0 {
		return 0
	}
	i := w * h
	da := D[2] * D[3]
	if crowd {
		return i / da
	}
	return i / (da + G[2]*G[3] - i)
}

// IoU returns the IoU of every detection mask with every ground-truth mask:
// out[d][g]. Against a crowd ground truth (iscrowd[g] true) the union is the
// detection's area alone. Masks of different sizes whose boxes overlap score
// -1, as in maskApi.c rleIou; iscrowd may be nil.
func IoU(dt, gt []RLE, iscrowd []bool) [][]float64 {
	out := make([][]float64, len(dt))
	flat := make([]float64, len(dt)*len(gt))
	for d := range dt {
		out[d] = flat[d*len(gt) : (d+1)*len(gt)]
	}
	IoUInto(flat, dt, gt, iscrowd)
	return out
}

// IoUInto is IoU writing the len(dt)×len(gt) matrix row-major into dst,
// which it panics if too short.
func IoUInto(dst []float64, dt, gt []RLE, iscrowd []bool) {
	G := len(gt)
	dst = dst[:len(dt)*G]
	clear(dst)
	if len(dt) == 0 || G == 0 {
		return
	}
	// maskApi.c rleIou first computes box IoUs and compares masks only
	// where the boxes overlap.
	var buf [16][4]float64
	var bbs [][4]float64
	if n := len(dt) + G; n <= len(buf) {
		bbs = buf[:n]
	} else {
		bbs = make([][4]float64, n)
	}
	db, gb := bbs[:len(dt)], bbs[len(dt):]
	for d := range dt {
		db[d] = dt[d].ToBBox()
	}
	for g := range gt {
		gb[g] = gt[g].ToBBox()
	}
	for d := range dt {
		for g := range gt {
			crowd := iscrowd != nil && iscrowd[g]
			if BoxIoU(db[d], gb[g], crowd) > 0 {
				dst[d*G+g] = PairIoU(dt[d], gt[g], crowd)
			}
		}
	}
}

// PairIoU returns the IoU of two masks, with the detection's area as the
// union when crowd is true, and -1 if their sizes differ. Unlike IoU it does
// not first check that the bounding boxes overlap. For masks of the same
// size without empty runs after the first count (what Encode, FrPoly, Merge
// and COCO files produce) the result equals IoU's; maskApi.c's boxes of
// other RLEs can miss pixels, and IoU then reports 0 where PairIoU does not.
func PairIoU(dt, gt RLE, crowd bool) float64 {
	if dt.H != gt.H || dt.W != gt.W {
		return -1
	}
	A, B := dt.Counts, gt.Counts
	ca, cb := A[0], B[0]
	var va, vb bool
	a, b := 1, 1
	var i, u uint32
	for ct := uint32(1); ct > 0; {
		c := min(ca, cb)
		if va || vb {
			u += c
			if va && vb {
				i += c
			}
		}
		ct = 0
		ca -= c
		if ca == 0 && a < len(A) {
			ca = A[a]
			a++
			va = !va
		}
		ct += ca
		cb -= c
		if cb == 0 && b < len(B) {
			cb = B[b]
			b++
			vb = !vb
		}
		ct += cb
	}
	if i == 0 {
		u = 1
	} else if crowd {
		u = uint32(dt.Area())
	}
	return float64(i) / float64(u)
}

// FrBBox returns the mask of the box [x, y, width, height] rasterized as the
// polygon of its four corners (maskApi.c rleFrBbox).
func FrBBox(bb [4]float64, h, w int) RLE {
	xs, xe := bb[0], bb[0]+bb[2]
	ys, ye := bb[1], bb[1]+bb[3]
	return FrPoly([]float64{xs, ys, xs, ye, xe, ye, xe, ys}, h, w)
}

// FrPolys returns the union of the polygons' masks, the mask of a COCO
// annotation made of several parts (pycocotools frPyObjects then merge);
// no polygons give an empty mask. Each polygon is rasterized by FrPoly. Note
// that frPyObjects reads a part list whose first part has exactly four
// numbers as boxes [x, y, w, h]; coco.Segmentation.ToRLE does that, FrPolys
// does not.
func FrPolys(polys [][]float64, h, w int) RLE {
	rles := make([]RLE, len(polys))
	for i, p := range polys {
		rles[i] = FrPoly(p, h, w)
	}
	switch len(rles) {
	case 0:
		return Empty(h, w)
	case 1:
		return rles[0] // already a fresh mask; Merge would copy it
	}
	return Merge(rles, false)
}

// FromUncompressed returns the RLE of an uncompressed COCO RLE ({"size":
// [h, w], "counts": [...]}), checking that the counts sum to h·w.
func FromUncompressed(counts []uint32, h, w int) (RLE, error) {
	r := RLE{H: h, W: w, Counts: slices.Clone(counts)}
	if err := r.Validate(); err != nil {
		return RLE{}, err
	}
	return r, nil
}
