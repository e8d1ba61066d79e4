package seg

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/transforms"
	"github.com/densepred/dp/tensor"
)

func writeImage(t *testing.T, path string, m image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, m, nil)
	} else {
		err = png.Encode(f, m)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func pipeline(t *testing.T) datasets.Pipeline {
	li, _ := transforms.Build("LoadImage", nil)
	la, _ := transforms.Build("LoadAnnotations", &transforms.LoadAnnotationsOptions{WithSeg: true})
	return datasets.Pipeline{li, la}
}

func TestVOCPalette(t *testing.T) {
	root := t.TempDir()
	// A palette PNG with the VOC colours: indices 0, 1 (aeroplane), 15
	// (person) and 255 (border).
	pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{128, 0, 0, 255}}
	for len(pal) < 256 {
		pal = append(pal, color.RGBA{uint8(len(pal)), 64, 128, 255})
	}
	pal[255] = color.RGBA{224, 224, 192, 255}
	m := image.NewPaletted(image.Rect(0, 0, 4, 3), pal)
	copy(m.Pix, []uint8{0, 0, 1, 1, 0, 255, 255, 1, 15, 15, 255, 0})
	writeImage(t, filepath.Join(root, "SegmentationClass", "2007_000032.png"), m)
	writeImage(t, filepath.Join(root, "JPEGImages", "2007_000032.jpg"), image.NewRGBA(image.Rect(0, 0, 4, 3)))
	os.MkdirAll(filepath.Join(root, "ImageSets", "Segmentation"), 0o755)
	os.WriteFile(filepath.Join(root, "ImageSets", "Segmentation", "train.txt"), []byte("2007_000032\n"), 0o644)

	d, err := Open(VOC(root, "train"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1 || len(d.Classes()) != 21 || d.Classes()[15] != "person" {
		t.Fatalf("%d samples, classes %v", d.Len(), d.Classes())
	}
	s, _ := d.Get(0)
	if err := pipeline(t).Apply(s, tensor.NewRNG(0)); err != nil {
		t.Fatal(err)
	}
	if want := []uint8{0, 0, 1, 1, 0, 255, 255, 1, 15, 15, 255, 0}; !slices.Equal(s.SegMap.Pix, want) {
		t.Errorf("labels %v, want indices %v", s.SegMap.Pix, want)
	}
}

func TestADE20K(t *testing.T) {
	if len(ADE20KClasses) != 150 {
		t.Fatalf("%d ADE20K classes, want 150", len(ADE20KClasses))
	}
	root := filepath.Join(t.TempDir(), "ADEChallengeData2016")
	for i, labels := range [][]uint8{{0, 1, 2, 150}, {5, 5, 0, 255}} {
		name := fmt.Sprintf("ADE_train_%08d", 2-i) // written in reverse to check sorting
		g := image.NewGray(image.Rect(0, 0, 2, 2))
		copy(g.Pix, labels)
		writeImage(t, filepath.Join(root, "annotations", "training", name+".png"), g)
		writeImage(t, filepath.Join(root, "images", "training", name+".jpg"), image.NewRGBA(image.Rect(0, 0, 2, 2)))
	}
	// An image without its label map.
	writeImage(t, filepath.Join(root, "images", "training", "ADE_train_00000003.jpg"), image.NewRGBA(image.Rect(0, 0, 2, 2)))
	d, err := Open(ADE20K(root, "training"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 {
		t.Fatalf("%d samples, want 3", d.Len())
	}
	want := [][]uint8{
		{4, 4, 255, 255}, // ADE_train_00000001: 5 → 4, 0 → 255, 255 stays
		{255, 0, 1, 149}, // ADE_train_00000002: 0 → 255, k → k−1
	}
	for i, w := range want {
		s, _ := d.Get(i)
		if err := pipeline(t).Apply(s, tensor.NewRNG(0)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.SegMap.Pix, w) {
			t.Errorf("%s: labels %v, want %v", s.Meta.SegFile, s.SegMap.Pix, w)
		}
	}

	// The missing label map: an error naming it, or skipped by the loader.
	s, _ := d.Get(2)
	err = pipeline(t).Apply(s, tensor.NewRNG(0))
	missing := filepath.Join(root, "annotations", "training", "ADE_train_00000003.png")
	if err == nil || err.Error() != "datasets: "+missing+": cannot read label map: no such file or directory" {
		t.Errorf("missing label map: %v", err)
	}
	opt := datasets.DefaultLoaderOptions()
	opt.BatchSize = 3
	l, _ := datasets.NewLoader(d, pipeline(t), opt)
	for _, err := range l.Batches(0) {
		if err == nil || !strings.Contains(err.Error(), "datasets: record 2: datasets: "+missing) {
			t.Errorf("loader: %v", err)
		}
	}
	opt.SkipInvalid = true
	l, _ = datasets.NewLoader(d, pipeline(t), opt)
	var logged []string
	l.SetLogf(func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	n := 0
	for b, err := range l.Batches(0) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(b.Samples)
		if len(b.SegMaps) != 2*2*2 {
			t.Errorf("seg maps %v", b.SegMaps)
		}
	}
	if n != 2 || len(logged) != 1 {
		t.Errorf("skip_invalid: %d samples, log %q", n, logged)
	}
}
