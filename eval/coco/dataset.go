package coco

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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
	Area         float64   // ground truth: the file's "area"; detections: see LoadResults
	IsCrowd      bool
	Score        float64
	Segmentation Segmentation
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

// flag is a JSON 0/1 or false/true field such as "iscrowd".
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "0", "false", "null", "0.0":
		*f = false
	case "1", "true", "1.0":
		*f = true
	default:
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("want 0, 1, false or true, got %s", b)
		}
		*f = v != 0
	}
	return nil
}

type jsonAnnotation struct {
	ID           int64        `json:"id"`
	ImageID      *int64       `json:"image_id"`
	CategoryID   *int64       `json:"category_id"`
	BBox         []float64    `json:"bbox"`
	Area         *float64     `json:"area"`
	IsCrowd      flag         `json:"iscrowd"`
	Score        *float64     `json:"score"`
	Segmentation Segmentation `json:"segmentation"`
}

// LoadDataset reads a COCO ground-truth file.
func LoadDataset(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	defer f.Close()
	return ReadDataset(f, path)
}

// ReadDataset reads a COCO ground-truth file from r; name is used in errors.
// Every annotation needs image_id, category_id and area; a bbox must have 4
// numbers and an uncompressed RLE's counts must sum to its height×width.
func ReadDataset(r io.Reader, name string) (*Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("coco: %s: %w", name, err)
	}
	var raw struct {
		Images      []Image          `json:"images"`
		Annotations []jsonAnnotation `json:"annotations"`
		Categories  []Category       `json:"categories"`
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, formatErr(name, "", "not a JSON object with images, annotations and categories")
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, formatErr(name, "", "%v", jsonErr(err))
	}
	d := &Dataset{Name: name, Images: raw.Images, Categories: raw.Categories}
	d.index()
	d.Annotations = make([]Annotation, len(raw.Annotations))
	for i := range raw.Annotations {
		a := &raw.Annotations[i]
		rec := fmt.Sprintf("annotations[%d] (id %d)", i, a.ID)
		if a.ImageID == nil || a.CategoryID == nil {
			return nil, formatErr(name, rec, "missing image_id or category_id")
		}
		if a.Area == nil {
			return nil, formatErr(name, rec, "missing area (COCOeval uses it for the area ranges)")
		}
		if a.BBox != nil && len(a.BBox) != 4 {
			return nil, formatErr(name, rec, "bbox has %d numbers, want [x, y, width, height]", len(a.BBox))
		}
		if a.Segmentation.Kind == SegRLE {
			if _, err := a.Segmentation.ToRLE(0, 0); err != nil {
				return nil, formatErr(name, rec, "segmentation: %v", err)
			}
		}
		d.Annotations[i] = Annotation{
			ID: a.ID, ImageID: *a.ImageID, CategoryID: *a.CategoryID, BBox: a.BBox,
			Area: *a.Area, IsCrowd: bool(a.IsCrowd), Segmentation: a.Segmentation,
		}
	}
	return d, nil
}

// jsonErr adds the byte offset to encoding/json's errors that carry one.
func jsonErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v (byte %d)", err, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s is a JSON %s, want %v (byte %d)", te.Field, te.Value, te.Type, te.Offset)
	}
	return err
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	defer f.Close()
	return d.ReadResults(f, path)
}

// ReadResults is LoadResults from r; name is used in errors.
func (d *Dataset) ReadResults(r io.Reader, name string) ([]Annotation, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nil, formatErr(name, "", "empty file, want a JSON list of detections")
		}
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			continue
		}
		br.UnreadByte()
		if c != '[' {
			return nil, formatErr(name, "", "results are not a JSON list of detections (file starts with %q)", c)
		}
		break
	}
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return nil, formatErr(name, "", "%v", jsonErr(err))
	}
	var raws []jsonAnnotation
	for dec.More() {
		var a jsonAnnotation
		if err := dec.Decode(&a); err != nil {
			return nil, formatErr(name, fmt.Sprintf("result %d", len(raws)), "%v", jsonErr(err))
		}
		raws = append(raws, a)
	}
	if _, err := dec.Token(); err != nil {
		return nil, formatErr(name, "", "%v", jsonErr(err))
	}
	recs := make([]Result, len(raws))
	for i := range raws {
		a := &raws[i]
		rec := fmt.Sprintf("result %d", i)
		if a.ImageID == nil || a.CategoryID == nil {
			return nil, formatErr(name, rec, "missing image_id or category_id")
		}
		if a.Score == nil {
			return nil, formatErr(name, rec, "missing score")
		}
		recs[i] = Result{ImageID: *a.ImageID, CategoryID: *a.CategoryID, BBox: a.BBox, Segmentation: a.Segmentation, Score: *a.Score}
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
	for i, r := range recs {
		rec := fmt.Sprintf("result %d", i)
		a := Annotation{ID: int64(i + 1), ImageID: r.ImageID, CategoryID: r.CategoryID, Score: r.Score, Segmentation: r.Segmentation}
		if boxes {
			if len(r.BBox) != 4 {
				return nil, formatErr(name, rec, "bbox has %d numbers, want [x, y, width, height] (result 0 has a bbox, so every result needs one)", len(r.BBox))
			}
			a.BBox = r.BBox
			a.Area = r.BBox[2] * r.BBox[3]
			if a.Segmentation.Kind == SegNone {
				x1, x2, y1, y2 := r.BBox[0], r.BBox[0]+r.BBox[2], r.BBox[1], r.BBox[1]+r.BBox[3]
				a.Segmentation = Segmentation{Kind: SegPolygons, Polygons: [][]float64{{x1, y1, x1, y2, x2, y2, x2, y1}}}
			}
		} else {
			if r.Segmentation.Kind == SegNone {
				return nil, formatErr(name, rec, "no segmentation (result 0 has a mask and no bbox, so every result needs a mask)")
			}
			im := d.Images[d.imageIndex[r.ImageID]]
			m, err := r.Segmentation.ToRLE(im.Height, im.Width)
			if err != nil {
				return nil, formatErr(name, rec, "segmentation: %v", err)
			}
			a.Area = float64(m.Area())
			switch len(r.BBox) {
			case 4:
				a.BBox = r.BBox
			case 0:
				bb := m.ToBBox()
				a.BBox = bb[:]
			default:
				return nil, formatErr(name, rec, "bbox has %d numbers, want [x, y, width, height]", len(r.BBox))
			}
		}
		out[i] = a
	}
	return out, nil
}
