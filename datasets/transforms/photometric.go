package transforms

import (
	"math"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// PhotoMetricDistortionOptions configure PhotoMetricDistortion (mmseg's,
// whose defaults mmdet shares).
type PhotoMetricDistortionOptions struct {
	// BrightnessDelta bounds the added brightness. Default 32.
	BrightnessDelta int `yaml:"brightness_delta"`
	// ContrastRange bounds the contrast factor. Default [0.5, 1.5].
	ContrastRange [2]float64 `yaml:"contrast_range"`
	// SaturationRange bounds the saturation factor. Default [0.5, 1.5].
	SaturationRange [2]float64 `yaml:"saturation_range"`
	// HueDelta bounds the hue shift, in OpenCV's 0..179 hue units.
	// Default 18.
	HueDelta int `yaml:"hue_delta"`
}

// DefaultPhotoMetricDistortionOptions returns mmseg's defaults.
func DefaultPhotoMetricDistortionOptions() PhotoMetricDistortionOptions {
	return PhotoMetricDistortionOptions{BrightnessDelta: 32, ContrastRange: [2]float64{0.5, 1.5},
		SaturationRange: [2]float64{0.5, 1.5}, HueDelta: 18}
}

// PhotoMetricDistortion applies, each with probability 1/2 and in mmseg's
// order: brightness, contrast (before or after the colour steps, chosen at
// random), saturation and hue. Like mmseg (and unlike mmdet, which stays in
// float), every step rounds back to 8 bits: clip to [0, 255] then truncate.
// Saturation and hue go through OpenCV's 8-bit HSV (hue 0..179).
type PhotoMetricDistortion struct{ opt PhotoMetricDistortionOptions }

// NewPhotoMetricDistortion checks the options and returns the transform.
func NewPhotoMetricDistortion(opt PhotoMetricDistortionOptions) (*PhotoMetricDistortion, error) {
	if opt.BrightnessDelta < 0 || opt.HueDelta < 0 || opt.HueDelta > 179 {
		return nil, errorf("PhotoMetricDistortion: brightness_delta %d, hue_delta %d, want >= 0 (hue at most 179)", opt.BrightnessDelta, opt.HueDelta)
	}
	for _, r := range [][2]float64{opt.ContrastRange, opt.SaturationRange} {
		if r[0] < 0 || r[0] > r[1] {
			return nil, errorf("PhotoMetricDistortion: range %v, want [lo, hi] with 0 <= lo <= hi", r)
		}
	}
	return &PhotoMetricDistortion{opt}, nil
}

// convert is mmseg's PhotoMetricDistortion.convert: clip(v·alpha + beta)
// truncated to uint8.
func convert(pix []uint8, alpha, beta float64) {
	a, b := float32(alpha), float32(beta)
	for i, v := range pix {
		f := float32(v)*a + b
		pix[i] = uint8(min(max(f, 0), 255))
	}
}

// Apply distorts the image.
func (t *PhotoMetricDistortion) Apply(s *datasets.Sample, rng *tensor.RNG) error {
	if err := needPixels(s, "PhotoMetricDistortion"); err != nil {
		return err
	}
	pix := s.Image.Pix
	o := t.opt
	if rng.Intn(2) == 1 {
		d := float64(o.BrightnessDelta)
		convert(pix, 1, rng.Uniform(-d, d))
	}
	mode := rng.Intn(2)
	contrast := func() {
		if rng.Intn(2) == 1 {
			convert(pix, rng.Uniform(o.ContrastRange[0], o.ContrastRange[1]), 0)
		}
	}
	if mode == 1 {
		contrast()
	}
	if rng.Intn(2) == 1 {
		alpha := float32(rng.Uniform(o.SaturationRange[0], o.SaturationRange[1]))
		for i := 0; i < len(pix); i += 3 {
			h, sat, v := rgbToHSV(pix[i], pix[i+1], pix[i+2])
			sat = uint8(min(max(float32(sat)*alpha, 0), 255))
			pix[i], pix[i+1], pix[i+2] = hsvToRGB(h, sat, v)
		}
	}
	if rng.Intn(2) == 1 {
		delta := randInt(rng, -o.HueDelta, o.HueDelta) // numpy randint excludes the upper bound
		for i := 0; i < len(pix); i += 3 {
			h, sat, v := rgbToHSV(pix[i], pix[i+1], pix[i+2])
			nh := (int(h) + delta) % 180
			if nh < 0 {
				nh += 180
			}
			pix[i], pix[i+1], pix[i+2] = hsvToRGB(uint8(nh), sat, v)
		}
	}
	if mode == 0 {
		contrast()
	}
	return nil
}

// OpenCV's 8-bit RGB→HSV tables (imgproc/src/color_hsv.simd.hpp,
// RGB2HSV_b): hsv_shift = 12, sdiv[v] = round(255·2^12/v),
// hdiv[d] = round(180·2^12/(6d)).
const hsvShift = 12

var sdivTable, hdivTable [256]int32

func init() {
	for i := 1; i < 256; i++ {
		sdivTable[i] = int32(math.RoundToEven(float64(255<<hsvShift) / float64(i)))
		hdivTable[i] = int32(math.RoundToEven(float64(180<<hsvShift) / (6 * float64(i))))
	}
}

// rgbToHSV converts as cv2.cvtColor(COLOR_RGB2HSV) on uint8.
func rgbToHSV(r8, g8, b8 uint8) (h, s, v uint8) {
	r, g, b := int32(r8), int32(g8), int32(b8)
	vv := max(r, g, b)
	vmin := min(r, g, b)
	diff := vv - vmin
	var vr, vg int32
	if vv == r {
		vr = -1
	}
	if vv == g {
		vg = -1
	}
	ss := (diff*sdivTable[vv] + (1 << (hsvShift - 1))) >> hsvShift
	hh := (vr & (g - b)) + (^vr & ((vg & (b - r + 2*diff)) + (^vg & (r - g + 4*diff))))
	hh = (hh*hdivTable[diff] + (1 << (hsvShift - 1))) >> hsvShift
	if hh < 0 {
		hh += 180
	}
	return uint8(hh), uint8(ss), uint8(vv)
}

// hsvSectors is OpenCV's HSV2RGB_f sector_data: which of v, p, q, t go to
// b, g, r in each 60° sector.
var hsvSectors = [6][3]int{{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}}

// hsvToRGB converts as cv2.cvtColor(COLOR_HSV2RGB) on uint8: via float,
// h·6/180, s and v /255, result ×255 rounded half to even.
func hsvToRGB(h8, s8, v8 uint8) (r, g, b uint8) {
	h := float32(h8) * (6.0 / 180)
	s := float32(s8) * (1.0 / 255)
	v := float32(v8) * (1.0 / 255)
	var fb, fg, fr float32
	if s == 0 {
		fb, fg, fr = v, v, v
	} else {
		for h >= 6 {
			h -= 6
		}
		sector := int(math.Floor(float64(h)))
		h -= float32(sector)
		if sector < 0 || sector >= 6 {
			sector, h = 0, 0
		}
		tab := [4]float32{v, v * (1 - s), v * (1 - s*h), v * (1 - s*(1-h))}
		sd := hsvSectors[sector]
		fb, fg, fr = tab[sd[0]], tab[sd[1]], tab[sd[2]]
	}
	return sat8(fr * 255), sat8(fg * 255), sat8(fb * 255)
}

func sat8(f float32) uint8 {
	return uint8(min(max(math.RoundToEven(float64(f)), 0), 255))
}

func init() {
	register("PhotoMetricDistortion", DefaultPhotoMetricDistortionOptions, func(o PhotoMetricDistortionOptions) (datasets.Transform, error) {
		return NewPhotoMetricDistortion(o)
	})
}
