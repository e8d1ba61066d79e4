package transforms

import (
	"math"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// LetterboxOptions configure Letterbox (YOLOv5 utils/augmentations.py
// letterbox; mmyolo LetterResize).
type LetterboxOptions struct {
	// Size is the output (height, width). Default (640, 640).
	Size [2]int `yaml:"scale"`
	// PadVal is the border colour, one value for all channels. Default 114.
	PadVal uint8 `yaml:"pad_val"`
	// ScaleUp allows enlarging small images; false only shrinks, as YOLOv5
	// does for validation. Default true.
	ScaleUp bool `yaml:"allow_scale_up"`
	// MinRect pads only to the next multiple of Stride instead of to
	// Size (YOLOv5's auto=True, for rectangular inference). Default false.
	MinRect bool `yaml:"use_mini_pad"`
	// Stride is the multiple MinRect pads to. Default 32.
	Stride int `yaml:"stride"`
}

// DefaultLetterboxOptions returns YOLOv5's training defaults.
func DefaultLetterboxOptions() LetterboxOptions {
	return LetterboxOptions{Size: [2]int{640, 640}, PadVal: 114, ScaleUp: true, Stride: 32}
}

// Letterbox resizes keeping the aspect ratio so the image fits Size, then
// pads both sides evenly with PadVal. As YOLOv5: r = min(H/h, W/w), the new
// size rounds half to even (Python round), the border is split as
// round(d/2 − 0.1) before and round(d/2 + 0.1) after. Boxes and masks are
// scaled by the actual size ratio and shifted by the border, which is
// recorded in Meta.PadParam.
type Letterbox struct{ opt LetterboxOptions }

// NewLetterbox checks the options and returns a Letterbox.
func NewLetterbox(opt LetterboxOptions) (*Letterbox, error) {
	if opt.Size[0] <= 0 || opt.Size[1] <= 0 || (opt.MinRect && opt.Stride <= 0) {
		return nil, errorf("Letterbox: scale %v, stride %d, want positive", opt.Size, opt.Stride)
	}
	return &Letterbox{opt}, nil
}

// Apply letterboxes s.
func (t *Letterbox) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	if err := needPixels(s, "Letterbox"); err != nil {
		return err
	}
	w, h := s.Size()
	H, W := t.opt.Size[0], t.opt.Size[1]
	r := math.Min(float64(H)/float64(h), float64(W)/float64(w))
	if !t.opt.ScaleUp {
		r = math.Min(r, 1)
	}
	nw, nh := int(math.RoundToEven(float64(w)*r)), int(math.RoundToEven(float64(h)*r))
	nw, nh = max(nw, 1), max(nh, 1)
	dw, dh := W-nw, H-nh
	if t.opt.MinRect {
		dw, dh = dw%t.opt.Stride, dh%t.opt.Stride
	}
	top := int(math.RoundToEven(float64(dh)/2 - 0.1))
	bottom := int(math.RoundToEven(float64(dh)/2 + 0.1))
	left := int(math.RoundToEven(float64(dw)/2 - 0.1))
	right := int(math.RoundToEven(float64(dw)/2 + 0.1))
	if nw != w || nh != h {
		resizeSample(s, nw, nh, interpBilinear, true)
	}
	ow, oh := nw+left+right, nh+top+bottom
	img := datasets.NewImage(ow, oh)
	for i := range img.Pix {
		img.Pix[i] = t.opt.PadVal
	}
	for y := 0; y < nh; y++ {
		copy(img.Pix[3*((top+y)*ow+left):][:3*nw], s.Image.Pix[3*y*nw:][:3*nw])
	}
	s.Image = img
	if s.SegMap != nil {
		s.SegMap = shiftPlane(s.SegMap, ow, oh, left, top, 255)
	}
	for i := range s.Boxes {
		b := &s.Boxes[i]
		b[0] += float32(left)
		b[2] += float32(left)
		b[1] += float32(top)
		b[3] += float32(top)
	}
	for i := range s.Masks {
		m := &s.Masks[i]
		if m.Polygons != nil {
			for _, p := range m.Polygons {
				for k := 0; k+1 < len(p); k += 2 {
					p[k] += float64(left)
					p[k+1] += float64(top)
				}
			}
			continue
		}
		*m = datasets.Mask{Bitmap: shiftPlane(m.ToBitmap(nw, nh), ow, oh, left, top, 0)}
	}
	s.Meta.ImgShape = [2]int{oh, ow}
	s.Meta.PadShape = [2]int{oh, ow}
	s.Meta.PadParam = [4]int{top, bottom, left, right}
	return nil
}

// shiftPlane places p at (left, top) in an ow×oh plane filled with v.
func shiftPlane(p *datasets.Plane, ow, oh, left, top int, v uint8) *datasets.Plane {
	out := datasets.NewPlane(ow, oh)
	if v != 0 {
		for i := range out.Pix {
			out.Pix[i] = v
		}
	}
	for y := 0; y < p.H; y++ {
		copy(out.Pix[(top+y)*ow+left:][:p.W], p.Pix[y*p.W:][:p.W])
	}
	return out
}

func init() {
	register("Letterbox", DefaultLetterboxOptions, func(o LetterboxOptions) (datasets.Transform, error) { return NewLetterbox(o) })
}
