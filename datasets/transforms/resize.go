package transforms

import (
	"math"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// ResizeOptions configure Resize (mmdet 2.x Resize, mmseg RandomResize).
type ResizeOptions struct {
	// Scale lists target scales as (width, height). With KeepRatio each
	// is a (long edge, short edge) bound: (1333, 800) fits the image in
	// 1333×800 either way round. Default [(1333, 800)].
	Scale [][2]int `yaml:"img_scale"`
	// MultiscaleMode picks among several scales: "value" draws one of
	// them, "range" (with exactly two) draws the long and short edges
	// uniformly between them. Default "range".
	MultiscaleMode string `yaml:"multiscale_mode"`
	// RatioRange, with a single scale, multiplies it by a ratio drawn
	// uniformly from [lo, hi) (mmseg's ratio_range=(0.5, 2.0)). Default
	// none.
	RatioRange []float64 `yaml:"ratio_range"`
	// KeepRatio scales width and height by the same factor, the largest
	// that fits the scale (mmcv.imrescale). Default true.
	KeepRatio bool `yaml:"keep_ratio"`
	// Interpolation for the image: "bilinear", "nearest" or "bicubic".
	// Label maps and bitmap masks always use nearest. Default "bilinear".
	Interpolation string `yaml:"interpolation"`
	// ClipBoxes clips boxes to the resized image (bbox_clip_border).
	// Default true.
	ClipBoxes bool `yaml:"bbox_clip_border"`
}

// DefaultResizeOptions returns mmdet's COCO defaults: (1333, 800), keep
// ratio, bilinear, clip.
func DefaultResizeOptions() ResizeOptions {
	return ResizeOptions{Scale: [][2]int{{1333, 800}}, MultiscaleMode: "range", KeepRatio: true,
		Interpolation: interpBilinear, ClipBoxes: true}
}

// Resize resizes the image, boxes, masks and segmentation map to a target
// scale drawn as the options say, and records the scale factor.
type Resize struct{ opt ResizeOptions }

// NewResize checks the options and returns a Resize.
func NewResize(opt ResizeOptions) (*Resize, error) {
	if len(opt.Scale) == 0 {
		return nil, errorf("Resize: img_scale is empty, want at least one (width, height)")
	}
	for _, s := range opt.Scale {
		if s[0] <= 0 || s[1] <= 0 {
			return nil, errorf("Resize: img_scale %v, want positive sizes", s)
		}
	}
	if opt.RatioRange != nil {
		if len(opt.RatioRange) != 2 || opt.RatioRange[0] <= 0 || opt.RatioRange[0] > opt.RatioRange[1] {
			return nil, errorf("Resize: ratio_range %v, want [lo, hi] with 0 < lo <= hi", opt.RatioRange)
		}
		if len(opt.Scale) != 1 {
			return nil, errorf("Resize: ratio_range needs exactly one img_scale, got %d", len(opt.Scale))
		}
	}
	switch opt.MultiscaleMode {
	case "value":
	case "range":
		if len(opt.Scale) > 2 || (len(opt.Scale) == 2 && opt.RatioRange != nil) {
			return nil, errorf("Resize: multiscale_mode range needs one or two img_scale, got %d", len(opt.Scale))
		}
	default:
		return nil, errorf("Resize: multiscale_mode %q, want value or range", opt.MultiscaleMode)
	}
	if err := checkInterp(opt.Interpolation, "Resize"); err != nil {
		return nil, err
	}
	return &Resize{opt}, nil
}

// chooseScale draws the target scale (mmdet Resize._random_scale).
func (t *Resize) chooseScale(rng *tensor.RNG) [2]int {
	sc := t.opt.Scale
	switch {
	case t.opt.RatioRange != nil:
		r := rng.Uniform(t.opt.RatioRange[0], t.opt.RatioRange[1])
		return [2]int{int(float64(sc[0][0]) * r), int(float64(sc[0][1]) * r)}
	case len(sc) == 1:
		return sc[0]
	case t.opt.MultiscaleMode == "value":
		return sc[rng.Intn(len(sc))]
	}
	// "range": long and short edges drawn independently, both ends
	// included (np.random.randint(lo, hi + 1)).
	l0, l1 := max(sc[0][0], sc[0][1]), max(sc[1][0], sc[1][1])
	s0, s1 := min(sc[0][0], sc[0][1]), min(sc[1][0], sc[1][1])
	long := randInt(rng, min(l0, l1), max(l0, l1)+1)
	short := randInt(rng, min(s0, s1), max(s0, s1)+1)
	return [2]int{long, short}
}

// RescaleSize returns the size (w, h) mmcv.rescale_size gives an image of
// w×h fitted into scale (long edge, short edge) keeping its aspect ratio:
// factor = min(long/max(w, h), short/min(w, h)), sizes int(v·factor + 0.5).
func RescaleSize(w, h int, scale [2]int) (int, int) {
	long, short := float64(max(scale[0], scale[1])), float64(min(scale[0], scale[1]))
	f := math.Min(long/float64(max(w, h)), short/float64(min(w, h)))
	return int(float64(w)*f + 0.5), int(float64(h)*f + 0.5)
}

// Apply resizes s.
func (t *Resize) Apply(s *datasets.Sample, rng *tensor.RNG) error {
	if err := needPixels(s, "Resize"); err != nil {
		return err
	}
	scale := t.chooseScale(rng)
	w, h := s.Size()
	if w == 0 || h == 0 {
		return errorf("Resize: record %d (%s) has an empty image", s.Meta.Index, s.Meta.File)
	}
	dw, dh := scale[0], scale[1]
	if t.opt.KeepRatio {
		dw, dh = RescaleSize(w, h, scale)
	}
	resizeSample(s, max(dw, 1), max(dh, 1), t.opt.Interpolation, t.opt.ClipBoxes)
	return nil
}

// RandomFlipOptions configure RandomFlip (mmdet RandomFlip).
type RandomFlipOptions struct {
	// Prob is the probability of flipping (flip_ratio). Default 0.5.
	Prob float64 `yaml:"prob"`
	// Direction is "horizontal", "vertical" or "diagonal" (both).
	// Default "horizontal".
	Direction string `yaml:"direction"`
}

// DefaultRandomFlipOptions returns mmdet's defaults.
func DefaultRandomFlipOptions() RandomFlipOptions {
	return RandomFlipOptions{Prob: 0.5, Direction: "horizontal"}
}

// RandomFlip mirrors the sample with probability Prob.
type RandomFlip struct{ opt RandomFlipOptions }

// NewRandomFlip checks the options and returns a RandomFlip.
func NewRandomFlip(opt RandomFlipOptions) (*RandomFlip, error) {
	if opt.Prob < 0 || opt.Prob > 1 {
		return nil, errorf("RandomFlip: prob %v, want a value in [0, 1]", opt.Prob)
	}
	switch opt.Direction {
	case "horizontal", "vertical", "diagonal":
	default:
		return nil, errorf("RandomFlip: direction %q, want horizontal, vertical or diagonal", opt.Direction)
	}
	return &RandomFlip{opt}, nil
}

// Apply draws whether to flip and flips.
func (t *RandomFlip) Apply(s *datasets.Sample, rng *tensor.RNG) error {
	if err := needPixels(s, "RandomFlip"); err != nil {
		return err
	}
	flip := rng.Float64() < t.opt.Prob
	s.Meta.Flip = flip
	s.Meta.FlipDirection = ""
	if flip {
		Flip(s, t.opt.Direction)
		s.Meta.FlipDirection = t.opt.Direction
	}
	return nil
}

// Flip mirrors everything in s: "horizontal" maps x to w−x (boxes
// (x1, x2) → (w−x2, w−x1), as mmdet's bbox_flip), "vertical" does the same
// for y, "diagonal" both.
func Flip(s *datasets.Sample, direction string) {
	w, h := s.Size()
	hor := direction == "horizontal" || direction == "diagonal"
	ver := direction == "vertical" || direction == "diagonal"
	if s.Image != nil {
		flipPix(s.Image.Pix, s.Image.W, s.Image.H, 3, hor, ver)
	}
	if s.SegMap != nil {
		flipPix(s.SegMap.Pix, s.SegMap.W, s.SegMap.H, 1, hor, ver)
	}
	fw, fh := float32(w), float32(h)
	for i := range s.Boxes {
		b := &s.Boxes[i]
		if hor {
			b[0], b[2] = fw-b[2], fw-b[0]
		}
		if ver {
			b[1], b[3] = fh-b[3], fh-b[1]
		}
	}
	for i := range s.Masks {
		m := &s.Masks[i]
		if m.Polygons == nil {
			bm := m.ToBitmap(w, h)
			if bm == m.Bitmap {
				bm = &datasets.Plane{W: bm.W, H: bm.H, Pix: append([]uint8(nil), bm.Pix...)}
			}
			flipPix(bm.Pix, bm.W, bm.H, 1, hor, ver)
			*m = datasets.Mask{Bitmap: bm}
			continue
		}
		for _, p := range m.Polygons {
			for k := 0; k+1 < len(p); k += 2 {
				if hor {
					p[k] = float64(w) - p[k]
				}
				if ver {
					p[k+1] = float64(h) - p[k+1]
				}
			}
		}
	}
}

// flipPix mirrors a c-channel interleaved array in place.
func flipPix(pix []uint8, w, h, c int, hor, ver bool) {
	if hor && c == 3 {
		for y := 0; y < h; y++ {
			row := pix[y*w*3:][:w*3]
			for l, r := 0, 3*(w-1); l < r; l, r = l+3, r-3 {
				a, b := row[l:l+3:l+3], row[r:r+3:r+3]
				a[0], a[1], a[2], b[0], b[1], b[2] = b[0], b[1], b[2], a[0], a[1], a[2]
			}
		}
		hor = false
	}
	if hor {
		for y := 0; y < h; y++ {
			row := pix[y*w*c:][:w*c]
			for l, r := 0, w-1; l < r; l, r = l+1, r-1 {
				for k := 0; k < c; k++ {
					row[l*c+k], row[r*c+k] = row[r*c+k], row[l*c+k]
				}
			}
		}
	}
	if ver {
		tmp := make([]uint8, w*c)
		for t, b := 0, h-1; t < b; t, b = t+1, b-1 {
			top, bot := pix[t*w*c:][:w*c], pix[b*w*c:][:w*c]
			copy(tmp, top)
			copy(top, bot)
			copy(bot, tmp)
		}
	}
}

func init() {
	register("Resize", DefaultResizeOptions, func(o ResizeOptions) (datasets.Transform, error) { return NewResize(o) })
	register("RandomFlip", DefaultRandomFlipOptions, func(o RandomFlipOptions) (datasets.Transform, error) { return NewRandomFlip(o) })
}
