package seg

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/voc"
)

// Options configure a segmentation dataset; keys are mmseg's.
type Options struct {
	// DataRoot is prepended to the directories and the split file.
	DataRoot string `yaml:"data_root"`
	// ImgDir holds the images. Required.
	ImgDir string `yaml:"img_dir"`
	// AnnDir holds the label maps. Required.
	AnnDir string `yaml:"ann_dir"`
	// ImgSuffix ends every image name. Default ".jpg".
	ImgSuffix string `yaml:"img_suffix"`
	// SegSuffix ends every label map name. Default ".png".
	SegSuffix string `yaml:"seg_map_suffix"`
	// AnnFile is a split file of names without suffix, one per line;
	// empty means every image under ImgDir, sorted. Default "".
	AnnFile string `yaml:"ann_file"`
	// ReduceZeroLabel maps label 0 to 255 and shifts the others down by
	// one when the map is loaded. Default false.
	ReduceZeroLabel bool `yaml:"reduce_zero_label"`
	// Classes are the class names, indexed by label after reduction.
	Classes []string `yaml:"classes"`
}

// ADE20K returns the options of mmseg's ADE20KDataset for split
// "training" or "validation" under root (the ADEChallengeData2016 folder).
func ADE20K(root, split string) Options {
	return Options{DataRoot: root, ImgDir: filepath.Join("images", split), AnnDir: filepath.Join("annotations", split),
		ImgSuffix: ".jpg", SegSuffix: ".png", ReduceZeroLabel: true, Classes: ADE20KClasses}
}

// VOC returns the options of mmseg's PascalVOCDataset for split "train",
// "val" or "trainval" under root (the VOC2012 folder).
func VOC(root, split string) Options {
	return Options{DataRoot: root, ImgDir: "JPEGImages", AnnDir: "SegmentationClass",
		ImgSuffix: ".jpg", SegSuffix: ".png", AnnFile: filepath.Join("ImageSets", "Segmentation", split+".txt"),
		Classes: VOCClasses}
}

// VOCClasses are mmseg's 21 Pascal VOC segmentation classes; background is
// class 0 and is scored (reduce_zero_label is false).
var VOCClasses = append([]string{"background"}, voc.Classes...)

// Dataset is an opened segmentation dataset.
type Dataset struct {
	opt     Options
	records []record
}

type record struct{ img, seg string }

// Open lists the samples. Missing label maps are reported when a sample is
// loaded, so that a loader may skip them.
func Open(opt Options) (*Dataset, error) {
	if opt.ImgDir == "" || opt.AnnDir == "" {
		return nil, datasets.Errorf("seg", opt.DataRoot, "", "img_dir and ann_dir are required")
	}
	if opt.ImgSuffix == "" {
		opt.ImgSuffix = ".jpg"
	}
	if opt.SegSuffix == "" {
		opt.SegSuffix = ".png"
	}
	imgDir := filepath.Join(opt.DataRoot, opt.ImgDir)
	annDir := filepath.Join(opt.DataRoot, opt.AnnDir)
	d := &Dataset{opt: opt}
	if opt.AnnFile != "" {
		names, err := voc.ReadSplit(filepath.Join(opt.DataRoot, opt.AnnFile))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			d.records = append(d.records, record{filepath.Join(imgDir, n+opt.ImgSuffix), filepath.Join(annDir, n+opt.SegSuffix)})
		}
		return d, nil
	}
	err := filepath.WalkDir(imgDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), opt.ImgSuffix) {
			return nil
		}
		rel, _ := filepath.Rel(imgDir, path)
		d.records = append(d.records, record{path, filepath.Join(annDir, strings.TrimSuffix(rel, opt.ImgSuffix)+opt.SegSuffix)})
		return nil
	})
	if err != nil {
		return nil, &datasets.FormatError{Pkg: "seg", File: imgDir, Msg: "cannot list images", Err: err}
	}
	sort.Slice(d.records, func(i, j int) bool { return d.records[i].img < d.records[j].img })
	return d, nil
}

// Len returns the number of samples.
func (d *Dataset) Len() int { return len(d.records) }

// Classes returns the class names.
func (d *Dataset) Classes() []string { return d.opt.Classes }

// Get returns sample i with its image and label map paths; LoadImage and
// LoadAnnotations (with_seg) read them.
func (d *Dataset) Get(i int) (*datasets.Sample, error) {
	r := d.records[i]
	return &datasets.Sample{Label: -1, Meta: datasets.Meta{Index: i, File: r.img, SegFile: r.seg,
		ReduceZeroLabel: d.opt.ReduceZeroLabel, ScaleFactor: [2]float64{1, 1}}}, nil
}

// ADE20KClasses are the 150 ADE20K scene-parsing classes in mmseg's order
// (mmseg/datasets/ade.py METAINFO; "bed " keeps its trailing space there).
var ADE20KClasses = []string{
	"wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed ", "windowpane", "grass",
	"cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
	"car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
	"armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
	"base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace",
	"refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway",
	"river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
	"countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
	"bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
	"airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
	"poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool",
	"stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
	"food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
	"screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan",
	"pier", "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
}

func init() {
	datasets.RegisterDatasetType("BaseSegDataset", func() Options { return Options{ImgSuffix: ".jpg", SegSuffix: ".png"} }, Open)
	datasets.RegisterDatasetType("ADE20KDataset", func() Options { return ADE20K("", "training") }, Open)
	datasets.RegisterDatasetType("PascalVOCDataset", func() Options { return VOC("", "train") }, Open)
}
