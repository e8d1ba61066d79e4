package imagenet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/parquet-go/parquet-go"

	"github.com/densepred/dp/datasets"
)

// Row is one row of a Parquet shard in the dataset-hub layout.
type Row struct {
	Image ImageCell `parquet:"image"`
	Label int64     `parquet:"label"`
}

// ImageCell is the image struct column: the encoded file and its name.
type ImageCell struct {
	Bytes []byte `parquet:"bytes,optional"`
	Path  string `parquet:"path,optional"`
}

// ParquetOptions configure a Parquet-shard dataset.
type ParquetOptions struct {
	// Files are shard paths or glob patterns, such as
	// "data/train-*.parquet"; matches are read in sorted order. Required.
	Files []string `yaml:"files"`
	// Classes are the class names; default "0", "1", ... up to the
	// largest label.
	Classes []string `yaml:"classes"`
	// SkipInvalid logs and skips a shard that cannot be opened instead of
	// failing. Default false.
	SkipInvalid bool `yaml:"skip_invalid"`
	// Logf receives skipped shards. Default log.Printf.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Parquet is an opened set of Parquet shards. Get is safe for concurrent
// use: each call reads through its own reader.
type Parquet struct {
	classes []string
	shards  []shard
	starts  []int // starts[k] is the global index of shard k's first row
	n       int
}

type shard struct {
	path string
	os   *os.File
	pf   *parquet.File
}

// OpenParquet opens the shards and checks their schema. A file that is not
// Parquet or lacks the image.bytes or label columns is an error naming it.
func OpenParquet(opt ParquetOptions) (*Parquet, error) {
	logf := opt.Logf
	if logf == nil {
		logf = log.Printf
	}
	var paths []string
	for _, f := range opt.Files {
		m, err := filepath.Glob(f)
		if err != nil {
			return nil, fmt.Errorf("imagenet: bad shard pattern %q: %v", f, err)
		}
		if m == nil {
			return nil, &datasets.FormatError{Pkg: "imagenet", File: f, Msg: "no shard matches"}
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	d := &Parquet{}
	maxLabel := int64(-1)
	for _, p := range paths {
		s, labelMax, err := openShard(p)
		if err != nil {
			if opt.SkipInvalid {
				logf("imagenet: skipping shard: %v", err)
				continue
			}
			d.Close()
			return nil, err
		}
		maxLabel = max(maxLabel, labelMax)
		d.shards = append(d.shards, s)
		d.starts = append(d.starts, d.n)
		d.n += int(s.pf.NumRows())
	}
	d.classes = opt.Classes
	if d.classes == nil {
		for k := int64(0); k <= maxLabel; k++ {
			d.classes = append(d.classes, fmt.Sprint(k))
		}
	}
	return d, nil
}

// openShard opens one shard and returns the largest label in it (the label
// column is read in full: one int64 per row).
func openShard(path string) (shard, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return shard{}, 0, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "cannot open shard", Err: errors.Unwrap(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return shard{}, 0, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "cannot open shard", Err: err}
	}
	if err := checkFrame(f, st.Size()); err != nil {
		f.Close()
		return shard{}, 0, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: err.Error()}
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		f.Close()
		return shard{}, 0, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "not a readable Parquet file", Err: err}
	}
	for _, col := range [][]string{{"image", "bytes"}, {"label"}} {
		if _, ok := pf.Schema().Lookup(col...); !ok {
			f.Close()
			return shard{}, 0, datasets.Errorf("imagenet", path, "", "no %q column; want image: {bytes, path} and label", col)
		}
	}
	labels, err := readLabels(pf)
	if err != nil {
		f.Close()
		return shard{}, 0, &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "cannot read labels", Err: err}
	}
	m := int64(-1)
	for _, l := range labels {
		m = max(m, l)
	}
	return shard{path: path, os: f, pf: pf}, m, nil
}

// Parquet file framing (Apache Parquet format, "File format"): the magic
// "PAR1" at both ends, and before the trailing one the footer (file
// metadata) length as a 4-byte little-endian integer.
const (
	parquetMagic = "PAR1"
	frameSize    = 4 + 4 + 4 // leading magic, footer length, trailing magic
)

// checkFrame checks a shard's framing, so a truncated or foreign file gets
// a plain message instead of a decoder's.
func checkFrame(r io.ReaderAt, size int64) error {
	if size < frameSize {
		return fmt.Errorf("not a Parquet file: %d bytes, shorter than the format's framing", size)
	}
	var head, tail [4]byte
	var foot [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("cannot read: %v", err)
	}
	if _, err := r.ReadAt(foot[:], size-8); err != nil {
		return fmt.Errorf("cannot read: %v", err)
	}
	copy(tail[:], foot[4:])
	if string(head[:]) != parquetMagic {
		return errors.New("not a Parquet file: it does not start with PAR1")
	}
	if string(tail[:]) != parquetMagic {
		return errors.New("truncated Parquet file: it does not end with PAR1")
	}
	if n := int64(binary.LittleEndian.Uint32(foot[:4])); n > size-frameSize {
		return fmt.Errorf("truncated or corrupt Parquet file: footer of %d bytes in a %d-byte file", n, size)
	}
	return nil
}

// readLabels reads the label column alone.
func readLabels(pf *parquet.File) (labels []int64, err error) {
	defer func() {
		if r := recover(); r != nil { // parquet-go panics on some corrupt pages
			err = fmt.Errorf("%v", r)
		}
	}()
	type labelOnly struct {
		Label int64 `parquet:"label"`
	}
	r := parquet.NewGenericReader[labelOnly](pf)
	defer r.Close()
	buf := make([]labelOnly, 256)
	for {
		n, err := r.Read(buf)
		for _, v := range buf[:n] {
			labels = append(labels, v.Label)
		}
		if err == io.EOF {
			return labels, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Close closes the shard files.
func (d *Parquet) Close() error {
	var first error
	for _, s := range d.shards {
		if err := s.os.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Len returns the number of rows over all shards.
func (d *Parquet) Len() int { return d.n }

// Classes returns the class names.
func (d *Parquet) Classes() []string { return d.classes }

// Get reads row i: the encoded image goes to Sample.Encoded for LoadImage;
// Meta.File names the shard, the row and the stored path.
func (d *Parquet) Get(i int) (s *datasets.Sample, err error) {
	k := sort.Search(len(d.starts), func(k int) bool { return d.starts[k] > i }) - 1
	sh := d.shards[k]
	row := i - d.starts[k]
	where := fmt.Sprintf("row %d", row)
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, datasets.Errorf("imagenet", sh.path, where, "corrupt row: %v", r)
		}
	}()
	r := parquet.NewGenericReader[Row](sh.pf)
	defer r.Close()
	if err := r.SeekToRow(int64(row)); err != nil {
		return nil, &datasets.FormatError{Pkg: "imagenet", File: sh.path, Record: where, Msg: "cannot seek", Err: err}
	}
	buf := make([]Row, 1)
	if n, err := r.Read(buf); n != 1 {
		return nil, &datasets.FormatError{Pkg: "imagenet", File: sh.path, Record: where, Msg: "cannot read row", Err: err}
	}
	row0 := buf[0]
	if len(row0.Image.Bytes) == 0 {
		return nil, datasets.Errorf("imagenet", sh.path, where, "image.bytes is empty")
	}
	if row0.Label < 0 || int(row0.Label) >= len(d.classes) {
		return nil, datasets.Errorf("imagenet", sh.path, where, "label %d outside 0..%d", row0.Label, len(d.classes)-1)
	}
	return &datasets.Sample{
		Encoded: row0.Image.Bytes,
		Label:   int(row0.Label),
		Meta:    datasets.Meta{Index: i, File: fmt.Sprintf("%s[%s] %s", sh.path, where, row0.Image.Path), ScaleFactor: [2]float64{1, 1}},
	}, nil
}

// WriteOptions configure WriteParquet.
type WriteOptions struct {
	// Prefix starts each shard name, usually the split. Default "train".
	Prefix string
	// RowsPerShard bounds a shard's rows. Default 1000.
	RowsPerShard int
	// RowsPerGroup bounds a row group's rows, which bounds what a random
	// read decodes. Default 64.
	RowsPerGroup int
}

// WriteParquet writes the images of a class-folder dataset into shards
// named Prefix-00000-of-0000N.parquet in dir, in dataset order, and returns
// their paths. The image bytes are copied unchanged. Each shard is written
// to a temporary file and renamed, so no half-written shard is left.
func WriteParquet(src *Folder, dir string, opt WriteOptions) ([]string, error) {
	if opt.Prefix == "" {
		opt.Prefix = "train"
	}
	if opt.RowsPerShard <= 0 {
		opt.RowsPerShard = 1000
	}
	if opt.RowsPerGroup <= 0 {
		opt.RowsPerGroup = 64
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("imagenet: %v", err)
	}
	n := src.Len()
	shards := max((n+opt.RowsPerShard-1)/opt.RowsPerShard, 1)
	var out []string
	for k := 0; k < shards; k++ {
		name := filepath.Join(dir, fmt.Sprintf("%s-%05d-of-%05d.parquet", opt.Prefix, k, shards))
		lo, hi := k*opt.RowsPerShard, min((k+1)*opt.RowsPerShard, n)
		if err := writeShard(src, name, lo, hi, opt.RowsPerGroup); err != nil {
			return out, err
		}
		out = append(out, name)
	}
	return out, nil
}

func writeShard(src *Folder, name string, lo, hi, perGroup int) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".shard-*")
	if err != nil {
		return fmt.Errorf("imagenet: %v", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := parquet.NewGenericWriter[Row](tmp, parquet.MaxRowsPerRowGroup(int64(perGroup)), parquet.Compression(&parquet.Uncompressed))
	for i := lo; i < hi; i++ {
		path, label := src.File(i)
		data, err := os.ReadFile(path)
		if err != nil {
			return &datasets.FormatError{Pkg: "imagenet", File: path, Msg: "cannot read image", Err: errors.Unwrap(err)}
		}
		rel := filepath.Base(path)
		if _, err := w.Write([]Row{{Image: ImageCell{Bytes: data, Path: rel}, Label: int64(label)}}); err != nil {
			return fmt.Errorf("imagenet: writing %s: %v", name, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("imagenet: writing %s: %v", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("imagenet: writing %s: %v", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("imagenet: %v", err)
	}
	return nil
}
