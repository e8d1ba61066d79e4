package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/coco"
	"github.com/densepred/dp/datasets/imagenet"
	"github.com/densepred/dp/datasets/seg"
	"github.com/densepred/dp/datasets/transforms"
	"github.com/densepred/dp/datasets/voc"
	"github.com/densepred/dp/tensor"
)

func generate(t *testing.T, opt Options) string {
	t.Helper()
	opt.Out = t.TempDir()
	if err := Generate(opt); err != nil {
		t.Fatal(err)
	}
	return opt.Out
}

func load(t *testing.T, s *datasets.Sample, withSeg bool) {
	t.Helper()
	li, _ := transforms.Build("LoadImage", nil)
	la, _ := transforms.Build("LoadAnnotations", &transforms.LoadAnnotationsOptions{WithBox: true, WithMask: true, WithSeg: withSeg})
	if err := (datasets.Pipeline{li, la}).Apply(s, tensor.NewRNG(0)); err != nil {
		t.Fatal(err)
	}
}

func TestCOCO(t *testing.T) {
	out := generate(t, Options{Task: "det", Num: 12, Size: 128, Seed: 3})
	for _, split := range []struct {
		name string
		n    int
	}{{"train", 12}, {"val", 3}} {
		d, err := coco.Open(coco.Options{AnnFile: filepath.Join(out, "annotations", "instances_"+split.name+".json"),
			ImgDir: filepath.Join(out, split.name), TestMode: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != split.n || !slices.Equal(d.Classes(), Classes) || d.Dropped != 0 {
			t.Fatalf("%s: %d images, classes %v, %d dropped", split.name, d.Len(), d.Classes(), d.Dropped)
		}
		crowds := 0
		for i := 0; i < d.Len(); i++ {
			s, _ := d.Get(i)
			load(t, s, false)
			if len(s.Boxes) == 0 {
				t.Errorf("%s: image %d has no object", split.name, i)
			}
			if w, h := d.ImageSize(i); s.Image.W != w || s.Image.H != h || max(w, h) != 128 {
				t.Errorf("%s: image %d is %dx%d, annotation %dx%d", split.name, i, s.Image.W, s.Image.H, w, h)
			}
			for k, b := range s.Boxes {
				m := s.Masks[k].ToBitmap(s.Image.W, s.Image.H)
				if s.Ignore[k] {
					crowds++
					continue
				}
				// Sizes 24..96 at 256 → 12..48 here.
				if side := max(b[2]-b[0], b[3]-b[1]); side < 12*0.7 || side > 48.5 {
					t.Errorf("%s: image %d object %d has side %v", split.name, i, k, side)
				}
				// Every mask pixel shows its class colour (± shading).
				col := Colors[s.Labels[k]]
				for p, v := range m.Pix {
					if v == 0 {
						continue
					}
					for c := 0; c < 3; c++ {
						if d := int(s.Image.Pix[3*p+c]) - int(col[c]); d > 26 || d < -26 {
							t.Fatalf("%s: image %d object %d pixel %d channel %d = %d, class colour %d", split.name, i, k, p, c, s.Image.Pix[3*p+c], col[c])
						}
					}
				}
			}
		}
		if split.name == "train" && crowds == 0 {
			t.Errorf("no crowd region in %d training images", split.n)
		}
	}
}

func TestDeterministic(t *testing.T) {
	read := func(dir string) []byte {
		var all []byte
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				all = append(append(all, rel...), b...)
			}
			return nil
		})
		return all
	}
	a := read(generate(t, Options{Task: "det", Num: 4, Size: 96, Seed: 1}))
	b := read(generate(t, Options{Task: "det", Num: 4, Size: 96, Seed: 1}))
	c := read(generate(t, Options{Task: "det", Num: 4, Size: 96, Seed: 2}))
	if !bytes.Equal(a, b) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same files")
	}
}

func TestVOCLayout(t *testing.T) {
	out := generate(t, Options{Task: "det", Format: "voc", Num: 8, Size: 128, Seed: 5})
	d, err := voc.Open(voc.Options{DataRoot: out, AnnFiles: []string{"VOC2007/ImageSets/Main/trainval.txt"}, Classes: Classes})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 {
		t.Fatalf("%d images, want 8 + 2", d.Len())
	}
	for i := 0; i < d.Len(); i++ {
		s, err := d.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		load(t, s, false)
		for _, b := range s.Boxes {
			if b[0] < 0 || b[1] < 0 || b[2] > float32(s.Image.W) || b[3] > float32(s.Image.H) || b[2] <= b[0] {
				t.Errorf("%s: box %v", s.Meta.File, b)
			}
		}
	}
}

func TestSegLayout(t *testing.T) {
	out := generate(t, Options{Task: "seg", Num: 4, Size: 128, Seed: 7})
	opt := seg.ADE20K(filepath.Join(out, "ADEChallengeData2016"), "training")
	opt.Classes = SegClasses
	d, err := seg.Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 {
		t.Fatalf("%d samples", d.Len())
	}
	for i := 0; i < d.Len(); i++ {
		s, _ := d.Get(i)
		load(t, s, true)
		var count [256]int
		for _, v := range s.SegMap.Pix {
			count[v]++
		}
		objects := 0
		for c := 1; c < len(SegClasses); c++ {
			objects += count[c]
		}
		if count[0] == 0 || objects == 0 || count[0]+objects != len(s.SegMap.Pix) {
			t.Errorf("%s: label counts %v", s.Meta.SegFile, count[:6])
		}
	}
}

func TestClsLayout(t *testing.T) {
	out := generate(t, Options{Task: "cls", Num: 3, Size: 64, Seed: 9})
	d, err := imagenet.OpenFolder(imagenet.FolderOptions{Root: filepath.Join(out, "train")})
	if err != nil {
		t.Fatal(err)
	}
	// Folders sort alphabetically: circle, diamond, square, triangle.
	if d.Len() != 12 || !slices.Equal(d.Classes(), []string{"circle", "diamond", "square", "triangle"}) {
		t.Fatalf("%d images, classes %v", d.Len(), d.Classes())
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct {
		opt Options
		msg string
	}{
		{Options{Task: "pose", Out: "x"}, `synth: task "pose", want det, seg or cls`},
		{Options{Task: "det", Format: "yolo", Out: "x"}, `synth: format "yolo", want coco or voc`},
		{Options{Task: "det", Size: 32, Out: "x"}, "synth: size 32, want at least 64"},
	} {
		if err := Generate(c.opt); err == nil || err.Error() != c.msg {
			t.Errorf("%+v: %v, want %s", c.opt, err, c.msg)
		}
	}
}
