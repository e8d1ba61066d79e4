package imagenet

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/transforms"
	"github.com/densepred/dp/tensor"
)

// makeFolder writes classes × perClass PNGs whose single colour encodes
// class and index: R = 10·class, G = index.
func makeFolder(t *testing.T, classes []string, perClass int) string {
	root := t.TempDir()
	for c, name := range classes {
		os.MkdirAll(filepath.Join(root, name), 0o755)
		for i := 0; i < perClass; i++ {
			m := image.NewNRGBA(image.Rect(0, 0, 3, 2))
			for p := 0; p < 6; p++ {
				m.Set(p%3, p/3, color.NRGBA{uint8(10 * c), uint8(i), 7, 255})
			}
			f, _ := os.Create(filepath.Join(root, name, fmt.Sprintf("img_%d.png", i)))
			png.Encode(f, m)
			f.Close()
		}
	}
	os.WriteFile(filepath.Join(root, "n01", "notes.txt"), []byte("not an image"), 0o644)
	return root
}

func decode(t *testing.T, s *datasets.Sample) [3]uint8 {
	t.Helper()
	li, _ := transforms.Build("LoadImage", nil)
	if err := li.Apply(s, tensor.NewRNG(0)); err != nil {
		t.Fatal(err)
	}
	return [3]uint8{s.Image.Pix[0], s.Image.Pix[1], s.Image.Pix[2]}
}

func TestFolder(t *testing.T) {
	// Folders sort as n01 < n02 < n10 whatever the creation order.
	root := makeFolder(t, []string{"n10", "n01", "n02"}, 2)
	d, err := OpenFolder(FolderOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes(), []string{"n01", "n02", "n10"}) || d.Len() != 6 {
		t.Fatalf("classes %v, %d images", d.Classes(), d.Len())
	}
	s, _ := d.Get(5) // n10/img_1.png: written as class 0 of the list
	if s.Label != 2 || decode(t, s) != [3]uint8{0, 1, 7} {
		t.Errorf("record 5: label %d", s.Label)
	}
	// A class map sets the order.
	cm := filepath.Join(t.TempDir(), "map.txt")
	os.WriteFile(cm, []byte("n10\nn02\nn01\n"), 0o644)
	d, _ = OpenFolder(FolderOptions{Root: root, ClassMap: cm})
	if s, _ := d.Get(0); s.Label != 2 || !strings.HasSuffix(s.Meta.File, "n01/img_0.png") {
		t.Errorf("class map: %d %s", s.Label, s.Meta.File)
	}
	// An annotation file gives the labels.
	ann := filepath.Join(t.TempDir(), "train.txt")
	os.WriteFile(ann, []byte("n02/img_1.png 4\nn01/img_0.png 0\n"), 0o644)
	d, _ = OpenFolder(FolderOptions{Root: root, AnnFile: ann})
	if d.Len() != 2 || len(d.Classes()) != 5 {
		t.Errorf("ann file: %d images %d classes", d.Len(), len(d.Classes()))
	}
	os.WriteFile(ann, []byte("n02/img_1.png\n"), 0o644)
	if _, err := OpenFolder(FolderOptions{Root: root, AnnFile: ann}); err == nil ||
		err.Error() != "imagenet: "+ann+": line 1: \"n02/img_1.png\", want \"relative/path label\" with a label >= 0" {
		t.Errorf("bad ann line: %v", err)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	root := makeFolder(t, []string{"n01", "n02", "n03"}, 3)
	src, _ := OpenFolder(FolderOptions{Root: root})
	out := t.TempDir()
	paths, err := WriteParquet(src, out, WriteOptions{Prefix: "train", RowsPerShard: 4, RowsPerGroup: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"train-00000-of-00003.parquet", "train-00001-of-00003.parquet", "train-00002-of-00003.parquet"}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("shard %d: %s, want %s", i, p, want[i])
		}
	}
	d, err := OpenParquet(ParquetOptions{Files: []string{filepath.Join(out, "train-*.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Len() != 9 || len(d.Classes()) != 3 {
		t.Fatalf("%d rows, %d classes", d.Len(), len(d.Classes()))
	}
	for i := d.Len() - 1; i >= 0; i-- { // backwards: random access across shards
		s, err := d.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label != i/3 || decode(t, s) != [3]uint8{uint8(10 * (i / 3)), uint8(i % 3), 7} {
			t.Errorf("row %d: label %d pixel %v", i, s.Label, s.Image.Pix[:3])
		}
		if wantFile := fmt.Sprintf("%s[row %d] img_%d.png", paths[i/4], i%4, i%3); s.Meta.File != wantFile {
			t.Errorf("row %d: file %q, want %q", i, s.Meta.File, wantFile)
		}
	}
	// Concurrent reads through the loader's workers.
	li, _ := transforms.Build("LoadImage", nil)
	opt := datasets.DefaultLoaderOptions()
	opt.NumWorkers, opt.BatchSize = 3, 2
	l, _ := datasets.NewLoader(d, li, opt)
	var labels []int
	for b, err := range l.Batches(0) {
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, b.Labels...)
	}
	if !slices.Equal(labels, []int{0, 0, 0, 1, 1, 1, 2, 2, 2}) {
		t.Errorf("loader labels %v", labels)
	}
}

// hubRow is the schema dataset hubs write: every field nullable.
type hubRow struct {
	Image *struct {
		Bytes []byte  `parquet:"bytes,optional"`
		Path  *string `parquet:"path,optional"`
	} `parquet:"image,optional"`
	Label *int64 `parquet:"label,optional"`
}

func TestParquetHubSchemaAndErrors(t *testing.T) {
	dir := t.TempDir()
	root := makeFolder(t, []string{"n01"}, 1)
	data, _ := os.ReadFile(filepath.Join(root, "n01", "img_0.png"))
	hub := filepath.Join(dir, "a-00000.parquet")
	f, _ := os.Create(hub)
	w := parquet.NewGenericWriter[hubRow](f)
	p, l := "x.png", int64(3)
	w.Write([]hubRow{{Image: &struct {
		Bytes []byte  `parquet:"bytes,optional"`
		Path  *string `parquet:"path,optional"`
	}{data, &p}, Label: &l}})
	w.Close()
	f.Close()
	bad := filepath.Join(dir, "b-00000.parquet")
	os.WriteFile(bad, []byte("PAR1 this is not a parquet file PAR1"), 0o644)
	cut := filepath.Join(dir, "c-00000.parquet")
	whole, _ := os.ReadFile(hub)
	os.WriteFile(cut, whole[:len(whole)/2], 0o644)
	for _, c := range []struct{ file, msg string }{
		// The bytes before the trailing PAR1, "ile ", read as the footer length.
		{bad, "imagenet: " + bad + ": truncated or corrupt Parquet file: footer of 543517801 bytes in a 36-byte file"},
		{cut, "imagenet: " + cut + ": truncated Parquet file: it does not end with PAR1"},
		{filepath.Join(root, "n01", "img_0.png"), "imagenet: " + filepath.Join(root, "n01", "img_0.png") + ": not a Parquet file: it does not start with PAR1"},
	} {
		_, err := OpenParquet(ParquetOptions{Files: []string{c.file}})
		if err == nil || err.Error() != c.msg {
			t.Errorf("%s:\n got %v\nwant %s", c.file, err, c.msg)
		}
	}

	d, err := OpenParquet(ParquetOptions{Files: []string{hub}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Label != 3 || decode(t, s) != [3]uint8{0, 0, 7} {
		t.Errorf("hub row: label %d", s.Label)
	}
	d.Close()

	_, err = OpenParquet(ParquetOptions{Files: []string{filepath.Join(dir, "*.parquet")}})
	var fe *datasets.FormatError
	if err == nil || !strings.HasPrefix(err.Error(), "imagenet: "+bad+": truncated or corrupt") {
		t.Errorf("unreadable shard: %v", err)
	} else if !errors.As(err, &fe) || fe.File != bad {
		t.Errorf("unreadable shard: %#v", err)
	}
	var logged []string
	d, err = OpenParquet(ParquetOptions{Files: []string{filepath.Join(dir, "*.parquet")}, SkipInvalid: true,
		Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	if err != nil || d.Len() != 1 || len(logged) != 2 || !strings.HasPrefix(logged[0], "imagenet: skipping shard: imagenet: "+bad) {
		t.Errorf("skip_invalid: %v, %d rows, log %q", err, d.Len(), logged)
	}
}
