package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/mask"
)

// Options configure a COCO dataset; the keys are mmdet's.
type Options struct {
	// AnnFile is the instances JSON file. Required.
	AnnFile string `yaml:"ann_file"`
	// ImgDir is prepended to each image's file_name (mmdet's
	// data_prefix.img). Default "": file names are used as they are.
	ImgDir string `yaml:"img_dir"`
	// Classes selects categories by name; labels follow the order of the
	// categories list. Default: every category.
	Classes []string `yaml:"classes"`
	// FilterEmptyGT drops images without any annotation of a selected
	// category (mmdet filter_cfg.filter_empty_gt). Default false, so
	// evaluation sees every image; training configs set it.
	FilterEmptyGT bool `yaml:"filter_empty_gt"`
	// MinSize drops images whose shorter side is smaller (mmdet
	// filter_cfg.min_size). Default 0.
	MinSize int `yaml:"min_size"`
	// TestMode disables filtering, as mmdet's test_mode does. Default false.
	TestMode bool `yaml:"test_mode"`
	// Logf receives the counts of dropped annotations. Default log.Printf.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Dataset is a COCO instances file opened for reading. Its records are
// checked when it is opened; a record with a bad annotation keeps its error,
// returned by Get, so that a loader may skip it.
type Dataset struct {
	file    string
	classes []string
	catIDs  []int64 // label → category id
	records []record
	// Dropped counts annotations dropped for degenerate boxes.
	Dropped int
}

type record struct {
	id     int64
	file   string
	w, h   int
	insts  []instance
	err    error // first bad annotation of the image, if any
	hasAnn bool  // has any annotation of a selected category (mmdet's ids_in_cat)
}

type instance struct {
	box   [4]float32
	label int
	crowd bool
	mask  datasets.Mask
}

// The file structure; fields that may be of several types stay raw.
type fileJSON struct {
	Images      []imageJSON      `json:"images"`
	Annotations []annotationJSON `json:"annotations"`
	Categories  []categoryJSON   `json:"categories"`
}

type imageJSON struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type categoryJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type annotationJSON struct {
	ID           int64           `json:"id"`
	ImageID      int64           `json:"image_id"`
	CategoryID   int64           `json:"category_id"`
	BBox         []float64       `json:"bbox"`
	Area         float64         `json:"area"`
	IsCrowd      json.RawMessage `json:"iscrowd"`
	Ignore       json.RawMessage `json:"ignore"`
	Segmentation json.RawMessage `json:"segmentation"`
}

type rleJSON struct {
	Size   []int           `json:"size"`
	Counts json.RawMessage `json:"counts"`
}

// Open reads and checks the annotation file. Malformed JSON is an error for
// the whole file; a bad annotation is an error for its image only.
func Open(opt Options) (*Dataset, error) {
	logf := opt.Logf
	if logf == nil {
		logf = log.Printf
	}
	data, err := os.ReadFile(opt.AnnFile)
	if err != nil {
		return nil, &datasets.FormatError{Pkg: "coco", File: opt.AnnFile, Msg: "cannot read annotations", Err: errors.Unwrap(err)}
	}
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(opt.AnnFile, data, err)
	}
	d := &Dataset{file: opt.AnnFile}

	// Categories and labels.
	catLabel := make(map[int64]int) // selected category id → label
	known := make(map[int64]bool)   // every category id in the file
	want := make(map[string]bool)
	for _, c := range opt.Classes {
		want[c] = true
	}
	for i, c := range f.Categories {
		if known[c.ID] {
			return nil, datasets.Errorf("coco", opt.AnnFile, fmt.Sprintf("categories[%d]", i), "duplicate category id %d", c.ID)
		}
		known[c.ID] = true
		if len(opt.Classes) > 0 && !want[c.Name] {
			continue
		}
		catLabel[c.ID] = len(d.classes)
		d.classes = append(d.classes, c.Name)
		d.catIDs = append(d.catIDs, c.ID)
		delete(want, c.Name)
	}
	for _, c := range opt.Classes {
		if want[c] {
			return nil, datasets.Errorf("coco", opt.AnnFile, "", "class %q is not in categories", c)
		}
	}

	// Images in file order (mmdet iterates coco.get_img_ids()).
	byID := make(map[int64]int, len(f.Images))
	recs := make([]record, len(f.Images))
	for i, im := range f.Images {
		if _, dup := byID[im.ID]; dup {
			return nil, datasets.Errorf("coco", opt.AnnFile, fmt.Sprintf("images[%d]", i), "duplicate image id %d", im.ID)
		}
		byID[im.ID] = i
		file := im.FileName
		if opt.ImgDir != "" {
			file = filepath.Join(opt.ImgDir, im.FileName)
		}
		recs[i] = record{id: im.ID, file: file, w: im.Width, h: im.Height}
	}

	for i := range f.Annotations {
		a := &f.Annotations[i]
		ri, ok := byID[a.ImageID]
		if !ok {
			continue // an annotation of no listed image is never read (as in mmdet)
		}
		r := &recs[ri]
		if r.err != nil {
			continue
		}
		where := fmt.Sprintf("annotations[%d] (id %d, image_id %d)", i, a.ID, a.ImageID)
		inst, keep, err := parseAnnotation(a, r, catLabel, known)
		if err != nil {
			r.err = datasets.Errorf("coco", opt.AnnFile, where, "%s", err.Error())
			continue
		}
		if _, sel := catLabel[a.CategoryID]; sel {
			r.hasAnn = true
		}
		switch keep {
		case keepYes:
			r.insts = append(r.insts, inst)
		case keepDegenerate:
			d.Dropped++
		}
	}
	if d.Dropped > 0 {
		logf("coco: %s: dropped %d annotations with degenerate boxes (no overlap with the image, area <= 0, w < 1 or h < 1)", opt.AnnFile, d.Dropped)
	}

	filter := !opt.TestMode && (opt.FilterEmptyGT || opt.MinSize > 0)
	for _, r := range recs {
		if filter {
			// mmdet filter_data keeps an image with any annotation of a
			// selected category, even one whose boxes were all dropped.
			if opt.FilterEmptyGT && !r.hasAnn && r.err == nil {
				continue
			}
			if min(r.w, r.h) < opt.MinSize {
				continue
			}
		}
		d.records = append(d.records, r)
	}
	return d, nil
}

type keepKind int

const (
	keepYes        keepKind = iota
	keepSkip                // ignore flag or unselected category
	keepDegenerate          // mmdet's degenerate-box rules
)

// parseAnnotation checks one annotation and converts it. Errors are
// returned without location; the caller adds it.
func parseAnnotation(a *annotationJSON, r *record, catLabel map[int64]int, known map[int64]bool) (instance, keepKind, error) {
	var inst instance
	ignore, err := truthy(a.Ignore)
	if err != nil {
		return inst, 0, fmt.Errorf("ignore: %v", err)
	}
	if ignore {
		return inst, keepSkip, nil
	}
	if !known[a.CategoryID] {
		return inst, 0, fmt.Errorf("category_id %d is not in categories", a.CategoryID)
	}
	if len(a.BBox) != 4 {
		return inst, 0, fmt.Errorf("bbox has %d values, want 4 (x, y, w, h)", len(a.BBox))
	}
	crowd, err := truthy(a.IsCrowd)
	if err != nil {
		return inst, 0, fmt.Errorf("iscrowd: %v", err)
	}
	m, hasMask, err := parseSegmentation(a.Segmentation, r.w, r.h)
	if err != nil {
		return inst, 0, err
	}
	label, selected := catLabel[a.CategoryID]
	if !selected {
		return inst, keepSkip, nil
	}
	x, y, w, h := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
	interW := max(0, min(x+w, float64(r.w))-max(x, 0))
	interH := max(0, min(y+h, float64(r.h))-max(y, 0))
	if interW*interH == 0 || a.Area <= 0 || w < 1 || h < 1 {
		return inst, keepDegenerate, nil
	}
	inst.box = [4]float32{float32(x), float32(y), float32(x + w), float32(y + h)}
	inst.label = label
	inst.crowd = crowd
	if hasMask {
		inst.mask = m
		if m.Polygons != nil && len(m.Polygons) == 0 {
			// No usable part left: mmdet keeps the box but ignores the
			// instance, with an empty mask.
			inst.crowd = true
		}
	}
	return inst, keepYes, nil
}

// parseSegmentation converts a segmentation field: a list of polygons, or
// an RLE object with list (uncompressed) or string (compressed) counts.
func parseSegmentation(raw json.RawMessage, w, h int) (datasets.Mask, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return datasets.Mask{}, false, nil
	}
	switch raw[0] {
	case '[':
		var polys [][]float64
		if err := json.Unmarshal(raw, &polys); err != nil {
			return datasets.Mask{}, false, fmt.Errorf("segmentation: want a list of polygons (lists of numbers): %v", err)
		}
		if len(polys) == 0 {
			return datasets.Mask{}, false, nil
		}
		valid := polys[:0:0]
		for k, p := range polys {
			if len(p)%2 != 0 {
				return datasets.Mask{}, false, fmt.Errorf("segmentation polygon %d has %d coordinates, want an even number (x, y pairs)", k, len(p))
			}
			// mmdet LoadAnnotations._process_masks drops parts of fewer
			// than three points.
			if len(p) >= 6 {
				valid = append(valid, p)
			}
		}
		return datasets.Mask{Polygons: valid}, true, nil
	case '{':
		var rj rleJSON
		if err := json.Unmarshal(raw, &rj); err != nil {
			return datasets.Mask{}, false, fmt.Errorf("segmentation: want an RLE object {size, counts}: %v", err)
		}
		if len(rj.Size) != 2 {
			return datasets.Mask{}, false, fmt.Errorf("segmentation RLE size has %d values, want 2 (height, width)", len(rj.Size))
		}
		rh, rw := rj.Size[0], rj.Size[1]
		if rh != h || rw != w {
			return datasets.Mask{}, false, fmt.Errorf("segmentation RLE size [%d, %d] differs from the image's [%d, %d]", rh, rw, h, w)
		}
		var r mask.RLE
		var err error
		c := bytes.TrimSpace(rj.Counts)
		switch {
		case len(c) > 0 && c[0] == '"':
			var s string
			if err = json.Unmarshal(c, &s); err == nil {
				r, err = mask.FrString(s, rh, rw)
			}
		case len(c) > 0 && c[0] == '[':
			var counts []uint32
			if err = json.Unmarshal(c, &counts); err == nil {
				r, err = mask.FromUncompressed(counts, rh, rw)
			}
		default:
			err = errors.New("counts must be a list of integers or a string")
		}
		if err != nil {
			return datasets.Mask{}, false, fmt.Errorf("segmentation RLE: %v", err)
		}
		return datasets.Mask{RLE: &r}, true, nil
	}
	return datasets.Mask{}, false, errors.New("segmentation must be a list of polygons or an RLE object")
}

// truthy reads the flags COCO files write as 0/1 or false/true.
func truthy(raw json.RawMessage) (bool, error) {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "0", "false", "0.0":
		return false, nil
	case "1", "true", "1.0":
		return true, nil
	}
	return false, fmt.Errorf("want 0, 1, true or false, got %s", raw)
}

// jsonError turns a decoding error into a FormatError with a line and column.
func jsonError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read, including the offending one.
		line, col := lineCol(data, se.Offset-1)
		return datasets.Errorf("coco", file, "", "malformed JSON at line %d, column %d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return datasets.Errorf("coco", file, "", "at line %d, column %d: field %s: got JSON %s, want %v", line, col, te.Field, te.Value, te.Type)
	}
	return &datasets.FormatError{Pkg: "coco", File: file, Msg: "malformed JSON", Err: err}
}

// lineCol returns the 1-based line and column of byte off.
func lineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// Len returns the number of images after filtering.
func (d *Dataset) Len() int { return len(d.records) }

// Classes returns the category names indexed by label.
func (d *Dataset) Classes() []string { return d.classes }

// CatIDs returns the COCO category id of each label, for writing results.
func (d *Dataset) CatIDs() []int64 { return d.catIDs }

// File returns the annotation file path.
func (d *Dataset) File() string { return d.file }

// ImageID returns the COCO image id of record i.
func (d *Dataset) ImageID(i int) int64 { return d.records[i].id }

// ImageSize returns record i's width and height from the annotations.
func (d *Dataset) ImageSize(i int) (w, h int) { return d.records[i].w, d.records[i].h }

// Get returns record i with its instances; masks are deep copies, so
// transforms may change them. A record with a bad annotation returns the
// error found when the file was opened.
func (d *Dataset) Get(i int) (*datasets.Sample, error) {
	r := &d.records[i]
	if r.err != nil {
		return nil, r.err
	}
	n := len(r.insts)
	s := &datasets.Sample{
		Boxes:  make([][4]float32, n),
		Labels: make([]int, n),
		Ignore: make([]bool, n),
		Label:  -1,
		Meta: datasets.Meta{
			Index: i, ImageID: r.id, File: r.file,
			OriShape: [2]int{r.h, r.w}, ImgShape: [2]int{r.h, r.w}, PadShape: [2]int{r.h, r.w},
			ScaleFactor: [2]float64{1, 1},
		},
	}
	hasMask := false
	for _, in := range r.insts {
		if in.mask.Polygons != nil || in.mask.RLE != nil {
			hasMask = true
		}
	}
	if hasMask {
		s.Masks = make([]datasets.Mask, n)
	}
	for k, in := range r.insts {
		s.Boxes[k], s.Labels[k], s.Ignore[k] = in.box, in.label, in.crowd
		if hasMask {
			if in.mask.Polygons == nil && in.mask.RLE == nil {
				// An instance without segmentation gets an empty mask, as
				// mmdet's fake polygon does.
				s.Masks[k] = datasets.Mask{Polygons: [][]float64{}}
				continue
			}
			s.Masks[k] = in.mask.Clone()
		}
	}
	return s, nil
}

func init() {
	datasets.RegisterDatasetType("CocoDataset", func() Options { return Options{} }, Open)
}
