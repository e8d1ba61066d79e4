package mask

import (
	"math"
	"slices"
	"sync"
)

// polyScale is maskApi.c rleFrPoly's upsampling factor: vertices are
// rounded to a grid five times finer than the pixels before the boundary is
// traced.
const polyScale = 5

// FrPoly returns the mask of the polygon xy = [x0, y0, x1, y1, ...] in an
// h×w image, with exactly the rasterization of the COCO API (maskApi.c
// rleFrPoly), so areas and IoUs equal pycocotools'. Pixel (x, y) covers
// [x, x+1)×[y, y+1) and is foreground when its centre lies inside the
// polygon, decided on the 5× grid: the vertices are scaled by 5 and rounded
// (C truncation of v+0.5), the edges are traced densely on that grid, and at
// every crossing of a pixel-centre column the first row whose centre lies
// below the edge starts or ends a run. Parts outside the image are clipped:
// crossings left of column 0 or right of column w-1 are dropped and rows are
// clamped to [0, h]. A trailing odd coordinate is ignored; fewer than two
// vertices give an empty mask.
func FrPoly(xy []float64, h, w int) RLE {
	k := len(xy) / 2
	if k == 0 || h <= 0 || w <= 0 {
		return Empty(h, w)
	}
	// Vertices on the upsampled grid, closed. The float64 conversions keep
	// the compiler from fusing the multiply-add, which C does not do.
	// Scratch buffers come from a pool: rasterizing the polygons of a COCO
	// validation set otherwise allocates hundreds of megabytes.
	sc := polyPool.Get().(*polyScan)
	defer polyPool.Put(sc)
	sc.reset(h, w)
	sc.vx, sc.vy = growInts(sc.vx, k+1), growInts(sc.vy, k+1)
	x, y := sc.vx, sc.vy
	for j := 0; j < k; j++ {
		x[j] = int(float64(polyScale*xy[2*j]) + .5)
		y[j] = int(float64(polyScale*xy[2*j+1]) + .5)
	}
	x[k], y[k] = x[0], y[0]
	// Walk the boundary on the upsampled grid as rleFrPoly does: every edge
	// from its first vertex to its second, one point per step along its
	// longer axis. Wherever two consecutive points lie in different grid
	// columns and the column boundary between them is a pixel-centre column,
	// the first pixel row below the edge there starts or ends a run. The
	// points are generated on the fly; edges steeper than 45° are walked
	// point by point, flatter ones jump straight to the pixel-centre columns.
	for j := 0; j < k; j++ {
		xs, xe, ys, ye := x[j], x[j+1], y[j], y[j+1]
		dx, dy := absInt(xe-xs), absInt(ys-ye)
		flip := (dx >= dy && xs > xe) || (dx < dy && ys > ye)
		if flip {
			xs, xe = xe, xs
			ys, ye = ye, ys
		}
		if dx >= dy {
			if dx == 0 {
				// A zero-length edge: C computes 0/0 and converts the NaN
				// row to int, which x86 makes INT_MIN.
				sc.point(xs, math.MinInt32)
				continue
			}
			s := float64(ye-ys) / float64(dx)
			row := func(t int) int { return int(float64(ys) + float64(s*float64(t)) + .5) }
			t0, t1 := 0, dx // first and last t walked
			if flip {
				t0, t1 = dx, 0
			}
			sc.point(t0+xs, row(t0))
			// Consecutive points t and t+1 differ by one column; their
			// left column xs+t is a pixel-centre column when it is 2 mod 5.
			first := mod(2-xs, polyScale)
			for t := first; t < dx; t += polyScale {
				sc.crossing(xs+t, min(row(t), row(t+1)))
			}
			sc.pu, sc.pv = t1+xs, row(t1)
		} else {
			s := float64(xe-xs) / float64(dy)
			if !sc.steepEdge(xs, ys, dy, s, flip) {
				for d := 0; d <= dy; d++ {
					t := d
					if flip {
						t = dy - d
					}
					sc.point(int(float64(xs)+float64(s*float64(t))+.5), t+ys)
				}
			}
		}
	}
	a := sc.sorted()
	a = append(a, uint32(h*w))
	var p uint32
	for j, t := range a {
		a[j] -= p
		p = t
	}
	// Consecutive equal positions cancel: a zero-length run merges its
	// neighbours.
	// b is built in place over a: it never gets ahead of the reads.
	b := a[:1]
	for j := 1; j < len(a); {
		if a[j] > 0 {
			b = append(b, a[j])
			j++
			continue
		}
		j++
		if j < len(a) {
			b[len(b)-1] += a[j]
			j++
		}
	}
	return RLE{H: h, W: w, Counts: slices.Clone(b)}
}

func absInt(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// polyScan collects the run boundaries of rleFrPoly from the boundary
// points, fed in order.
var polyPool = sync.Pool{New: func() any { return new(polyScan) }}

// reset prepares a pooled polyScan for an h×w image, keeping its buffers.
func (sc *polyScan) reset(h, w int) {
	sc.h, sc.w = h, w
	sc.a, sc.col = sc.a[:0], sc.col[:0]
	sc.have = false
	sc.minCol, sc.maxCol = 0, 0
}

func growInts(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growInt32s(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

type polyScan struct {
	h, w   int
	a      []uint32 // run boundaries as column-major pixel positions
	pu, pv int      // previous point
	col    []int32  // col[i] = a[i] / h, the column a position falls in
	minCol int      // smallest and largest col
	maxCol int

	// Reused buffers: polygon vertices on the grid, bucket starts, sorted output.
	vx, vy []int
	start  []int32
	out    []uint32
	have   bool // pu, pv are set
}

// steepEdge adds the run boundaries of an edge steeper than 45°, whose
// points are (u(t), ys+t) for t = 0..dy with u(t) = (int)(xs + s·t + .5),
// walked from t = 0 or, if flip, from t = dy. Instead of visiting every t
// it finds where u changes past a pixel-centre column: u is monotone in t
// and |s| < 1, so u moves by one column at a time and the boundary between
// grid columns c and c+1 lies between the last t with u(t) on one side and
// the next. The crossing then sits at column c and row min(v) = ys + t,
// whichever way the edge is walked. It reports false, having added nothing,
// if it meets a step of two columns (possible only through rounding), and
// the caller walks the edge point by point instead.
func (sc *polyScan) steepEdge(xs, ys, dy int, s float64, flip bool) bool {
	u := func(t int) int { return int(float64(xs) + float64(s*float64(t)) + .5) }
	t0, t1 := 0, dy // first and last t walked
	if flip {
		t0, t1 = dy, 0
	}
	saved := *sc
	sc.point(u(t0), ys+t0)
	lo, hi := u(0), u(dy)
	inc := hi >= lo
	if !inc {
		lo, hi = hi, lo
	}
	// Pixel-centre columns c = 5x+2 with both c and c+1 reached, inside the image.
	first := max(lo+mod(2-lo, polyScale), 2)
	last := min(hi-1, polyScale*(sc.w-1)+2)
	for c := first; c <= last; c += polyScale {
		// The last t on the low side of the boundary (u ≤ c when u grows,
		// u ≥ c+1 when it falls), estimated from the line and corrected.
		low := func(t int) bool { return (u(t) <= c) == inc }
		est := math.Floor((float64(c) + .5 - float64(xs)) / s)
		t := dy - 1
		if est < float64(dy-1) {
			t = max(int(est), 0)
		}
		for t < dy-1 && low(t+1) {
			t++
		}
		for t > 0 && !low(t) {
			t--
		}
		a, b := u(t), u(t+1)
		if inc && (a != c || b != c+1) || !inc && (a != c+1 || b != c) {
			a, col := sc.a[:len(saved.a)], sc.col[:len(saved.col)]
			*sc = saved
			sc.a, sc.col = a, col
			return false
		}
		sc.crossing(c, ys+t)
	}
	sc.pu, sc.pv = u(t1), ys+t1
	return true
}

// point adds the next boundary point (u, v) on the upsampled grid.
func (sc *polyScan) point(u, v int) {
	if sc.have && u != sc.pu {
		xd := u - 1
		if u < sc.pu {
			xd = u
		}
		if mod(xd-2, polyScale) == 0 {
			sc.crossing(xd, min(v, sc.pv))
		}
	}
	sc.pu, sc.pv, sc.have = u, v, true
}

// crossing records the boundary between grid columns u and u+1, where
// u = 5x+2 for the pixel column x, at grid row v: unless x is outside the
// image, the first pixel row whose centre is below v, clamped to [0, h].
func (sc *polyScan) crossing(u, v int) {
	// In maskApi.c: xd = (u+.5)/5-.5 and yd = ceil((v+.5)/5-.5) clamped to
	// [0, h], computed in float64. With u = 5x+2 both are exact integer
	// expressions: xd = (u-2)/5 and yd = ceil((v-2)/5), whose fraction is
	// never within rounding error of an integer.
	if u < 2 {
		return
	}
	x := (u - 2) / polyScale
	if x > sc.w-1 {
		return
	}
	y := 0
	if v > 2 {
		y = min((v+2)/polyScale, sc.h)
	}
	col := x // the column (x·h+y)/h the position below falls in
	if y == sc.h {
		col++
	}
	if len(sc.a) == 0 {
		sc.minCol, sc.maxCol = col, col
	}
	sc.minCol, sc.maxCol = min(sc.minCol, col), max(sc.maxCol, col)
	sc.a = append(sc.a, uint32(x*sc.h+y))
	sc.col = append(sc.col, int32(col))
}

// sorted returns the run boundaries in increasing order. They are bucketed
// by the column each position falls in, then each column's few entries are
// insertion-sorted: several times faster than a comparison sort of the
// whole list.
func (sc *polyScan) sorted() []uint32 {
	a := sc.a
	if len(a) < 16 {
		slices.Sort(a)
		return a
	}
	base := int32(sc.minCol)
	sc.start = growInt32s(sc.start, sc.maxCol-sc.minCol+2)
	start := sc.start
	clear(start)
	for _, c := range sc.col {
		start[c-base+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	if cap(sc.out) < len(a)+1 {
		sc.out = make([]uint32, len(a), 2*len(a)+1)
	}
	out := sc.out[:len(a)]
	for i, v := range a {
		c := sc.col[i] - base
		out[start[c]] = v
		start[c]++
	}
	// start[c] now ends bucket c; sort each bucket.
	lo := int32(0)
	for _, hi := range start[:len(start)-1] {
		b := out[lo:hi]
		for i := 1; i < len(b); i++ {
			for j := i; j > 0 && b[j] < b[j-1]; j-- {
				b[j], b[j-1] = b[j-1], b[j]
			}
		}
		lo = hi
	}
	return out
}

// mod is the non-negative remainder of a by m.
func mod(a, m int) int {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}
