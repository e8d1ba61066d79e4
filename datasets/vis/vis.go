package vis

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/densepred/dp/datasets"
)

// Normalisation undone when a sample holds only its normalised Input: the
// ImageNet mean and std on RGB, dp's default.
var (
	mean = [3]float32{123.675, 116.28, 103.53}
	std  = [3]float32{58.395, 57.12, 57.375}
)

// Color returns the drawing colour of class k: hues spaced by the golden
// angle, so neighbouring labels differ.
func Color(k int) color.NRGBA {
	h := math.Mod(float64(k)*137.508, 360) / 60
	s, v := 0.75, 0.95
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := v - c
	return color.NRGBA{uint8(255 * (r + m)), uint8(255 * (g + m)), uint8(255 * (b + m)), 255}
}

// DrawSample renders s: its Image, or its normalised Input with the
// ImageNet mean and std undone; then the segmentation map (255 left
// clear), the instance masks and the boxes labelled with classNames
// (ignored boxes, such as crowd regions, drawn thin and grey). A sample
// without pixels gives an empty image of its ImgShape.
func DrawSample(s *datasets.Sample, classNames []string) image.Image {
	w, h := s.Size()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	switch {
	case s.Image != nil:
		copyImage(out, s.Image)
	case s.Input != nil:
		copyInput(out, s)
	}
	if s.SegMap != nil {
		for y := 0; y < min(h, s.SegMap.H); y++ {
			for x := 0; x < min(w, s.SegMap.W); x++ {
				if v := s.SegMap.Pix[y*s.SegMap.W+x]; v != 255 {
					blend(out, x, y, Color(int(v)), 0.45)
				}
			}
		}
	}
	for k, m := range s.Masks {
		label := 0
		if k < len(s.Labels) {
			label = s.Labels[k]
		}
		bm := m.ToBitmap(w, h)
		for y := 0; y < min(h, bm.H); y++ {
			for x := 0; x < min(w, bm.W); x++ {
				if bm.Pix[y*bm.W+x] != 0 {
					blend(out, x, y, Color(label), 0.5)
				}
			}
		}
	}
	for k, b := range s.Boxes {
		label := 0
		if k < len(s.Labels) {
			label = s.Labels[k]
		}
		c, thick := Color(label), 2
		if k < len(s.Ignore) && s.Ignore[k] {
			c, thick = color.NRGBA{160, 160, 160, 255}, 1
		}
		rect(out, b, c, thick)
		name := ""
		if label >= 0 && label < len(classNames) {
			name = classNames[label]
		}
		if name != "" {
			text(out, int(b[0])+2, int(b[1])+11, name, c)
		}
	}
	if s.Label >= 0 && s.Label < len(classNames) && len(s.Boxes) == 0 {
		text(out, 3, 12, classNames[s.Label], color.NRGBA{255, 255, 255, 255})
	}
	return out
}

func copyImage(out *image.NRGBA, img *datasets.Image) {
	for i := 0; i < img.W*img.H; i++ {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2], 255
	}
}

func copyInput(out *image.NRGBA, s *datasets.Sample) {
	sh := s.Input.Shape()
	c, h, w := sh[0], sh[1], sh[2]
	d := s.Input.Data()
	for i := 0; i < w*h; i++ {
		for k := 0; k < 3; k++ {
			ch := min(k, c-1)
			v := d[ch*w*h+i]*std[k] + mean[k]
			out.Pix[4*i+k] = uint8(min(max(v+0.5, 0), 255))
		}
		out.Pix[4*i+3] = 255
	}
}

func blend(out *image.NRGBA, x, y int, c color.NRGBA, a float64) {
	p := out.Pix[out.PixOffset(x, y):]
	p[0] = uint8(float64(p[0])*(1-a) + float64(c.R)*a)
	p[1] = uint8(float64(p[1])*(1-a) + float64(c.G)*a)
	p[2] = uint8(float64(p[2])*(1-a) + float64(c.B)*a)
}

func rect(out *image.NRGBA, b [4]float32, c color.NRGBA, thick int) {
	x0, y0 := int(math.Floor(float64(b[0]))), int(math.Floor(float64(b[1])))
	x1, y1 := int(math.Ceil(float64(b[2])))-1, int(math.Ceil(float64(b[3])))-1
	u := image.NewUniform(c)
	for t := 0; t < thick; t++ {
		for _, r := range []image.Rectangle{
			image.Rect(x0, y0+t, x1+1, y0+t+1), image.Rect(x0, y1-t, x1+1, y1-t+1),
			image.Rect(x0+t, y0, x0+t+1, y1+1), image.Rect(x1-t, y0, x1-t+1, y1+1),
		} {
			draw.Draw(out, r.Intersect(out.Rect), u, image.Point{}, draw.Src)
		}
	}
}

// text writes s with a dark shadow so it reads on any background.
func text(out *image.NRGBA, x, y int, s string, c color.NRGBA) {
	for _, l := range []struct {
		dx, dy int
		c      color.Color
	}{{1, 1, color.NRGBA{0, 0, 0, 255}}, {0, 0, c}} {
		d := font.Drawer{Dst: out, Src: image.NewUniform(l.c), Face: basicfont.Face7x13,
			Dot: fixed.P(x+l.dx, y+l.dy)}
		d.DrawString(s)
	}
}
