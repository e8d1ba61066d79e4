package coco

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/densepred/dp/eval/mask"
)

// Image is one entry of a COCO file's "images".
type Image struct {
	ID       int64  `json:"id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileName string `json:"file_name,omitempty"`
}

// Category is one entry of a COCO file's "categories".
type Category struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory,omitempty"`
}

// Annotation is a ground-truth object or a detection. For detections Score
// is set, IsCrowd is false and ID is the 1-based position in the results
// (COCO.loadRes).
type Annotation struct {
	ID           int64
	ImageID      int64
	CategoryID   int64
	BBox         []float64 // [x, y, width, height]; nil if the record has none
	Area         float64   // ground truth: the file's "area"; detections: see Results
	IsCrowd      bool
	Score        float64
	Segmentation Segmentation

	rle *mask.RLE // the decoded Segmentation, when loading needed it
}

// Dataset is a COCO-format ground-truth file: images, annotations and
// categories.
type Dataset struct {
	Name        string // file name, used in error messages
	Images      []Image
	Annotations []Annotation
	Categories  []Category

	imageIndex map[int64]int // image id -> index in Images; the last entry wins, as in COCO.createIndex
}

// rawAnnotation is an annotation or result record as read, with the
// presence of each field.
type rawAnnotation struct {
	id                  int64
	imageID, categoryID int64
	hasImage, hasCat    bool
	bbox                []float64 // nil if absent or null
	area                float64
	hasArea             bool
	isCrowd             bool
	score               float64
	hasScore            bool
	seg                 Segmentation
}

// annotation reads one annotation or result object.
func (s *scanner) annotation(a *rawAnnotation) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			a.id, err = s.int()
		case "image_id":
			a.imageID, err = s.int()
			a.hasImage = true
		case "category_id":
			a.categoryID, err = s.int()
			a.hasCat = true
		case "bbox":
			if !s.null() {
				a.bbox, err = s.floats(make([]float64, 0, 4))
			}
		case "area":
			a.area, err = s.float()
			a.hasArea = true
		case "iscrowd":
			a.isCrowd, err = s.flag()
		case "score":
			a.score, err = s.float()
			a.hasScore = true
		case "segmentation":
			a.seg, err = s.segmentation()
		default:
			return s.skip()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
}

// LoadDataset reads a COCO ground-truth file; see ReadDataset for the checks.
func LoadDataset(path string) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	return parseDataset(data, path)
}

// ReadDataset reads a COCO ground-truth file from r; name is used in errors.
// Every annotation needs image_id, category_id and area; a bbox must have 4
// numbers and an uncompressed RLE's counts must sum to its height×width.
func ReadDataset(r io.Reader, name string) (*Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("coco: %s: %w", name, err)
	}
	return parseDataset(data, name)
}

func parseDataset(data []byte, name string) (*Dataset, error) {
	d := &Dataset{Name: name}
	sc := &scanner{data: data, lazyPolygons: true}
	if sc.peek() != '{' {
		return nil, formatErr(name, "", "not a JSON object with images, annotations and categories")
	}
	var raw rawAnnotation
	err := sc.object(func(key []byte) error {
		switch string(key) {
		case "images":
			return sc.array(func(i int) error {
				var im Image
				err := sc.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "id":
						im.ID, err = sc.int()
					case "width":
						var v int64
						v, err = sc.int()
						im.Width = int(v)
					case "height":
						var v int64
						v, err = sc.int()
						im.Height = int(v)
					case "file_name":
						im.FileName, err = sc.str()
					default:
						return sc.skip()
					}
					if err != nil {
						return fmt.Errorf("%s: %w", key, err)
					}
					return nil
				})
				if err != nil {
					return &FormatError{File: name, Record: fmt.Sprintf("images[%d]", i), Msg: err.Error()}
				}
				d.Images = append(d.Images, im)
				return nil
			})
		case "categories":
			return sc.array(func(i int) error {
				var c Category
				err := sc.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "id":
						c.ID, err = sc.int()
					case "name":
						c.Name, err = sc.str()
					case "supercategory":
						c.Supercategory, err = sc.str()
					default:
						return sc.skip()
					}
					if err != nil {
						return fmt.Errorf("%s: %w", key, err)
					}
					return nil
				})
				if err != nil {
					return &FormatError{File: name, Record: fmt.Sprintf("categories[%d]", i), Msg: err.Error()}
				}
				d.Categories = append(d.Categories, c)
				return nil
			})
		case "annotations":
			return sc.array(func(i int) error {
				raw = rawAnnotation{}
				if err := sc.annotation(&raw); err != nil {
					return &FormatError{File: name, Record: fmt.Sprintf("annotations[%d]", i), Msg: err.Error()}
				}
				a, err := raw.groundTruth()
				if err != nil {
					return &FormatError{File: name, Record: fmt.Sprintf("annotations[%d] (id %d)", i, raw.id), Msg: err.Error()}
				}
				d.Annotations = append(d.Annotations, a)
				return nil
			})
		}
		return sc.skip()
	})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, formatErr(name, "", "%v", err)
	}
	d.index()
	return d, nil
}

// groundTruth checks a ground-truth record: every annotation needs
// image_id, category_id and area; a bbox must have 4 numbers and an
// uncompressed RLE's counts must sum to its height×width.
func (a *rawAnnotation) groundTruth() (Annotation, error) {
	if !a.hasImage || !a.hasCat {
		return Annotation{}, errors.New("missing image_id or category_id")
	}
	if !a.hasArea {
		return Annotation{}, errors.New("missing area (COCOeval uses it for the area ranges)")
	}
	if a.bbox != nil && len(a.bbox) != 4 {
		return Annotation{}, fmt.Errorf("bbox has %d numbers, want [x, y, width, height]", len(a.bbox))
	}
	if a.seg.Kind == SegRLE {
		if _, err := a.seg.ToRLE(0, 0); err != nil {
			return Annotation{}, fmt.Errorf("segmentation: %v", err)
		}
	}
	return Annotation{
		ID: a.id, ImageID: a.imageID, CategoryID: a.categoryID, BBox: a.bbox,
		Area: a.area, IsCrowd: a.isCrowd, Segmentation: a.seg,
	}, nil
}

func (d *Dataset) index() {
	d.imageIndex = make(map[int64]int, len(d.Images))
	for i, im := range d.Images {
		d.imageIndex[im.ID] = i
	}
}

// Image returns the image with the given id.
func (d *Dataset) Image(id int64) (Image, bool) {
	if d.imageIndex == nil {
		d.index()
	}
	i, ok := d.imageIndex[id]
	if !ok {
		return Image{}, false
	}
	return d.Images[i], true
}

// ImageIDs returns the ids of the images, sorted and without repeats.
func (d *Dataset) ImageIDs() []int64 {
	ids := make([]int64, len(d.Images))
	for i, im := range d.Images {
		ids[i] = im.ID
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// CategoryIDs returns the ids of the categories, sorted and without repeats.
func (d *Dataset) CategoryIDs() []int64 {
	ids := make([]int64, len(d.Categories))
	for i, c := range d.Categories {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Result is one detection of a results file: {"image_id", "category_id",
// "bbox" and/or "segmentation", "score"}.
type Result struct {
	ImageID      int64        `json:"image_id"`
	CategoryID   int64        `json:"category_id"`
	BBox         []float64    `json:"bbox,omitempty"`
	Segmentation Segmentation `json:"segmentation"`
	Score        float64      `json:"score"`
}

// LoadResults reads a COCO results file (a JSON list of detections) for the
// images of d. See Results for the checks and the derived fields.
func (d *Dataset) LoadResults(path string) ([]Annotation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	return d.parseResults(data, path)
}

// ReadResults is LoadResults from r; name is used in errors.
func (d *Dataset) ReadResults(r io.Reader, name string) ([]Annotation, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("coco: %s: %w", name, err)
	}
	return d.parseResults(data, name)
}

func (d *Dataset) parseResults(data []byte, name string) ([]Annotation, error) {
	sc := &scanner{data: data, lazyPolygons: true}
	if c := sc.peek(); c != '[' {
		return nil, formatErr(name, "", "results are not a JSON list of detections (the file starts with %s)", sc.describe())
	}
	var recs []Result
	var raw rawAnnotation
	err := sc.array(func(i int) error {
		raw = rawAnnotation{}
		rec := func() string { return fmt.Sprintf("result %d", i) }
		if err := sc.annotation(&raw); err != nil {
			return &FormatError{File: name, Record: rec(), Msg: err.Error()}
		}
		if !raw.hasImage || !raw.hasCat {
			return formatErr(name, rec(), "missing image_id or category_id")
		}
		if !raw.hasScore {
			return formatErr(name, rec(), "missing score")
		}
		recs = append(recs, Result{ImageID: raw.imageID, CategoryID: raw.categoryID, BBox: raw.bbox, Segmentation: raw.seg, Score: raw.score})
		return nil
	})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, formatErr(name, "", "%v", err)
	}
	return d.results(recs, name)
}

// Results turns detections into annotations as COCO.loadRes does. Every
// image id must be one of d's images. The first record decides the kind: if
// it has a non-empty bbox, every record needs a 4-number bbox and gets
// area = width×height (and, without a mask, the box as its polygon);
// otherwise every record needs a mask and gets its area from the mask and,
// without a bbox, the mask's bounding box. Ids are 1, 2, ... in order and
// no detection is a crowd.
func (d *Dataset) Results(recs []Result) ([]Annotation, error) {
	return d.results(recs, "")
}

func (d *Dataset) results(recs []Result, name string) ([]Annotation, error) {
	if d.imageIndex == nil {
		d.index()
	}
	var unknown []int64
	seen := map[int64]bool{}
	for _, r := range recs {
		if _, ok := d.imageIndex[r.ImageID]; !ok && !seen[r.ImageID] {
			seen[r.ImageID] = true
			unknown = append(unknown, r.ImageID)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		more := ""
		if len(unknown) > 10 {
			more = fmt.Sprintf(" and %d more", len(unknown)-10)
			unknown = unknown[:10]
		}
		return nil, formatErr(name, "", "results for image ids %v%s, which are not in the ground truth %s", unknown, more, d.Name)
	}
	out := make([]Annotation, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	boxes := len(recs[0].BBox) > 0 // COCO.loadRes: 'bbox' in anns[0] and anns[0]['bbox'] != []
	if !boxes && recs[0].Segmentation.Kind == SegNone {
		return nil, UnsupportedError(fmt.Sprintf("%s: result 0 has neither bbox nor segmentation (keypoint and caption results are not evaluated)", name))
	}
	// Records are independent; masks are decoded in parallel, in chunks
	// so that the first error (by record) is the one reported.
	const chunk = 256
	errs := make([]error, (len(recs)+chunk-1)/chunk)
	parallelFor(len(errs), func(_ *worker, c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(recs)); i++ {
			if err := d.result(&out[i], &recs[i], i, boxes, name); err != nil {
				errs[c] = err
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// result fills a with record i of a results file, as COCO.loadRes does for
// its kind (boxes: the first record has a bbox).
func (d *Dataset) result(a *Annotation, r *Result, i int, boxes bool, name string) error {
	rec := func() string { return fmt.Sprintf("result %d", i) }
	*a = Annotation{ID: int64(i + 1), ImageID: r.ImageID, CategoryID: r.CategoryID, Score: r.Score, Segmentation: r.Segmentation}
	if boxes {
		if len(r.BBox) != 4 {
			return formatErr(name, rec(), "bbox has %d numbers, want [x, y, width, height] (result 0 has a bbox, so every result needs one)", len(r.BBox))
		}
		a.BBox = r.BBox
		a.Area = r.BBox[2] * r.BBox[3]
		if a.Segmentation.Kind == SegNone {
			x1, x2, y1, y2 := r.BBox[0], r.BBox[0]+r.BBox[2], r.BBox[1], r.BBox[1]+r.BBox[3]
			a.Segmentation = Segmentation{Kind: SegPolygons, Polygons: [][]float64{{x1, y1, x1, y2, x2, y2, x2, y1}}}
		}
		return nil
	}
	if r.Segmentation.Kind == SegNone {
		return formatErr(name, rec(), "no segmentation (result 0 has a mask and no bbox, so every result needs a mask)")
	}
	im := d.Images[d.imageIndex[r.ImageID]]
	m, err := r.Segmentation.ToRLE(im.Height, im.Width)
	if err != nil {
		return formatErr(name, rec(), "segmentation: %v", err)
	}
	a.Area = float64(m.Area())
	a.rle = &m
	switch len(r.BBox) {
	case 4:
		a.BBox = r.BBox
	case 0:
		bb := m.ToBBox()
		a.BBox = bb[:]
	default:
		return formatErr(name, rec(), "bbox has %d numbers, want [x, y, width, height]", len(r.BBox))
	}
	return nil
}
