package mask

import (
	"math"
	"slices"
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
	x := make([]int, k+1)
	y := make([]int, k+1)
	for j := 0; j < k; j++ {
		x[j] = int(float64(polyScale*xy[2*j]) + .5)
		y[j] = int(float64(polyScale*xy[2*j+1]) + .5)
	}
	x[k], y[k] = x[0], y[0]
	m := 0
	for j := 0; j < k; j++ {
		m += max(absInt(x[j]-x[j+1]), absInt(y[j]-y[j+1])) + 1
	}
	// Dense points along every edge, each edge walked from its first vertex
	// to its second so consecutive points stay adjacent.
	u := make([]int, 0, m)
	v := make([]int, 0, m)
	for j := 0; j < k; j++ {
		xs, xe, ys, ye := x[j], x[j+1], y[j], y[j+1]
		dx, dy := absInt(xe-xs), absInt(ys-ye)
		flip := (dx >= dy && xs > xe) || (dx < dy && ys > ye)
		if flip {
			xs, xe = xe, xs
			ys, ye = ye, ys
		}
		var s float64
		switch {
		case dx >= dy && dx > 0:
			s = float64(ye-ys) / float64(dx)
		case dx < dy:
			s = float64(xe-xs) / float64(dy)
		}
		// A zero-length edge (dx = dy = 0) gives 0/0 in C; its single point
		// shares its column with both neighbours, so its row is never read
		// and s = 0 stands in for the NaN.
		if dx >= dy {
			for d := 0; d <= dx; d++ {
				t := d
				if flip {
					t = dx - d
				}
				u = append(u, t+xs)
				v = append(v, int(float64(ys)+float64(s*float64(t))+.5))
			}
		} else {
			for d := 0; d <= dy; d++ {
				t := d
				if flip {
					t = dy - d
				}
				v = append(v, t+ys)
				u = append(u, int(float64(xs)+float64(s*float64(t))+.5))
			}
		}
	}
	// Where the boundary crosses a pixel-centre column, record the first
	// pixel row below it, then turn the crossings into run starts.
	a := make([]uint32, 0, len(u)/polyScale+2)
	for j := 1; j < len(u); j++ {
		if u[j] == u[j-1] {
			continue
		}
		var xd float64
		if u[j] < u[j-1] {
			xd = float64(u[j])
		} else {
			xd = float64(u[j] - 1)
		}
		xd = (xd+.5)/polyScale - .5
		if math.Floor(xd) != xd || xd < 0 || xd > float64(w-1) {
			continue
		}
		yd := float64(min(v[j], v[j-1]))
		yd = (yd+.5)/polyScale - .5
		if yd < 0 {
			yd = 0
		} else if yd > float64(h) {
			yd = float64(h)
		}
		yd = math.Ceil(yd)
		a = append(a, uint32(int(xd)*h+int(yd)))
	}
	a = append(a, uint32(h*w))
	slices.Sort(a)
	var p uint32
	for j, t := range a {
		a[j] -= p
		p = t
	}
	// Consecutive equal positions cancel: a zero-length run merges its
	// neighbours.
	b := make([]uint32, 0, len(a))
	b = append(b, a[0])
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
	return RLE{H: h, W: w, Counts: b}
}

func absInt(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
