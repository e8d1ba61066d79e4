package coco

import (
	"encoding/json"
	"errors"
	"math"
	"os"

	"testing"

	"github.com/densepred/dp/datasets"
)

func quiet(string, ...any) {}

func TestOpenSample(t *testing.T) {
	d, err := Open(Options{AnnFile: "testdata/sample.json", ImgDir: "imgs", TestMode: true, Logf: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Classes(), []string{"cat", "person", "dog"}; !equal(got, want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	if got, want := d.CatIDs(), []int64{3, 1, 7}; !equal(got, want) {
		t.Errorf("cat ids %v, want %v", got, want)
	}
	if d.Len() != 4 || d.Dropped != 4 {
		t.Fatalf("%d images, %d dropped; want 4 images (one without annotations) and 4 degenerate boxes dropped", d.Len(), d.Dropped)
	}
	type inst struct {
		box    [4]float32
		label  int
		ignore bool
		area   int
	}
	cases := []struct {
		rec   int
		id    int64
		file  string
		insts []inst
	}{
		// Annotation 4 has ignore=1, 5 is 0.5 px wide, 6 lies outside the image.
		{0, 1, "imgs/a.png", []inst{
			{[4]float32{2, 3, 12, 8}, 1, false, 50},   // one polygon, 10×5 pixel centres
			{[4]float32{0, 0, 24, 24}, 2, false, 32},  // two 4×4 parts
			{[4]float32{30, 10, 34, 20}, 0, true, 40}, // crowd, uncompressed RLE of 4 columns × 10 rows
		}},
		// Annotation 7 is a compressed RLE of a 5×5 square; 8 has area 0;
		// 10 has only two-point "polygons" (ignored, empty mask); 11 loses
		// its two-point part.
		{1, 2, "imgs/b.png", []inst{
			{[4]float32{5, 5, 10, 10}, 0, false, 25},
			{[4]float32{11, 11, 15, 15}, 1, true, 0},
			{[4]float32{11, 1, 19, 5}, 1, false, 16},
		}},
		{2, 3, "imgs/c.png", nil},
		{3, 4, "imgs/d.png", nil},
	}
	for _, c := range cases {
		s, err := d.Get(c.rec)
		if err != nil {
			t.Fatalf("record %d: %v", c.rec, err)
		}
		if s.Meta.ImageID != c.id || s.Meta.File != c.file {
			t.Errorf("record %d: image %d %q, want %d %q", c.rec, s.Meta.ImageID, s.Meta.File, c.id, c.file)
		}
		if len(s.Boxes) != len(c.insts) {
			t.Fatalf("record %d: %d instances, want %d", c.rec, len(s.Boxes), len(c.insts))
		}
		w, h := d.ImageSize(c.rec)
		for k, want := range c.insts {
			got := inst{s.Boxes[k], s.Labels[k], s.Ignore[k], s.Masks[k].Area(w, h)}
			if got != want {
				t.Errorf("record %d instance %d: %+v, want %+v", c.rec, k, got, want)
			}
		}
	}
	// Masks are copies: changing one must not change the dataset.
	s, _ := d.Get(0)
	s.Masks[0].Polygons[0][0] = 100
	s2, _ := d.Get(0)
	if s2.Masks[0].Polygons[0][0] != 2 {
		t.Error("Get returned polygons shared with the dataset")
	}
}

func TestFilter(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		ids  []int64
	}{
		{"test mode ignores filters", Options{FilterEmptyGT: true, MinSize: 100, TestMode: true}, []int64{1, 2, 3, 4}},
		{"no filter", Options{}, []int64{1, 2, 3, 4}},
		// Image 4's only annotation is degenerate, but mmdet keeps images
		// with any annotation of a selected category.
		{"filter_empty_gt", Options{FilterEmptyGT: true}, []int64{1, 2, 4}},
		{"min_size", Options{MinSize: 10}, []int64{1, 2, 3}},
		{"both", Options{FilterEmptyGT: true, MinSize: 10}, []int64{1, 2}},
		{"classes dog", Options{Classes: []string{"dog"}, FilterEmptyGT: true}, []int64{1, 2, 4}},
		{"classes cat", Options{Classes: []string{"cat"}, FilterEmptyGT: true}, []int64{1, 2}},
	}
	for _, c := range cases {
		c.opt.AnnFile, c.opt.Logf = "testdata/sample.json", quiet
		d, err := Open(c.opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []int64
		for i := 0; i < d.Len(); i++ {
			ids = append(ids, d.ImageID(i))
		}
		if !equal(ids, c.ids) {
			t.Errorf("%s: images %v, want %v", c.name, ids, c.ids)
		}
	}
	d, _ := Open(Options{AnnFile: "testdata/sample.json", Classes: []string{"dog"}, Logf: quiet})
	s, _ := d.Get(0)
	if len(s.Labels) != 1 || s.Labels[0] != 0 || s.Boxes[0] != [4]float32{0, 0, 24, 24} {
		t.Errorf("classes dog: image 1 has labels %v boxes %v, want the dog as label 0", s.Labels, s.Boxes)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		file   string
		record int // -1: Open fails
		msg    string
	}{
		{"testdata/malformed.json", -1,
			"coco: testdata/malformed.json: malformed JSON at line 3, column 46: invalid character ']' looking for beginning of value"},
		{"testdata/oddpolygon.json", 1,
			"coco: testdata/oddpolygon.json: annotations[1] (id 11, image_id 2): segmentation polygon 1 has 5 coordinates, want an even number (x, y pairs)"},
		{"testdata/badcategory.json", 0,
			"coco: testdata/badcategory.json: annotations[0] (id 10, image_id 1): category_id 99 is not in categories"},
		{"testdata/missing.json", -1,
			"coco: testdata/missing.json: cannot read annotations: no such file or directory"},
	}
	for _, c := range cases {
		d, err := Open(Options{AnnFile: c.file, Logf: quiet})
		if c.record >= 0 {
			if err != nil {
				t.Fatalf("%s: Open: %v", c.file, err)
			}
			// The other record of the file reads fine.
			if _, err := d.Get(1 - c.record); err != nil {
				t.Errorf("%s: good record: %v", c.file, err)
			}
			var s *datasets.Sample
			s, err = d.Get(c.record)
			if s != nil {
				t.Errorf("%s: Get returned a sample with its error", c.file)
			}
		} else if d != nil {
			t.Errorf("%s: Open returned a dataset with its error", c.file)
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", c.file, c.msg)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("%s:\n got %q\nwant %q", c.file, err, c.msg)
		}
		var fe *datasets.FormatError
		if !errors.As(err, &fe) || fe.File != c.file {
			t.Errorf("%s: error %T does not carry the file", c.file, err)
		}
	}
}

// fixture is the COCO val2014 100-image annotation file shared by dp's tests.
const fixture = "../../../shared/fixtures/coco-val2014-100/instances_val2014_100.json"

func TestVal2014Fixture(t *testing.T) {
	if _, err := os.Stat(fixture); err != nil {
		t.Skipf("COCO fixture not available (%v); it is /work/shared/fixtures/coco-val2014-100", err)
	}
	d, err := Open(Options{AnnFile: fixture, ImgDir: "val2014", TestMode: true, Logf: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// The file: 100 images, 839 annotations (830 polygon, 9 crowd RLE),
	// 80 categories; none is degenerate by mmdet's rules.
	if d.Len() != 100 || len(d.Classes()) != 80 || d.Dropped != 0 {
		t.Fatalf("%d images, %d classes, %d dropped; want 100, 80, 0", d.Len(), len(d.Classes()), d.Dropped)
	}
	if d.Classes()[0] != "person" || d.Classes()[79] != "toothbrush" || d.CatIDs()[79] != 90 {
		t.Errorf("labels 0 and 79 are %q and %q (id %d), want person and toothbrush (id 90)", d.Classes()[0], d.Classes()[79], d.CatIDs()[79])
	}
	raw := readRaw(t)
	var total, crowd int
	var sumArea, sumRaster float64
	for i := 0; i < d.Len(); i++ {
		s, err := d.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		w, h := d.ImageSize(i)
		anns := raw[s.Meta.ImageID]
		if len(anns) != len(s.Boxes) {
			t.Fatalf("image %d: %d instances, want %d", s.Meta.ImageID, len(s.Boxes), len(anns))
		}
		for k, a := range anns {
			total++
			// mmdet: xywh → (x, y, x+w, y+h), in float32.
			want := [4]float32{float32(a.BBox[0]), float32(a.BBox[1]), float32(a.BBox[0] + a.BBox[2]), float32(a.BBox[1] + a.BBox[3])}
			if s.Boxes[k] != want || s.Ignore[k] != (a.IsCrowd == 1) || d.CatIDs()[s.Labels[k]] != a.CategoryID {
				t.Errorf("image %d ann %d: box %v ignore %v cat %d, want %v %v %d", s.Meta.ImageID, a.ID, s.Boxes[k], s.Ignore[k], d.CatIDs()[s.Labels[k]], want, a.IsCrowd == 1, a.CategoryID)
			}
			if a.IsCrowd == 1 {
				crowd++
				if s.Masks[k].RLE == nil {
					t.Errorf("ann %d: crowd mask is not RLE", a.ID)
				}
				continue
			}
			// COCO's area of a polygon annotation is the polygons'
			// geometric area; the rasterised mask may differ by at most
			// the pixels the boundary crosses.
			raster := float64(s.Masks[k].Area(w, h))
			per := 0.0
			for _, p := range a.Segmentation {
				per += perimeter(p)
			}
			if math.Abs(raster-a.Area) > per/2+4 {
				t.Errorf("ann %d: rasterised area %v, COCO area %v, perimeter %.1f", a.ID, raster, a.Area, per)
			}
			sumArea += a.Area
			sumRaster += raster
		}
	}
	if total != 839 || crowd != 9 {
		t.Errorf("%d annotations, %d crowd; want 839 and 9", total, crowd)
	}
	if rel := math.Abs(sumRaster-sumArea) / sumArea; rel > 0.01 {
		t.Errorf("total rasterised area %v vs COCO area %v: relative difference %.4f > 1%%", sumRaster, sumArea, rel)
	}
	// The first annotation of the file, read by hand: id 1774 on image 74,
	// category 18 (dog, label 16), bbox [61.87, 276.25, 296.42, 103.18].
	for i := 0; i < d.Len(); i++ {
		if d.ImageID(i) != 74 {
			continue
		}
		s, _ := d.Get(i)
		for k := range s.Boxes {
			if s.Labels[k] == 16 && s.Boxes[k][0] == 61.87 {
				if want := [4]float32{61.87, 276.25, 358.29, 379.43}; s.Boxes[k] != want {
					t.Errorf("annotation 1774: box %v, want %v", s.Boxes[k], want)
				}
				return
			}
		}
	}
	t.Error("annotation 1774 (dog on image 74) not found")
}

type rawAnn struct {
	ID           int64           `json:"id"`
	ImageID      int64           `json:"image_id"`
	CategoryID   int64           `json:"category_id"`
	BBox         []float64       `json:"bbox"`
	Area         float64         `json:"area"`
	IsCrowd      int             `json:"iscrowd"`
	Segmentation [][]float64     `json:"-"`
	Seg          json.RawMessage `json:"segmentation"`
}

// readRaw reads the fixture's annotations grouped by image, in file order.
func readRaw(t *testing.T) map[int64][]rawAnn {
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Annotations []rawAnn `json:"annotations"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	m := make(map[int64][]rawAnn)
	for _, a := range f.Annotations {
		if a.IsCrowd == 0 {
			if err := json.Unmarshal(a.Seg, &a.Segmentation); err != nil {
				t.Fatal(err)
			}
		}
		m[a.ImageID] = append(m[a.ImageID], a)
	}
	return m
}

func perimeter(p []float64) float64 {
	n := len(p) / 2
	s := 0.0
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		s += math.Hypot(p[2*j]-p[2*i], p[2*j+1]-p[2*i+1])
	}
	return s
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
