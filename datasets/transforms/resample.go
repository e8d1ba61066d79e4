package transforms

import (
	"math"

	"github.com/disintegration/imaging"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// OpenCV's fixed-point resize constants (imgproc/src/resize.cpp):
// INTER_RESIZE_COEF_BITS = 11, so weights are in units of 1/2048.
const (
	coefBits  = 11
	coefScale = 1 << coefBits
)

// linearTaps are the two source indices and 11-bit weights of each output
// column or row under OpenCV's INTER_LINEAR.
type linearTaps struct {
	i0, i1 []int
	a0, a1 []int32
}

// linearCoeffs computes OpenCV's INTER_LINEAR taps for resizing n source
// samples to m: source coordinate f = (d+0.5)·n/m − 0.5, clamped at both
// borders (cv::resize, resizeGeneric_ with the "if (sx < 0) fx = 0, sx = 0"
// rule), weights rounded to 1/2048.
func linearCoeffs(n, m int) linearTaps {
	t := linearTaps{make([]int, m), make([]int, m), make([]int32, m), make([]int32, m)}
	scale := float64(n) / float64(m)
	for d := 0; d < m; d++ {
		f := float32((float64(d)+0.5)*scale - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		if s < 0 {
			s, f = 0, 0
		}
		if s >= n-1 {
			s, f = n-1, 0
		}
		t.i0[d], t.i1[d] = s, min(s+1, n-1)
		a0 := int32(math.RoundToEven(float64((1 - f) * coefScale)))
		t.a0[d], t.a1[d] = a0, coefScale-a0
	}
	return t
}

// resizeBilinear resizes an interleaved 8-bit image with c channels from
// w×h to dw×dh like cv2.resize(..., INTER_LINEAR): a horizontal pass into
// 11-bit fixed point, then a vertical pass that rounds as OpenCV's
// VResizeLinear for uchar does.
func resizeBilinear(src []uint8, w, h, c, dw, dh int) []uint8 {
	dst := make([]uint8, dw*dh*c)
	if w == dw && h == dh {
		copy(dst, src)
		return dst
	}
	xt := linearCoeffs(w, dw)
	yt := linearCoeffs(h, dh)
	rowLen := dw * c
	bufs := [2][]int32{make([]int32, rowLen), make([]int32, rowLen)}
	rows := [2]int{-1, -1}
	hpass := func(buf []int32, sy int) {
		s := src[sy*w*c:][:w*c]
		if c == 3 {
			// The RGB case, unrolled: the hot loop of image resizing.
			i0, i1, a0s, a1s := xt.i0[:dw], xt.i1[:dw], xt.a0[:dw], xt.a1[:dw]
			for dx := 0; dx < dw; dx++ {
				o0, o1 := i0[dx]*3, i1[dx]*3
				a0, a1 := a0s[dx], a1s[dx]
				p0, p1 := s[o0:o0+3:o0+3], s[o1:o1+3:o1+3]
				b := buf[dx*3 : dx*3+3 : dx*3+3]
				b[0] = int32(p0[0])*a0 + int32(p1[0])*a1
				b[1] = int32(p0[1])*a0 + int32(p1[1])*a1
				b[2] = int32(p0[2])*a0 + int32(p1[2])*a1
			}
			return
		}
		for dx := 0; dx < dw; dx++ {
			o0, o1 := xt.i0[dx]*c, xt.i1[dx]*c
			a0, a1 := xt.a0[dx], xt.a1[dx]
			for k := 0; k < c; k++ {
				buf[dx*c+k] = int32(s[o0+k])*a0 + int32(s[o1+k])*a1
			}
		}
	}
	// row returns the horizontally resampled source row sy, computing it
	// into whichever buffer does not hold the other row needed.
	row := func(sy, keep int) []int32 {
		for k := 0; k < 2; k++ {
			if rows[k] == sy {
				return bufs[k]
			}
		}
		k := 0
		if rows[0] == keep {
			k = 1
		}
		hpass(bufs[k], sy)
		rows[k] = sy
		return bufs[k]
	}
	for dy := 0; dy < dh; dy++ {
		s0 := row(yt.i0[dy], yt.i1[dy])
		s1 := row(yt.i1[dy], yt.i0[dy])
		b0, b1 := yt.a0[dy], yt.a1[dy]
		d := dst[dy*rowLen:][:rowLen]
		s0, s1 = s0[:len(d)], s1[:len(d)]
		if b1 == 0 {
			// On a source row: OpenCV's formula reduces to rounding s0.
			for x := range d {
				d[x] = uint8(((b0*(s0[x]>>4))>>16 + 2) >> 2)
			}
			continue
		}
		for x := range d {
			// Weights sum to 2048 and inputs are at most 255·2048, so
			// the result is at most 255: no clamp is needed.
			d[x] = uint8(((b0*(s0[x]>>4))>>16 + (b1*(s1[x]>>4))>>16 + 2) >> 2)
		}
	}
	return dst
}

// nearestIndex returns OpenCV INTER_NEAREST's source index for each of m
// outputs from n inputs: floor(d·n/m), clamped (not half-pixel aligned).
func nearestIndex(n, m int) []int {
	idx := make([]int, m)
	ifx := 1 / (float64(m) / float64(n))
	for d := range idx {
		idx[d] = min(int(math.Floor(float64(d)*ifx)), n-1)
	}
	return idx
}

// resizeNearest resizes a c-channel interleaved 8-bit array like
// cv2.resize(..., INTER_NEAREST).
func resizeNearest(src []uint8, w, h, c, dw, dh int) []uint8 {
	dst := make([]uint8, dw*dh*c)
	xi := nearestIndex(w, dw)
	yi := nearestIndex(h, dh)
	for dy := 0; dy < dh; dy++ {
		s := src[yi[dy]*w*c:]
		d := dst[dy*dw*c:][:dw*c]
		if c == 1 {
			for dx, sx := range xi {
				d[dx] = s[sx]
			}
			continue
		}
		for dx, sx := range xi {
			copy(d[dx*c:dx*c+c], s[sx*c:sx*c+c])
		}
	}
	return dst
}

// resizeBicubic resizes with PIL's antialiased bicubic filter (a = −0.5),
// which timm's "bicubic" interpolation means.
func resizeBicubic(img *datasets.Image, dw, dh int) *datasets.Image {
	out := imaging.Resize(img.ToNRGBA(), dw, dh, imaging.CatmullRom)
	return datasets.ToRGB(out)
}

// Interpolation names accepted in options (mmcv's names).
const (
	interpBilinear = "bilinear"
	interpNearest  = "nearest"
	interpBicubic  = "bicubic"
)

func checkInterp(name, what string) error {
	switch name {
	case interpBilinear, interpNearest, interpBicubic:
		return nil
	}
	return errorf("%s: interpolation %q, want bilinear, nearest or bicubic", what, name)
}

// resizeImage resizes an image with the named interpolation.
func resizeImage(img *datasets.Image, dw, dh int, interp string) *datasets.Image {
	switch interp {
	case interpNearest:
		return &datasets.Image{W: dw, H: dh, Pix: resizeNearest(img.Pix, img.W, img.H, 3, dw, dh)}
	case interpBicubic:
		return resizeBicubic(img, dw, dh)
	}
	return &datasets.Image{W: dw, H: dh, Pix: resizeBilinear(img.Pix, img.W, img.H, 3, dw, dh)}
}

// resizePlane resizes a label map or bitmap mask with nearest neighbour,
// as mmcv does for segmentation maps and BitmapMasks.
func resizePlane(p *datasets.Plane, dw, dh int) *datasets.Plane {
	return &datasets.Plane{W: dw, H: dh, Pix: resizeNearest(p.Pix, p.W, p.H, 1, dw, dh)}
}

// resizeSample resizes everything in s to dw×dh: the image with interp,
// the segmentation map and bitmap/RLE masks with nearest neighbour,
// polygons and boxes by the size ratios (boxes clipped to the new image if
// clip is set). It updates ImgShape and ScaleFactor.
func resizeSample(s *datasets.Sample, dw, dh int, interp string, clip bool) {
	w, h := s.Size()
	sx, sy := float64(dw)/float64(w), float64(dh)/float64(h)
	if s.Image != nil {
		s.Image = resizeImage(s.Image, dw, dh, interp)
	}
	if s.SegMap != nil {
		s.SegMap = resizePlane(s.SegMap, dw, dh)
	}
	for i := range s.Boxes {
		b := &s.Boxes[i]
		b[0], b[2] = float32(float64(b[0])*sx), float32(float64(b[2])*sx)
		b[1], b[3] = float32(float64(b[1])*sy), float32(float64(b[3])*sy)
		if clip {
			clipBox(b, dw, dh)
		}
	}
	for i := range s.Masks {
		m := &s.Masks[i]
		switch {
		case m.Polygons != nil:
			for _, p := range m.Polygons {
				for k := 0; k+1 < len(p); k += 2 {
					p[k] *= sx
					p[k+1] *= sy
				}
			}
		default:
			*m = datasets.Mask{Bitmap: resizePlane(m.ToBitmap(w, h), dw, dh)}
		}
	}
	s.Meta.ImgShape = [2]int{dh, dw}
	s.Meta.PadShape = [2]int{dh, dw}
	s.Meta.ScaleFactor[0] *= sx
	s.Meta.ScaleFactor[1] *= sy
}

func clipBox(b *[4]float32, w, h int) {
	b[0] = min(max(b[0], 0), float32(w))
	b[2] = min(max(b[2], 0), float32(w))
	b[1] = min(max(b[1], 0), float32(h))
	b[3] = min(max(b[3], 0), float32(h))
}

// cropSample crops everything in s to the rectangle [x0, x0+cw)×[y0, y0+ch)
// (which must lie inside the image): boxes and polygons are shifted, boxes
// clipped to the crop if clip is set; bitmap and RLE masks are cut.
func cropSample(s *datasets.Sample, x0, y0, cw, ch int, clip bool) {
	w, h := s.Size()
	if s.Image != nil {
		out := datasets.NewImage(cw, ch)
		for y := 0; y < ch; y++ {
			copy(out.Pix[3*y*cw:][:3*cw], s.Image.Pix[3*((y0+y)*w+x0):])
		}
		s.Image = out
	}
	if s.SegMap != nil {
		s.SegMap = cropPlane(s.SegMap, x0, y0, cw, ch)
	}
	for i := range s.Boxes {
		b := &s.Boxes[i]
		b[0] -= float32(x0)
		b[2] -= float32(x0)
		b[1] -= float32(y0)
		b[3] -= float32(y0)
		if clip {
			clipBox(b, cw, ch)
		}
	}
	for i := range s.Masks {
		m := &s.Masks[i]
		switch {
		case m.Polygons != nil:
			// Shifting without clipping keeps the shape; rasterising
			// in the crop's frame drops what lies outside.
			for _, p := range m.Polygons {
				for k := 0; k+1 < len(p); k += 2 {
					p[k] -= float64(x0)
					p[k+1] -= float64(y0)
				}
			}
		default:
			*m = datasets.Mask{Bitmap: cropPlane(m.ToBitmap(w, h), x0, y0, cw, ch)}
		}
	}
	s.Meta.ImgShape = [2]int{ch, cw}
	s.Meta.PadShape = [2]int{ch, cw}
}

func cropPlane(p *datasets.Plane, x0, y0, cw, ch int) *datasets.Plane {
	out := datasets.NewPlane(cw, ch)
	for y := 0; y < ch; y++ {
		copy(out.Pix[y*cw:][:cw], p.Pix[(y0+y)*p.W+x0:])
	}
	return out
}

// randInt returns a uniform integer in [lo, hi), like numpy's randint.
func randInt(rng *tensor.RNG, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + rng.Intn(hi-lo)
}
