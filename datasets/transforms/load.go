package transforms

import (
	"fmt"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

// LoadImageOptions configure LoadImage (mmcv LoadImageFromFile).
type LoadImageOptions struct {
	// IgnoreOrientation uses JPEG pixels as stored, ignoring the EXIF
	// orientation tag (mmcv's color_type "color_ignore_orientation").
	// Default false: the image is turned upright, as cv2.IMREAD_COLOR does.
	IgnoreOrientation bool `yaml:"ignore_orientation"`
}

// DefaultLoadImageOptions returns mmcv's defaults.
func DefaultLoadImageOptions() LoadImageOptions { return LoadImageOptions{} }

// LoadImage decodes the sample's image from Sample.Encoded or, when that is
// empty, from the file Meta.File, and records its shape in Meta.
type LoadImage struct{ opt LoadImageOptions }

// NewLoadImage returns a LoadImage.
func NewLoadImage(opt LoadImageOptions) (*LoadImage, error) { return &LoadImage{opt}, nil }

// Apply decodes the image; errors name the file.
func (t *LoadImage) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	var img *datasets.Image
	var err error
	if s.Encoded != nil {
		img, err = datasets.DecodeImage(s.Encoded, s.Meta.File, !t.opt.IgnoreOrientation)
		s.Encoded = nil
	} else if t.opt.IgnoreOrientation {
		var data []byte
		data, err = readFile(s.Meta.File)
		if err == nil {
			img, err = datasets.DecodeImage(data, s.Meta.File, false)
		}
	} else {
		img, err = datasets.ReadImage(s.Meta.File)
	}
	if err != nil {
		return err
	}
	// Readers that know the size from annotations (COCO, VOC) set
	// OriShape; a mismatch means boxes would not fit the pixels, as when
	// EXIF orientation turned a photo its annotations were drawn on
	// unturned.
	if want := s.Meta.OriShape; want != [2]int{} && want != [2]int{img.H, img.W} {
		hint := ""
		if want == [2]int{img.W, img.H} && !t.opt.IgnoreOrientation {
			hint = " (rotated by its EXIF orientation? set ignore_orientation)"
		}
		return &datasets.FormatError{Pkg: "transforms", File: s.Meta.File,
			Msg: fmt.Sprintf("image is %dx%d but its annotation says %dx%d%s", img.W, img.H, want[1], want[0], hint)}
	}
	s.Image = img
	shape := [2]int{img.H, img.W}
	s.Meta.OriShape, s.Meta.ImgShape, s.Meta.PadShape = shape, shape, shape
	s.Meta.ScaleFactor = [2]float64{1, 1}
	return nil
}

// LoadAnnotationsOptions configure LoadAnnotations (mmdet/mmseg
// LoadAnnotations); each With... keeps or drops that annotation.
type LoadAnnotationsOptions struct {
	// WithBox keeps boxes and their labels and ignore flags. Default true.
	WithBox bool `yaml:"with_bbox"`
	// WithMask keeps instance masks. Default false, as mmdet.
	WithMask bool `yaml:"with_mask"`
	// Poly2Mask rasterises polygon masks to bitmaps at load time
	// (mmdet's poly2mask). Default false: polygons stay polygons until a
	// transform or the model needs pixels, which is cheaper.
	Poly2Mask bool `yaml:"poly2mask"`
	// WithSeg reads the segmentation map from Meta.SegFile. Default false.
	WithSeg bool `yaml:"with_seg"`
}

// DefaultLoadAnnotationsOptions returns mmdet's defaults.
func DefaultLoadAnnotationsOptions() LoadAnnotationsOptions {
	return LoadAnnotationsOptions{WithBox: true}
}

// LoadAnnotations keeps the annotations a pipeline asks for and reads the
// segmentation map. With Meta.ReduceZeroLabel (ADE20K) it maps label 0 to
// 255 and shifts the others down by one, as mmseg's reduce_zero_label.
type LoadAnnotations struct{ opt LoadAnnotationsOptions }

// NewLoadAnnotations returns a LoadAnnotations.
func NewLoadAnnotations(opt LoadAnnotationsOptions) (*LoadAnnotations, error) {
	return &LoadAnnotations{opt}, nil
}

// Apply loads the segmentation map and drops unwanted annotations.
func (t *LoadAnnotations) Apply(s *datasets.Sample, _ *tensor.RNG) error {
	if !t.opt.WithBox {
		s.Boxes, s.Labels, s.Ignore = nil, nil, nil
	}
	if !t.opt.WithMask {
		s.Masks = nil
	} else if t.opt.Poly2Mask {
		w, h := s.Size()
		for i, m := range s.Masks {
			if m.Bitmap == nil {
				s.Masks[i] = datasets.Mask{Bitmap: m.ToBitmap(w, h)}
			}
		}
	}
	if !t.opt.WithSeg {
		return nil
	}
	if s.Meta.SegFile == "" {
		return errorf("LoadAnnotations: with_seg set but record %d (%s) has no segmentation file", s.Meta.Index, s.Meta.File)
	}
	p, err := datasets.ReadPlane(s.Meta.SegFile)
	if err != nil {
		return err
	}
	if s.Image != nil && (p.W != s.Image.W || p.H != s.Image.H) {
		return &datasets.FormatError{Pkg: "transforms", File: s.Meta.SegFile,
			Msg: fmt.Sprintf("segmentation map is %dx%d, but image %s is %dx%d", p.W, p.H, s.Meta.File, s.Image.W, s.Image.H)}
	}
	if s.Meta.ReduceZeroLabel {
		// mmseg: gt[gt == 0] = 255; gt = gt - 1; gt[gt == 254] = 255.
		for i, v := range p.Pix {
			switch v {
			case 0, 255:
				p.Pix[i] = 255
			default:
				p.Pix[i] = v - 1
			}
		}
	}
	s.SegMap = p
	return nil
}

func init() {
	register("LoadImage", DefaultLoadImageOptions, func(o LoadImageOptions) (datasets.Transform, error) { return NewLoadImage(o) })
	register("LoadAnnotations", DefaultLoadAnnotationsOptions, func(o LoadAnnotationsOptions) (datasets.Transform, error) { return NewLoadAnnotations(o) })
}
