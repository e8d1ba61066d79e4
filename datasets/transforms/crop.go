package transforms

import (
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// RandomCropOptions configure RandomCrop (mmdet 2.x RandomCrop with
// crop_type "absolute", mmseg RandomCrop).
type RandomCropOptions struct {
	// CropSize is (height, width); an image smaller than it is cropped to
	// its own size along that side. Required.
	CropSize [2]int `yaml:"crop_size"`
	// CatMaxRatio, below 1, redraws the crop up to 10 times until no
	// class covers this fraction of the crop's labelled pixels (mmseg).
	// Default 1 (off).
	CatMaxRatio float64 `yaml:"cat_max_ratio"`
	// IgnoreIndex is the label not counted by CatMaxRatio. Default 255.
	IgnoreIndex int `yaml:"ignore_index"`
	// AllowNegativeCrop accepts a crop that keeps no box; otherwise such a
	// sample is skipped (mmdet returns None). Default false.
	AllowNegativeCrop bool `yaml:"allow_negative_crop"`
	// ClipBoxes clips boxes to the crop. Default true.
	ClipBoxes bool `yaml:"bbox_clip_border"`
}

// DefaultRandomCropOptions returns the defaults with a 512×512 crop, the
// mmseg ADE20K setting.
func DefaultRandomCropOptions() RandomCropOptions {
	return RandomCropOptions{CropSize: [2]int{512, 512}, CatMaxRatio: 1, IgnoreIndex: 255, ClipBoxes: true}
}

// RandomCrop cuts a random window of CropSize from the sample. Boxes whose
// clipped area is empty are dropped with their labels and masks.
type RandomCrop struct{ opt RandomCropOptions }

// NewRandomCrop checks the options and returns a RandomCrop.
func NewRandomCrop(opt RandomCropOptions) (*RandomCrop, error) {
	if opt.CropSize[0] <= 0 || opt.CropSize[1] <= 0 {
		return nil, errorf("RandomCrop: crop_size %v, want positive (height, width)", opt.CropSize)
	}
	if opt.CatMaxRatio <= 0 || opt.CatMaxRatio > 1 {
		return nil, errorf("RandomCrop: cat_max_ratio %v, want a value in (0, 1]", opt.CatMaxRatio)
	}
	return &RandomCrop{opt}, nil
}

// window draws a crop (mmseg RandomCrop.crop_bbox: offsets uniform in
// [0, margin] inclusive).
func (t *RandomCrop) window(w, h int, rng *tensor.RNG) (x0, y0, cw, ch int) {
	marginH := max(h-t.opt.CropSize[0], 0)
	marginW := max(w-t.opt.CropSize[1], 0)
	y0 = randInt(rng, 0, marginH+1)
	x0 = randInt(rng, 0, marginW+1)
	return x0, y0, min(t.opt.CropSize[1], w-x0), min(t.opt.CropSize[0], h-y0)
}

// Apply crops s, or returns datasets.ErrSkipSample if no box is left and
// negative crops are not allowed.
func (t *RandomCrop) Apply(s *datasets.Sample, rng *tensor.RNG) error {
	if err := needPixels(s, "RandomCrop"); err != nil {
		return err
	}
	w, h := s.Size()
	x0, y0, cw, ch := t.window(w, h, rng)
	if t.opt.CatMaxRatio < 1 && s.SegMap != nil {
		for try := 0; try < 10; try++ {
			if t.balanced(s.SegMap, x0, y0, cw, ch) {
				break
			}
			x0, y0, cw, ch = t.window(w, h, rng)
		}
	}
	hadBoxes := len(s.Boxes) > 0
	cropSample(s, x0, y0, cw, ch, t.opt.ClipBoxes)
	if hadBoxes {
		keep := make([]bool, len(s.Boxes))
		n := 0
		for i, b := range s.Boxes {
			keep[i] = b[2] > b[0] && b[3] > b[1]
			if keep[i] {
				n++
			}
		}
		if n == 0 && !t.opt.AllowNegativeCrop {
			return datasets.ErrSkipSample
		}
		s.KeepInstances(keep)
	}
	return nil
}

// balanced reports whether the crop holds more than one class and none
// covers CatMaxRatio of the labelled pixels.
func (t *RandomCrop) balanced(p *datasets.Plane, x0, y0, cw, ch int) bool {
	var cnt [256]int
	for y := y0; y < y0+ch; y++ {
		for _, v := range p.Pix[y*p.W+x0:][:cw] {
			cnt[v]++
		}
	}
	if t.opt.IgnoreIndex >= 0 && t.opt.IgnoreIndex < 256 {
		cnt[t.opt.IgnoreIndex] = 0
	}
	classes, total, most := 0, 0, 0
	for _, c := range cnt {
		if c > 0 {
			classes++
			total += c
			most = max(most, c)
		}
	}
	return classes > 1 && float64(most)/float64(total) < t.opt.CatMaxRatio
}

func init() {
	register("RandomCrop", DefaultRandomCropOptions, func(o RandomCropOptions) (datasets.Transform, error) { return NewRandomCrop(o) })
}
