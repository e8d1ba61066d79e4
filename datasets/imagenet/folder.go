package imagenet

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/densepred/dp/datasets"
)

// FolderOptions configure a class-folder dataset.
type FolderOptions struct {
	// Root is the split directory holding one folder per class. Required.
	Root string `yaml:"data_root"`
	// ClassMap is a file of class folder names, one per line; a class's
	// index is its line number. Default "": sorted folder names.
	ClassMap string `yaml:"class_map"`
	// AnnFile lists "relative/path label" lines (paths relative to Root)
	// instead of scanning folders. Default "".
	AnnFile string `yaml:"ann_file"`
}

// imageExts are the file extensions taken as images (compared in lower
// case), torchvision's IMG_EXTENSIONS less the rare ones.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".tif": true, ".tiff": true, ".webp": true}

// Folder is an opened class-folder dataset.
type Folder struct {
	classes []string
	files   []string
	labels  []int
}

// OpenFolder lists the images of a class-folder dataset.
func OpenFolder(opt FolderOptions) (*Folder, error) {
	d := &Folder{}
	if opt.ClassMap != "" {
		lines, err := readLines(opt.ClassMap)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			d.classes = append(d.classes, strings.Fields(l)[0])
		}
	}
	if opt.AnnFile != "" {
		lines, err := readLines(opt.AnnFile)
		if err != nil {
			return nil, err
		}
		maxLabel := -1
		for i, l := range lines {
			f := strings.Fields(l)
			lab, err := strconv.Atoi(f[len(f)-1])
			if len(f) != 2 || err != nil || lab < 0 {
				return nil, datasets.Errorf("imagenet", opt.AnnFile, fmt.Sprintf("line %d", i+1), "%q, want \"relative/path label\" with a label >= 0", l)
			}
			if d.classes != nil && lab >= len(d.classes) {
				return nil, datasets.Errorf("imagenet", opt.AnnFile, fmt.Sprintf("line %d", i+1), "label %d, but the class map has %d classes", lab, len(d.classes))
			}
			d.files = append(d.files, filepath.Join(opt.Root, f[0]))
			d.labels = append(d.labels, lab)
			maxLabel = max(maxLabel, lab)
		}
		if d.classes == nil {
			for k := 0; k <= maxLabel; k++ {
				d.classes = append(d.classes, strconv.Itoa(k))
			}
		}
		return d, nil
	}
	entries, err := os.ReadDir(opt.Root)
	if err != nil {
		return nil, &datasets.FormatError{Pkg: "imagenet", File: opt.Root, Msg: "cannot list class folders", Err: err}
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	sort.Strings(dirs)
	index := make(map[string]int)
	if d.classes == nil {
		d.classes = dirs
	}
	for i, c := range d.classes {
		index[c] = i
	}
	for _, dir := range dirs {
		label, ok := index[dir]
		if !ok {
			return nil, datasets.Errorf("imagenet", filepath.Join(opt.Root, dir), "", "class folder is not in class map %s", opt.ClassMap)
		}
		var files []string
		err := filepath.WalkDir(filepath.Join(opt.Root, dir), func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, &datasets.FormatError{Pkg: "imagenet", File: filepath.Join(opt.Root, dir), Msg: "cannot list images", Err: err}
		}
		sort.Strings(files)
		for _, f := range files {
			d.files = append(d.files, f)
			d.labels = append(d.labels, label)
		}
	}
	return d, nil
}

func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "cannot read", Err: err}
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// Len returns the number of images.
func (d *Folder) Len() int { return len(d.files) }

// Classes returns the class (folder) names indexed by label.
func (d *Folder) Classes() []string { return d.classes }

// File returns the path and label of image i.
func (d *Folder) File(i int) (string, int) { return d.files[i], d.labels[i] }

// Get returns sample i: its file and label; LoadImage decodes it.
func (d *Folder) Get(i int) (*datasets.Sample, error) {
	return &datasets.Sample{Label: d.labels[i], Meta: datasets.Meta{Index: i, File: d.files[i], ScaleFactor: [2]float64{1, 1}}}, nil
}

func init() {
	datasets.RegisterDatasetType("ImageNet", func() FolderOptions { return FolderOptions{} }, OpenFolder)
	datasets.RegisterDatasetType("ImageNetParquet", func() ParquetOptions { return ParquetOptions{} }, OpenParquet)
}
