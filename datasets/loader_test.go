package datasets

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/tensor"
)

// fakeDataset yields images of the given sizes whose pixels hold the
// record index; records listed in bad fail.
type fakeDataset struct {
	sizes [][2]int // (w, h)
	bad   map[int]bool
}

func (d *fakeDataset) Len() int                   { return len(d.sizes) }
func (d *fakeDataset) Classes() []string          { return []string{"a"} }
func (d *fakeDataset) ImageSize(i int) (int, int) { return d.sizes[i][0], d.sizes[i][1] }
func (d *fakeDataset) Get(i int) (*Sample, error) {
	if d.bad[i] {
		return nil, Errorf("fake", fmt.Sprintf("img%d.png", i), fmt.Sprintf("record %d", i), "broken on purpose")
	}
	w, h := d.sizes[i][0], d.sizes[i][1]
	img := NewImage(w, h)
	for k := range img.Pix {
		img.Pix[k] = uint8(i)
	}
	seg := NewPlane(w, h)
	return &Sample{Image: img, SegMap: seg, Label: i, Meta: Meta{Index: i}}, nil
}

// recordDraw stores one random draw per sample, so tests can check that
// augmentation depends on seed, epoch and index only.
type recordDraw struct{}

func (r *recordDraw) Apply(s *Sample, rng *tensor.RNG) error {
	s.Boxes = [][4]float32{{float32(rng.Float64()), 0, 0, 0}}
	return nil
}

func sizes(n int) [][2]int {
	s := make([][2]int, n)
	for i := range s {
		s[i] = [2]int{8 + i%3, 6 + i%5} // mixed portrait and landscape
	}
	return s
}

func collect(t *testing.T, l *Loader, epoch int) ([][]int, []float32) {
	t.Helper()
	var idx [][]int
	var draws []float32
	for b, err := range l.Batches(epoch) {
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, b.Indices)
		for _, s := range b.Samples {
			draws = append(draws, s.Boxes[0][0])
		}
	}
	return idx, draws
}

func TestLoaderOrderAndDeterminism(t *testing.T) {
	ds := &fakeDataset{sizes: sizes(23)}
	opt := DefaultLoaderOptions()
	opt.BatchSize, opt.NumWorkers, opt.Shuffle, opt.Seed = 4, 3, true, 7
	l, err := NewLoader(ds, &recordDraw{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	idx0, draws0 := collect(t, l, 0)
	if len(idx0) != 6 || len(idx0[5]) != 3 {
		t.Fatalf("batches %v, want 5 of 4 and one of 3", idx0)
	}
	// Output follows the plan exactly, whatever the worker timing.
	if plan := l.Plan(0); !slices.EqualFunc(plan, idx0, slices.Equal) {
		t.Errorf("batches %v differ from plan %v", idx0, plan)
	}
	var all []int
	for _, b := range idx0 {
		all = append(all, b...)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("epoch visits %v, want each record once", all)
		}
	}
	// The same epoch with one worker repeats, draws included.
	opt1 := opt
	opt1.NumWorkers = 1
	l1, _ := NewLoader(ds, &recordDraw{}, opt1)
	idx1, draws1 := collect(t, l1, 0)
	if !slices.EqualFunc(idx0, idx1, slices.Equal) || !slices.Equal(draws0, draws1) {
		t.Errorf("one worker: %v %v, three: %v %v", idx1, draws1, idx0, draws0)
	}
	// The next epoch is shuffled differently.
	idxE, _ := collect(t, l, 1)
	if slices.EqualFunc(idx0, idxE, slices.Equal) {
		t.Error("epochs 0 and 1 have the same order")
	}
	// drop_last drops the short batch.
	opt.DropLast = true
	l2, _ := NewLoader(ds, nil, opt)
	if plan := l2.Plan(0); len(plan) != 5 || l2.Len() != 5 {
		t.Errorf("drop_last: %d batches (Len %d), want 5", len(plan), l2.Len())
	}
}

func TestAspectRatioGrouping(t *testing.T) {
	ds := &fakeDataset{sizes: sizes(20)}
	opt := DefaultLoaderOptions()
	opt.BatchSize, opt.AspectRatioGrouping, opt.Shuffle, opt.Seed = 3, true, true, 1
	l, err := NewLoader(ds, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	plan := l.Plan(0)
	seen := 0
	for k, b := range plan {
		seen += len(b)
		portrait := 0
		for _, i := range b {
			if w, h := ds.ImageSize(i); w < h {
				portrait++
			}
		}
		// Full buckets are pure; only the leftovers batched at the end may mix.
		if k < len(plan)-2 && portrait != 0 && portrait != len(b) {
			t.Errorf("batch %d %v mixes orientations", k, b)
		}
	}
	if seen != 20 {
		t.Errorf("plan covers %d records, want 20", seen)
	}
	if _, err := NewLoader(&struct{ Dataset }{ds}, nil, opt); err == nil {
		t.Error("grouping without image sizes accepted")
	}
}

func TestLoaderInvalidRecords(t *testing.T) {
	ds := &fakeDataset{sizes: sizes(10), bad: map[int]bool{5: true}}
	opt := DefaultLoaderOptions()
	opt.BatchSize = 4
	l, _ := NewLoader(ds, nil, opt)
	var got []int
	var gotErr error
	for b, err := range l.Batches(0) {
		if err != nil {
			gotErr = err
			break
		}
		got = append(got, b.Indices...)
	}
	want := "datasets: record 5: fake: img5.png: record 5: broken on purpose"
	if gotErr == nil || gotErr.Error() != want {
		t.Errorf("error %v, want %q", gotErr, want)
	}
	var fe *FormatError
	if !errors.As(gotErr, &fe) || fe.File != "img5.png" {
		t.Errorf("error does not carry the file: %#v", gotErr)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("before the error: %v, want the first batch", got)
	}

	opt.SkipInvalid = true
	l, _ = NewLoader(ds, nil, opt)
	var logged []string
	l.SetLogf(func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	got = nil
	for b, err := range l.Batches(0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Indices...)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 6, 7, 8, 9}) {
		t.Errorf("skip_invalid: records %v", got)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "skipping record 5: fake: img5.png: record 5: broken on purpose") {
		t.Errorf("log %q", logged)
	}
}

func TestLoaderBreakStopsWorkers(t *testing.T) {
	ds := &fakeDataset{sizes: sizes(100)}
	opt := DefaultLoaderOptions()
	l, _ := NewLoader(ds, nil, opt)
	n := 0
	for range l.Batches(0) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("%d batches", n)
	}
}

func TestCollate(t *testing.T) {
	a := &Sample{Image: NewImage(3, 2), SegMap: NewPlane(3, 2), Label: 4}
	for i := range a.Image.Pix {
		a.Image.Pix[i] = uint8(i)
	}
	a.SegMap.Pix[5] = 7
	b := &Sample{Input: tensor.Full(-1, 3, 1, 4), Label: 9}
	opt := LoaderOptions{PadSizeDivisor: 4, PadValue: 0.5, SegPadValue: 255}
	bt, err := Collate([]*Sample{a, b}, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Height max(2, 1) = 2 → 4; width max(3, 4) = 4.
	if sh := bt.Inputs.Shape(); !slices.Equal(sh, []int{2, 3, 4, 4}) {
		t.Fatalf("shape %v, want [2 3 4 4]", sh)
	}
	in := bt.Inputs
	checks := []struct {
		idx  []int
		want float32
	}{
		{[]int{0, 0, 0, 0}, 0}, {[]int{0, 1, 0, 0}, 1}, {[]int{0, 2, 1, 2}, 17}, // pixel (2,1) blue = 3*5+2
		{[]int{0, 0, 0, 3}, 0.5}, {[]int{0, 0, 2, 0}, 0.5}, // padding
		{[]int{1, 2, 0, 3}, -1}, {[]int{1, 0, 1, 0}, 0.5},
	}
	for _, c := range checks {
		if got := in.At(c.idx...); got != c.want {
			t.Errorf("Inputs%v = %v, want %v", c.idx, got, c.want)
		}
	}
	if bt.SegMaps[1*4+2] != 7 || bt.SegMaps[3] != 255 || bt.SegMaps[16] != 255 {
		t.Errorf("seg maps %v", bt.SegMaps)
	}
	if !slices.Equal(bt.Labels, []int{4, 9}) {
		t.Errorf("labels %v", bt.Labels)
	}
	// With mean and std the 8-bit image is normalised; the normalised
	// input is copied as it is.
	a.Image = NewImage(3, 2)
	a.Image.Pix[3*4+1] = 200 // pixel (1, 1), green
	b.Input = tensor.Full(-1, 3, 1, 4)
	opt.Mean, opt.Std = []float32{10, 20, 30}, []float32{1, 2, 4}
	bt, _ = Collate([]*Sample{a, b}, opt)
	for _, c := range []struct {
		idx  []int
		want float32
	}{{[]int{0, 1, 1, 1}, 90}, {[]int{0, 0, 0, 0}, -10}, {[]int{0, 2, 0, 0}, -7.5}, {[]int{0, 0, 3, 3}, 0.5}, {[]int{1, 2, 0, 3}, -1}} {
		if got := bt.Inputs.At(c.idx...); got != c.want {
			t.Errorf("normalised Inputs%v = %v, want %v", c.idx, got, c.want)
		}
	}
}
