package transforms

import (
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// NormalizeOptions configure Normalize (mmcv Normalize).
type NormalizeOptions struct {
	// Mean per channel, in the output channel order, on 0..255 values.
	// Default ImageNet's [123.675, 116.28, 103.53] (RGB).
	Mean [3]float32 `yaml:"mean"`
	// Std per channel, in the output channel order. Default
	// [58.395, 57.12, 57.375].
	Std [3]float32 `yaml:"std"`
	// ToRGB outputs RGB channels. dp decodes images as RGB, so true (the
	// mmdet/mmseg setting for BGR-decoded images) keeps the order and
	// false outputs BGR, for Caffe-style weights. Default true.
	ToRGB bool `yaml:"to_rgb"`
}

// DefaultNormalizeOptions returns the ImageNet mean and std on RGB.
func DefaultNormalizeOptions() NormalizeOptions {
	return NormalizeOptions{Mean: [3]float32{123.675, 116.28, 103.53}, Std: [3]float32{58.395, 57.12, 57.375}, ToRGB: true}
}

// Normalize turns the 8-bit image into the model input: a C×H×W float32
// tensor of (pixel − mean) / std in Sample.Input. Sample.Image is dropped.
//
//	Input[c, y, x] = (Image[y, x, src(c)] − Mean[c]) / Std[c]
//
// with src(c) = c for RGB output and 2 − c for BGR.
type Normalize struct{ opt NormalizeOptions }

// NewNormalize checks the options and returns a Normalize.
func NewNormalize(opt NormalizeOptions) (*Normalize, error) {
	for _, s := range opt.Std {
		if s == 0 {
			return nil, errorf("Normalize: std %v has a zero", opt.Std)
		}
	}
	return &Normalize{opt}, nil
}

// Apply normalises the image.
func (t *Normalize) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	img := s.Image
	if img == nil {
		return errorf("Normalize: record %d (%s) has no 8-bit image (LoadImage missing, or Normalize twice)", s.Meta.Index, s.Meta.File)
	}
	n := img.W * img.H
	out := tensor.New(3, img.H, img.W)
	d := out.Data()
	// A lookup table per channel: 256 entries replace a subtract and a
	// divide per pixel.
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			lut[c][v] = (float32(v) - t.opt.Mean[c]) / t.opt.Std[c]
		}
	}
	// r, g, b receive the red, green and blue pixels; for BGR output red
	// goes to channel 2 with channel 2's mean and std.
	r, g, b := d[:n], d[n:2*n], d[2*n:]
	lr, lg, lb := &lut[0], &lut[1], &lut[2]
	if !t.opt.ToRGB {
		r, b = b, r
		lr, lb = lb, lr
	}
	pix := img.Pix[:3*n]
	for i := 0; i < n; i++ {
		r[i] = lr[pix[3*i]]
		g[i] = lg[pix[3*i+1]]
		b[i] = lb[pix[3*i+2]]
	}
	s.Input = out
	s.Image = nil
	return nil
}

// PadOptions configure Pad (mmdet/mmseg Pad).
type PadOptions struct {
	// Size pads to this (height, width); zero means use SizeDivisor.
	Size [2]int `yaml:"size"`
	// SizeDivisor pads height and width up to a multiple of it.
	// Default 32.
	SizeDivisor int `yaml:"size_divisor"`
	// PadVal fills the image (in normalised units once Normalize ran).
	// Default 0.
	PadVal float32 `yaml:"pad_val"`
	// SegPadVal fills the segmentation map. Default 255 (ignore).
	SegPadVal int `yaml:"seg_pad_val"`
}

// DefaultPadOptions returns mmdet's defaults (size_divisor 32).
func DefaultPadOptions() PadOptions { return PadOptions{SizeDivisor: 32, SegPadVal: 255} }

// Pad pads the image, bitmap masks (with 0) and segmentation map at the
// bottom and right, and records PadShape. Boxes and polygons do not move.
type Pad struct{ opt PadOptions }

// NewPad checks the options and returns a Pad.
func NewPad(opt PadOptions) (*Pad, error) {
	if (opt.Size[0] > 0) == (opt.SizeDivisor > 0) {
		return nil, errorf("Pad: set exactly one of size %v and size_divisor %d", opt.Size, opt.SizeDivisor)
	}
	if opt.SegPadVal < 0 || opt.SegPadVal > 255 {
		return nil, errorf("Pad: seg_pad_val %d, want 0..255", opt.SegPadVal)
	}
	return &Pad{opt}, nil
}

// Apply pads s.
func (t *Pad) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	w, h := s.Size()
	pw, ph := t.opt.Size[1], t.opt.Size[0]
	if d := t.opt.SizeDivisor; d > 0 {
		pw, ph = (w+d-1)/d*d, (h+d-1)/d*d
	}
	if pw < w || ph < h {
		return errorf("Pad: record %d (%s) is %dx%d, larger than pad size %dx%d", s.Meta.Index, s.Meta.File, w, h, pw, ph)
	}
	switch {
	case s.Input != nil:
		c := s.Input.Shape()[0]
		out := tensor.New(c, ph, pw)
		if t.opt.PadVal != 0 {
			out.Fill(t.opt.PadVal)
		}
		src, dst := s.Input.Data(), out.Data()
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				copy(dst[(ch*ph+y)*pw:][:w], src[(ch*h+y)*w:][:w])
			}
		}
		s.Input = out
	case s.Image != nil:
		v := uint8(min(max(t.opt.PadVal, 0), 255))
		out := datasets.NewImage(pw, ph)
		if v != 0 {
			for i := range out.Pix {
				out.Pix[i] = v
			}
		}
		for y := 0; y < h; y++ {
			copy(out.Pix[3*y*pw:][:3*w], s.Image.Pix[3*y*w:][:3*w])
		}
		s.Image = out
	}
	if s.SegMap != nil {
		s.SegMap = padPlane(s.SegMap, pw, ph, uint8(t.opt.SegPadVal))
	}
	for i := range s.Masks {
		if m := &s.Masks[i]; m.Bitmap != nil {
			m.Bitmap = padPlane(m.Bitmap, pw, ph, 0)
		}
	}
	s.Meta.PadShape = [2]int{ph, pw}
	return nil
}

func padPlane(p *datasets.Plane, pw, ph int, v uint8) *datasets.Plane {
	out := datasets.NewPlane(pw, ph)
	if v != 0 {
		for i := range out.Pix {
			out.Pix[i] = v
		}
	}
	for y := 0; y < p.H; y++ {
		copy(out.Pix[y*pw:][:p.W], p.Pix[y*p.W:][:p.W])
	}
	return out
}

func init() {
	register("Normalize", DefaultNormalizeOptions, func(o NormalizeOptions) (datasets.Transform, error) { return NewNormalize(o) })
	register("Pad", DefaultPadOptions, func(o PadOptions) (datasets.Transform, error) { return NewPad(o) })
}
