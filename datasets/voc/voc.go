package voc

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/densepred/dp/datasets"
)

// Classes are the 20 Pascal VOC object classes in mmdet's order.
var Classes = []string{"aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
	"diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"}

// Options configure a VOC detection dataset; keys follow mmdet's VOCDataset
// and its ConcatDataset config.
type Options struct {
	// DataRoot is the VOCdevkit directory. Required.
	DataRoot string `yaml:"data_root"`
	// AnnFiles are split files relative to DataRoot, such as
	// "VOC2007/ImageSets/Main/trainval.txt"; the year directory is the
	// part before ImageSets. Required.
	AnnFiles []string `yaml:"ann_files"`
	// Classes are the class names; labels are their indices. Default the
	// 20 VOC classes.
	Classes []string `yaml:"classes"`
	// FilterEmptyGT drops images without objects of the classes (ignored
	// ones count). Default false.
	FilterEmptyGT bool `yaml:"filter_empty_gt"`
	// MinSize drops images whose shorter side is smaller. Default 0.
	MinSize int `yaml:"min_size"`
	// BBoxMinSize marks boxes narrower or lower than it as ignored
	// (mmdet's filter_cfg bbox_min_size). Default 0 (off).
	BBoxMinSize float32 `yaml:"bbox_min_size"`
	// TestMode disables filtering. Default false.
	TestMode bool `yaml:"test_mode"`
}

// Dataset is an opened VOC detection dataset. XML files are parsed at Open;
// one that is missing or malformed keeps its error for Get.
type Dataset struct {
	classes []string
	records []record
}

type record struct {
	id       string // image id, e.g. "000005"
	img, ann string // file paths
	w, h     int
	boxes    [][4]float32
	labels   []int
	ignore   []bool
	err      error
}

// XML structure (VOC devkit doc section 2.1).
type annotationXML struct {
	Size struct {
		Width  string `xml:"width"`
		Height string `xml:"height"`
	} `xml:"size"`
	Objects []struct {
		Name      string  `xml:"name"`
		Difficult *string `xml:"difficult"`
		BndBox    *struct {
			XMin string `xml:"xmin"`
			YMin string `xml:"ymin"`
			XMax string `xml:"xmax"`
			YMax string `xml:"ymax"`
		} `xml:"bndbox"`
	} `xml:"object"`
}

// Open reads the split files and every listed annotation. A missing or
// unreadable split file is an error for the whole dataset.
func Open(opt Options) (*Dataset, error) {
	if len(opt.AnnFiles) == 0 {
		return nil, fmt.Errorf("voc: no ann_files given; want split files such as VOC2007/ImageSets/Main/trainval.txt")
	}
	d := &Dataset{classes: opt.Classes}
	if d.classes == nil {
		d.classes = Classes
	}
	label := make(map[string]int, len(d.classes))
	for i, c := range d.classes {
		label[c] = i
	}
	for _, af := range opt.AnnFiles {
		path := filepath.Join(opt.DataRoot, af)
		ids, err := ReadSplit(path)
		if err != nil {
			return nil, err
		}
		sub := yearDir(filepath.Join(opt.DataRoot, af))
		for _, id := range ids {
			r := record{id: id,
				img: filepath.Join(sub, "JPEGImages", id+".jpg"),
				ann: filepath.Join(sub, "Annotations", id+".xml")}
			r.err = r.parse(label, opt.BBoxMinSize)
			if !opt.TestMode && r.err == nil {
				if opt.FilterEmptyGT && len(r.boxes) == 0 {
					continue
				}
				if min(r.w, r.h) < opt.MinSize {
					continue
				}
			}
			d.records = append(d.records, r)
		}
	}
	return d, nil
}

// yearDir returns the directory above ImageSets in a split file's path.
func yearDir(split string) string {
	dir := filepath.Dir(split)
	for dir != "." && dir != string(filepath.Separator) {
		if filepath.Base(dir) == "ImageSets" {
			return filepath.Dir(dir)
		}
		dir = filepath.Dir(dir)
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(split)))
}

// ReadSplit reads an ImageSets split file: one image id per line (the
// first field; VOC's per-class files add a 1/−1 flag after it).
func ReadSplit(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &datasets.FormatError{Pkg: "voc", File: path, Msg: "cannot read split file", Err: unwrap(err)}
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parse reads the record's XML file as mmdet's XMLDataset.parse_data_info.
func (r *record) parse(label map[string]int, bboxMinSize float32) error {
	data, err := os.ReadFile(r.ann)
	if err != nil {
		return &datasets.FormatError{Pkg: "voc", File: r.ann, Msg: "cannot read annotation", Err: unwrap(err)}
	}
	var a annotationXML
	if err := xml.Unmarshal(data, &a); err != nil {
		return &datasets.FormatError{Pkg: "voc", File: r.ann, Msg: "malformed XML", Err: err}
	}
	if a.Size.Width != "" || a.Size.Height != "" {
		w, errW := strconv.Atoi(strings.TrimSpace(a.Size.Width))
		h, errH := strconv.Atoi(strings.TrimSpace(a.Size.Height))
		if errW != nil || errH != nil || w <= 0 || h <= 0 {
			return datasets.Errorf("voc", r.ann, "size", "width %q, height %q, want positive integers", a.Size.Width, a.Size.Height)
		}
		r.w, r.h = w, h
	} else {
		// mmdet reads the image when <size> is missing.
		f, err := os.Open(r.img)
		if err != nil {
			return &datasets.FormatError{Pkg: "voc", File: r.ann, Msg: "no <size> and the image cannot be read", Err: unwrap(err)}
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			return &datasets.FormatError{Pkg: "voc", File: r.img, Msg: "cannot read image size", Err: err}
		}
		r.w, r.h = cfg.Width, cfg.Height
	}
	for k, o := range a.Objects {
		l, ok := label[strings.TrimSpace(o.Name)]
		if !ok {
			continue
		}
		where := fmt.Sprintf("object %d (%s)", k, o.Name)
		if o.BndBox == nil {
			return datasets.Errorf("voc", r.ann, where, "no <bndbox>")
		}
		var c [4]int
		for i, v := range []string{o.BndBox.XMin, o.BndBox.YMin, o.BndBox.XMax, o.BndBox.YMax} {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return datasets.Errorf("voc", r.ann, where, "bndbox coordinate %q is not a number", v)
			}
			c[i] = int(f) - 1 // Python int() truncates toward zero, as Go's conversion
		}
		difficult := false
		if o.Difficult != nil {
			v, err := strconv.Atoi(strings.TrimSpace(*o.Difficult))
			if err != nil {
				return datasets.Errorf("voc", r.ann, where, "difficult %q, want 0 or 1", *o.Difficult)
			}
			difficult = v != 0
		}
		box := [4]float32{float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3])}
		small := bboxMinSize > 0 && (box[2]-box[0] < bboxMinSize || box[3]-box[1] < bboxMinSize)
		r.boxes = append(r.boxes, box)
		r.labels = append(r.labels, l)
		r.ignore = append(r.ignore, difficult || small)
	}
	return nil
}

// Len returns the number of images.
func (d *Dataset) Len() int { return len(d.records) }

// Classes returns the class names indexed by label.
func (d *Dataset) Classes() []string { return d.classes }

// ImageSize returns record i's size from its XML (0, 0 for a bad record).
func (d *Dataset) ImageSize(i int) (w, h int) { return d.records[i].w, d.records[i].h }

// ImageName returns record i's image id, such as "000005".
func (d *Dataset) ImageName(i int) string { return d.records[i].id }

// Get returns record i, or the error its XML file gave.
func (d *Dataset) Get(i int) (*datasets.Sample, error) {
	r := &d.records[i]
	if r.err != nil {
		return nil, r.err
	}
	shape := [2]int{r.h, r.w}
	return &datasets.Sample{
		Boxes:  append([][4]float32(nil), r.boxes...),
		Labels: append([]int(nil), r.labels...),
		Ignore: append([]bool(nil), r.ignore...),
		Label:  -1,
		Meta: datasets.Meta{Index: i, File: r.img, OriShape: shape, ImgShape: shape, PadShape: shape,
			ScaleFactor: [2]float64{1, 1}},
	}, nil
}

func init() {
	datasets.RegisterDatasetType("VOCDataset", func() Options { return Options{} }, Open)
}
