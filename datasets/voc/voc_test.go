package voc

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/densepred/dp/datasets"
)

func TestTestdata(t *testing.T) {
	d, err := Open(Options{DataRoot: "testdata/VOCdevkit", AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 {
		t.Fatalf("%d records, want 4", d.Len())
	}
	// 000001.xml: dog (48, 240, 195, 371), person (8, 12, 352, 498), 353×500.
	s, err := d.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	wantBoxes := [][4]float32{{47, 239, 194, 370}, {7, 11, 351, 497}}
	if !slices.Equal(s.Boxes, wantBoxes) || !slices.Equal(s.Labels, []int{11, 14}) || !slices.Equal(s.Ignore, []bool{false, false}) {
		t.Errorf("000001: boxes %v labels %v ignore %v", s.Boxes, s.Labels, s.Ignore)
	}
	if s.Meta.OriShape != [2]int{500, 353} || s.Meta.File != "testdata/VOCdevkit/VOC2007/JPEGImages/000001.jpg" {
		t.Errorf("000001: shape %v file %s", s.Meta.OriShape, s.Meta.File)
	}
	img, err := datasets.ReadImage(s.Meta.File)
	if err != nil || img.W != 353 || img.H != 500 {
		t.Errorf("000001.jpg: %v, size matches the XML: %v", err, img != nil && img.W == 353)
	}
	// 000005.xml: five chairs, the third and fifth difficult.
	s, _ = d.Get(1)
	if !slices.Equal(s.Ignore, []bool{false, false, true, false, true}) || s.Labels[0] != 8 || s.Boxes[2] != [4]float32{4, 243, 66, 373} {
		t.Errorf("000005: ignore %v labels %v box 2 %v", s.Ignore, s.Labels, s.Boxes[2])
	}
	// BBoxMinSize 40 also ignores the 35×34 chair (277, 186)-(312, 220).
	d2, _ := Open(Options{DataRoot: "testdata/VOCdevkit", AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt"}, BBoxMinSize: 40})
	s, _ = d2.Get(1)
	if !slices.Equal(s.Ignore, []bool{false, false, true, false, true}) {
		t.Errorf("bbox_min_size: ignore %v", s.Ignore)
	}
	d3, _ := Open(Options{DataRoot: "testdata/VOCdevkit", AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt"}, BBoxMinSize: 65})
	s, _ = d3.Get(1)
	// Widths 61, 88, 62, 54, 35: only the second (88×108) stays.
	if !slices.Equal(s.Ignore, []bool{true, false, true, true, true}) {
		t.Errorf("bbox_min_size 65: ignore %v", s.Ignore)
	}
}

func TestErrors(t *testing.T) {
	d, _ := Open(Options{DataRoot: "testdata/VOCdevkit", AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt"}})
	cases := []struct {
		rec int
		msg string
	}{
		{2, "voc: testdata/VOCdevkit/VOC2007/Annotations/000009.xml: malformed XML: XML syntax error on line 8: element <annotation> closed by </annotatio>"},
		{3, "voc: testdata/VOCdevkit/VOC2007/Annotations/000010.xml: cannot read annotation: no such file or directory"},
	}
	for _, c := range cases {
		s, err := d.Get(c.rec)
		if s != nil || err == nil || err.Error() != c.msg {
			t.Errorf("record %d: %v\nwant %s", c.rec, err, c.msg)
		}
		var fe *datasets.FormatError
		if !errors.As(err, &fe) {
			t.Errorf("record %d: %T is not a FormatError", c.rec, err)
		}
	}
	_, err := Open(Options{DataRoot: "testdata/VOCdevkit", AnnFiles: []string{"VOC2007/ImageSets/Main/test.txt"}})
	if err == nil || err.Error() != "voc: testdata/VOCdevkit/VOC2007/ImageSets/Main/test.txt: cannot read split file: no such file or directory" {
		t.Errorf("missing split: %v", err)
	}
}

const fixture = "../../../shared/fixtures/VOCdevkit"

func TestVOC0712Fixture(t *testing.T) {
	if _, err := os.Stat(fixture); err != nil {
		t.Skipf("VOC fixture not available (%v); it is /work/shared/fixtures/VOCdevkit", err)
	}
	d, err := Open(Options{DataRoot: fixture, AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt", "VOC2012/ImageSets/Main/trainval.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 {
		t.Fatalf("%d images, want 5 + 5", d.Len())
	}
	objects, ignored := 0, 0
	perClass := make(map[string]int)
	for i := 0; i < d.Len(); i++ {
		s, err := d.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		objects += len(s.Boxes)
		for k, l := range s.Labels {
			perClass[Classes[l]]++
			if s.Ignore[k] {
				ignored++
			}
			b := s.Boxes[k]
			if b[0] < -1 || b[1] < -1 || b[2] >= float32(s.Meta.OriShape[1]) || b[3] >= float32(s.Meta.OriShape[0]) || b[2] <= b[0] || b[3] <= b[1] {
				t.Errorf("%s: box %v outside %v", d.ImageName(i), b, s.Meta.OriShape)
			}
		}
		if i == 0 || i == 9 {
			img, err := datasets.ReadImage(s.Meta.File)
			if err != nil || img.W != s.Meta.OriShape[1] || img.H != s.Meta.OriShape[0] {
				t.Errorf("%s: image %v, XML size %v", s.Meta.File, err, s.Meta.OriShape)
			}
		}
	}
	// Objects per XML file: 2+1+2+7+5 (VOC2007) and 1+4+3+1+2 (VOC2012);
	// parts (head, hand, foot) of 2007_000027 are not objects.
	if objects != 28 || ignored != 2 || perClass["car"] != 7 || perClass["chair"] != 6 || perClass["aeroplane"] != 5 || perClass["person"] != 4 {
		t.Errorf("%d objects, %d ignored, per class %v", objects, ignored, perClass)
	}
	if d.ImageName(5) != "2007_000027" || filepath.Base(filepath.Dir(filepath.Dir(mustGet(t, d, 5).Meta.File))) != "VOC2012" {
		t.Errorf("record 5 is %s", d.ImageName(5))
	}
}

func mustGet(t *testing.T, d *Dataset, i int) *datasets.Sample {
	s, err := d.Get(i)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
