//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// useGELUAVX2 selects the assembly GELU kernels; tests turn it off to
// compare with the pure-Go loops.
var useGELUAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// geluConsts holds the kernels' constants, each broadcast to 8 lanes, in the
// order the assembly addresses them (row r at byte offset 32·r).
var geluConsts = func() (c [22][8]uint32) {
	f := []float32{
		0.70710678118654752, 0, 0.3275911, // 0 1/√2, 1 |·| mask (set below), 2 p
		1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592, // 3..7 a5..a1
		1, 0.5, 1.44269504088896341, 0.693359375, -2.12194440e-4, // 8 one, 9 half, 10 log2e, 11 ln2hi, 12 ln2lo
		1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, // 13..18 expf polynomial
		-87.33654, 0, 0, // 19 lowest exponent argument, 20 int 127, 21 sign mask
	}
	for r, v := range f {
		for l := range c[r] {
			c[r][l] = float32bits(v)
		}
	}
	for l := 0; l < 8; l++ {
		c[1][l] = 0x7fffffff
		c[20][l] = 127
		c[21][l] = 0x80000000
	}
	return c
}()

// geluAVX2 computes, for i in [0, n) with n a multiple of 8,
//
//	y[i] = x[i]/2 · (1 + erf(x[i]/√2))
//
// with erf and exp as erfExpf computes them, in fused multiply-adds.
//
//go:noescape
func geluAVX2(x, y *float32, n int, c *[22][8]uint32)

// geluBackwardAVX2 computes, for i in [0, n) with n a multiple of 8,
//
//	dx[i] += dy[i] · ((1 + erf(x[i]/√2))/2 + x[i]·e^(-x[i]²/2)/√(2π))
//
//go:noescape
func geluBackwardAVX2(x, dy, dx *float32, n int, c *[22][8]uint32)

func geluBlock(x, y []float32) {
	if !useGELUAVX2 {
		geluGeneric(x, y)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		geluAVX2(&x[0], &y[0], n, &geluConsts)
	}
	if n < len(x) {
		// The tail goes through the same kernel via a padded buffer, so
		// every element is computed alike whatever the split.
		var bx, by [8]float32
		copy(bx[:], x[n:])
		geluAVX2(&bx[0], &by[0], 8, &geluConsts)
		copy(y[n:], by[:])
	}
}

func geluBackwardBlock(x, dy, dx []float32) {
	if !useGELUAVX2 {
		geluBackwardGeneric(x, dy, dx)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		geluBackwardAVX2(&x[0], &dy[0], &dx[0], n, &geluConsts)
	}
	if n < len(x) {
		var bx, bdy, bdx [8]float32
		copy(bx[:], x[n:])
		copy(bdy[:], dy[n:])
		copy(bdx[:], dx[n:])
		geluBackwardAVX2(&bx[0], &bdy[0], &bdx[0], 8, &geluConsts)
		copy(dx[n:], bdx[:])
	}
}
