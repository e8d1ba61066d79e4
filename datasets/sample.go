package datasets

import (
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/tensor"
)

// Image is a decoded 8-bit RGB image, interleaved and row-major: the pixel at
// (x, y) is Pix[3*(y*W+x) : 3*(y*W+x)+3] as R, G, B.
type Image struct {
	W, H int
	Pix  []uint8 // len 3*W*H
}

// NewImage returns a black W×H image.
func NewImage(w, h int) *Image { return &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

// Plane is a single-channel 8-bit H×W array, row-major: a segmentation map
// (class index per pixel, 255 = ignore) or a bitmap mask (0 or 1).
type Plane struct {
	W, H int
	Pix  []uint8 // len W*H; the value at (x, y) is Pix[y*W+x]
}

// NewPlane returns a W×H plane filled with zeros.
func NewPlane(w, h int) *Plane { return &Plane{W: w, H: h, Pix: make([]uint8, w*h)} }

// Sample is one record on its way from a reader to a batch. Readers fill the
// annotations and Meta; LoadImage decodes Image; transforms change image,
// boxes, masks and segmentation map together; Normalize moves the pixels
// into Input.
//
// Boxes, Labels, Ignore and Masks are parallel: entry i of each describes
// instance i. Masks is nil when the dataset has no instance masks.
type Sample struct {
	Image *Image         // decoded pixels; nil before LoadImage and after Normalize
	Input *tensor.Tensor // C×H×W float32 model input, set by Normalize

	Boxes  [][4]float32 // (x1, y1, x2, y2), absolute pixels
	Labels []int        // contiguous class index per box, 0-based
	Ignore []bool       // crowd regions (COCO iscrowd) and VOC difficult objects: never training targets
	Masks  []Mask       // instance masks, parallel to Boxes; nil if absent

	SegMap *Plane // semantic segmentation: class per pixel, 255 = ignore
	Label  int    // image class for classification; -1 when not a classification sample

	// Encoded holds the encoded image file when the reader keeps images
	// inside a container (Parquet); LoadImage decodes it instead of
	// reading Meta.File.
	Encoded []byte

	Meta Meta
}

// Meta describes where a sample came from and what the transforms did to it,
// as mmdet's img_metas do; shapes are (height, width).
type Meta struct {
	Index   int    // index of the record in its dataset
	ImageID int64  // dataset image id (COCO id; 0 where the format has none)
	File    string // image file path (or the path stored in a Parquet row)
	SegFile string // segmentation map file path, if any

	// ReduceZeroLabel asks LoadAnnotations to map label 0 to 255 and
	// shift the others down by one (ADE20K).
	ReduceZeroLabel bool

	OriShape    [2]int     // size of the decoded image
	ImgShape    [2]int     // size after resizing and cropping
	PadShape    [2]int     // size after padding
	ScaleFactor [2]float64 // (w_scale, h_scale) from the original to ImgShape
	Flip        bool       // whether RandomFlip flipped the sample
	// FlipDirection is "horizontal", "vertical" or "diagonal" when Flip is set.
	FlipDirection string
	// PadParam is the border Letterbox added, (top, bottom, left, right).
	PadParam [4]int
}

// Mask is one instance mask in one of three forms; exactly one is set.
// Polygons and RLE are kept as read until a transform needs pixels.
type Mask struct {
	// Polygons are the parts of a COCO polygon mask, each a flat list
	// x1, y1, x2, y2, ... in pixels of the current image.
	Polygons [][]float64
	// RLE is a COCO run-length mask (crowd regions), of the current
	// image's size.
	RLE *mask.RLE
	// Bitmap is a 0/1 mask of the current image's size.
	Bitmap *Plane
}

// ToBitmap returns the mask rasterised as a w×h 0/1 plane: polygons as the
// COCO API rasterises them (eval/mask.FrPolys), RLE decoded, a bitmap as is.
// The result may share memory with m.Bitmap.
func (m Mask) ToBitmap(w, h int) *Plane {
	switch {
	case m.Bitmap != nil:
		return m.Bitmap
	case m.RLE != nil:
		return &Plane{W: m.RLE.W, H: m.RLE.H, Pix: m.RLE.Decode()}
	}
	r := mask.FrPolys(m.Polygons, h, w)
	return &Plane{W: w, H: h, Pix: r.Decode()}
}

// ToRLE returns the mask as COCO RLE of a w×h image.
func (m Mask) ToRLE(w, h int) mask.RLE {
	switch {
	case m.RLE != nil:
		return *m.RLE
	case m.Bitmap != nil:
		return mask.Encode(m.Bitmap.Pix, m.Bitmap.H, m.Bitmap.W)
	}
	return mask.FrPolys(m.Polygons, h, w)
}

// Area returns the number of mask pixels in a w×h image.
func (m Mask) Area(w, h int) int {
	if m.Bitmap != nil {
		n := 0
		for _, v := range m.Bitmap.Pix {
			if v != 0 {
				n++
			}
		}
		return n
	}
	r := m.ToRLE(w, h)
	return r.Area()
}

// Clone returns a deep copy of m.
func (m Mask) Clone() Mask {
	var c Mask
	if m.Polygons != nil {
		c.Polygons = make([][]float64, len(m.Polygons))
		for i, p := range m.Polygons {
			c.Polygons[i] = append([]float64(nil), p...)
		}
	}
	if m.RLE != nil {
		r := mask.RLE{H: m.RLE.H, W: m.RLE.W, Counts: append([]uint32(nil), m.RLE.Counts...)}
		c.RLE = &r
	}
	if m.Bitmap != nil {
		c.Bitmap = &Plane{W: m.Bitmap.W, H: m.Bitmap.H, Pix: append([]uint8(nil), m.Bitmap.Pix...)}
	}
	return c
}

// NumInstances returns the number of boxes in s.
func (s *Sample) NumInstances() int { return len(s.Boxes) }

// Size returns the current image size (width, height), from Image, Input
// or, before decoding, from Meta.ImgShape.
func (s *Sample) Size() (w, h int) {
	switch {
	case s.Image != nil:
		return s.Image.W, s.Image.H
	case s.Input != nil:
		sh := s.Input.Shape()
		return sh[2], sh[1]
	}
	return s.Meta.ImgShape[1], s.Meta.ImgShape[0]
}

// KeepInstances keeps the instances whose keep[i] is true, in order.
func (s *Sample) KeepInstances(keep []bool) {
	n := 0
	for i, k := range keep {
		if !k {
			continue
		}
		s.Boxes[n] = s.Boxes[i]
		if s.Labels != nil {
			s.Labels[n] = s.Labels[i]
		}
		if s.Ignore != nil {
			s.Ignore[n] = s.Ignore[i]
		}
		if s.Masks != nil {
			s.Masks[n] = s.Masks[i]
		}
		n++
	}
	s.Boxes = s.Boxes[:n]
	if s.Labels != nil {
		s.Labels = s.Labels[:n]
	}
	if s.Ignore != nil {
		s.Ignore = s.Ignore[:n]
	}
	if s.Masks != nil {
		s.Masks = s.Masks[:n]
	}
}

// Dataset is an indexed collection of samples. Get returns a new Sample for
// record i with its annotations and Meta filled and no pixels decoded; a bad
// record gives an error naming the file and the record, and no sample.
// Implementations are safe for concurrent Get calls.
type Dataset interface {
	Len() int
	Get(i int) (*Sample, error)
	// Classes returns the class names, indexed by label.
	Classes() []string
}

// Sizer is implemented by datasets that know each image's size without
// decoding it (from annotations), which aspect-ratio grouping needs.
type Sizer interface {
	ImageSize(i int) (w, h int)
}

// Transform changes a sample in place. rng is the sample's own generator,
// so a seeded run gives the same result whichever worker runs it.
// A transform that returns an error leaves the sample in an unspecified
// state; the caller drops it.
type Transform interface {
	Apply(s *Sample, rng *tensor.RNG) error
}

// Pipeline applies transforms in order; it is itself a Transform.
type Pipeline []Transform

// Apply runs each transform in turn and stops at the first error.
func (p Pipeline) Apply(s *Sample, rng *tensor.RNG) error {
	for _, t := range p {
		if err := t.Apply(s, rng); err != nil {
			return err
		}
	}
	return nil
}
