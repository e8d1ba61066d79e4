package transforms

import (
	"math"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// RandomResizedCropOptions configure RandomResizedCrop (timm/torchvision).
type RandomResizedCropOptions struct {
	// Size is the output side (square). Default 224.
	Size int `yaml:"scale"`
	// Scale bounds the crop's area as a fraction of the image's.
	// Default [0.08, 1].
	Scale [2]float64 `yaml:"crop_ratio_range"`
	// Ratio bounds the crop's aspect ratio w/h, drawn log-uniformly.
	// Default [3/4, 4/3].
	Ratio [2]float64 `yaml:"aspect_ratio_range"`
	// Interpolation: "bicubic" (timm's default), "bilinear" or "nearest".
	Interpolation string `yaml:"interpolation"`
}

// DefaultRandomResizedCropOptions returns timm's ImageNet training defaults.
func DefaultRandomResizedCropOptions() RandomResizedCropOptions {
	return RandomResizedCropOptions{Size: 224, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}, Interpolation: interpBicubic}
}

// RandomResizedCrop crops a random area and aspect ratio and resizes it to
// Size×Size (torchvision RandomResizedCrop.get_params: ten tries, then a
// central crop clamped to the ratio bounds).
type RandomResizedCrop struct{ opt RandomResizedCropOptions }

// NewRandomResizedCrop checks the options and returns the transform.
func NewRandomResizedCrop(opt RandomResizedCropOptions) (*RandomResizedCrop, error) {
	if opt.Size <= 0 || opt.Scale[0] <= 0 || opt.Scale[0] > opt.Scale[1] || opt.Ratio[0] <= 0 || opt.Ratio[0] > opt.Ratio[1] {
		return nil, errorf("RandomResizedCrop: scale %d, crop_ratio_range %v, aspect_ratio_range %v, want positive increasing ranges", opt.Size, opt.Scale, opt.Ratio)
	}
	if err := checkInterp(opt.Interpolation, "RandomResizedCrop"); err != nil {
		return nil, err
	}
	return &RandomResizedCrop{opt}, nil
}

// Params draws the crop (x, y, w, h) for a w×h image.
func (t *RandomResizedCrop) Params(w, h int, rng *tensor.RNG) (x0, y0, cw, ch int) {
	area := float64(w * h)
	lr0, lr1 := math.Log(t.opt.Ratio[0]), math.Log(t.opt.Ratio[1])
	for try := 0; try < 10; try++ {
		target := area * rng.Uniform(t.opt.Scale[0], t.opt.Scale[1])
		ar := math.Exp(rng.Uniform(lr0, lr1))
		cw = int(math.RoundToEven(math.Sqrt(target * ar)))
		ch = int(math.RoundToEven(math.Sqrt(target / ar)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			y0 = randInt(rng, 0, h-ch+1)
			x0 = randInt(rng, 0, w-cw+1)
			return x0, y0, cw, ch
		}
	}
	in := float64(w) / float64(h)
	switch {
	case in < t.opt.Ratio[0]:
		cw = w
		ch = int(math.RoundToEven(float64(cw) / t.opt.Ratio[0]))
	case in > t.opt.Ratio[1]:
		ch = h
		cw = int(math.RoundToEven(float64(ch) * t.opt.Ratio[1]))
	default:
		cw, ch = w, h
	}
	return (w - cw) / 2, (h - ch) / 2, cw, ch
}

// Apply crops and resizes s.
func (t *RandomResizedCrop) Apply(s *datasets.Sample, rng *tensor.RNG) error {
	if err := needPixels(s, "RandomResizedCrop"); err != nil {
		return err
	}
	w, h := s.Size()
	x0, y0, cw, ch := t.Params(w, h, rng)
	cropSample(s, x0, y0, cw, ch, true)
	resizeSample(s, t.opt.Size, t.opt.Size, t.opt.Interpolation, true)
	return nil
}

// CenterCropOptions configure CenterCrop (timm's evaluation transform:
// resize the short side, then crop the centre).
type CenterCropOptions struct {
	// Size is the output side (square). Default 224.
	Size int `yaml:"crop_size"`
	// CropPct sets the short side before cropping to
	// floor(Size / CropPct); 0 or 1 crops without resizing. Default 0.875
	// (224 → 256).
	CropPct float64 `yaml:"crop_pct"`
	// Interpolation: "bicubic" (timm's default), "bilinear" or "nearest".
	Interpolation string `yaml:"interpolation"`
}

// DefaultCenterCropOptions returns timm's ImageNet evaluation defaults.
func DefaultCenterCropOptions() CenterCropOptions {
	return CenterCropOptions{Size: 224, CropPct: 0.875, Interpolation: interpBicubic}
}

// CenterCrop resizes the short side as torchvision's Resize(int) (the long
// side truncates: int(size·long/short)) and crops Size×Size from the centre
// (torchvision center_crop: offsets round((d − size)/2) half to even).
type CenterCrop struct{ opt CenterCropOptions }

// NewCenterCrop checks the options and returns a CenterCrop.
func NewCenterCrop(opt CenterCropOptions) (*CenterCrop, error) {
	if opt.Size <= 0 || opt.CropPct < 0 || opt.CropPct > 1 {
		return nil, errorf("CenterCrop: crop_size %d, crop_pct %v, want a positive size and crop_pct in [0, 1]", opt.Size, opt.CropPct)
	}
	if err := checkInterp(opt.Interpolation, "CenterCrop"); err != nil {
		return nil, err
	}
	return &CenterCrop{opt}, nil
}

// Apply resizes and crops s.
func (t *CenterCrop) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	if err := needPixels(s, "CenterCrop"); err != nil {
		return err
	}
	w, h := s.Size()
	if t.opt.CropPct > 0 && t.opt.CropPct < 1 {
		short := int(math.Floor(float64(t.opt.Size) / t.opt.CropPct))
		nw, nh := short, short
		if w < h {
			nh = int(float64(short) * float64(h) / float64(w))
		} else {
			nw = int(float64(short) * float64(w) / float64(h))
		}
		if nw != w || nh != h {
			resizeSample(s, nw, nh, t.opt.Interpolation, true)
		}
		w, h = nw, nh
	}
	cw, ch := min(t.opt.Size, w), min(t.opt.Size, h)
	x0 := int(math.RoundToEven(float64(w-cw) / 2))
	y0 := int(math.RoundToEven(float64(h-ch) / 2))
	cropSample(s, x0, y0, cw, ch, true)
	return nil
}

func init() {
	register("RandomResizedCrop", DefaultRandomResizedCropOptions, func(o RandomResizedCropOptions) (datasets.Transform, error) {
		return NewRandomResizedCrop(o)
	})
	register("CenterCrop", DefaultCenterCropOptions, func(o CenterCropOptions) (datasets.Transform, error) { return NewCenterCrop(o) })
}
