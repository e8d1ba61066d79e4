package coco

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/densepred/dp/eval/mask"
)

func TestLinspace(t *testing.T) {
	// repr() of np.linspace(.5, 0.95, 10) (numpy 1.24, printed by
	// tools/reference/eval_numpy_values.py): i*step + start,
	// so the ninth value is not the double nearest 0.9.
	want := []float64{0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95}
	got := Linspace(.5, .95, 10)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Linspace(.5, .95, 10)[%d] = %.17g, want %.17g", i, got[i], want[i])
		}
	}
	r := Linspace(0, 1, 101)
	for i, v := range r[:100] {
		if v != float64(i)*0.01 {
			t.Errorf("Linspace(0, 1, 101)[%d] = %.17g, want %.17g", i, v, float64(i)*0.01)
		}
	}
	if r[100] != 1 {
		t.Errorf("last = %v, want 1", r[100])
	}
}

func TestNpMean(t *testing.T) {
	// np.mean(np.full(n, 0.1)) (numpy 1.24, printed by
	// tools/reference/eval_numpy_values.py) for sizes that reach each
	// branch of the pairwise sum and the 8192-element blocks; plain
	// left-to-right summation gives 0.09999999999999999,
	// 0.10000000000000002, 0.09999999999999981, 0.09999999999999977,
	// 0.09999999999999859, 0.10000000000001437 and 0.09999999999996383.
	for _, tc := range []struct {
		n    int
		want float64
	}{
		{9, 0.1},
		{17, 0.1},
		{100, 0.09999999999999998},
		{129, 0.09999999999999999},
		{1000, 0.10000000000000002},
		{8193, 0.10000000000000002},
		{20000, 0.10000000000000002},
	} {
		x := make([]float64, tc.n)
		for i := range x {
			x[i] = 0.1
		}
		if got := npMean(x); got != tc.want {
			t.Errorf("npMean(0.1 × %d) = %.17g, want %.17g", tc.n, got, tc.want)
		}
	}
}

// tiny builds a one-image dataset from annotations given as JSON.
func tiny(t *testing.T, anns string) *Dataset {
	t.Helper()
	src := `{"images":[{"id":1,"width":100,"height":100}],"categories":[{"id":1,"name":"a"},{"id":2,"name":"b"}],"annotations":[` + anns + `]}`
	d, err := ReadDataset(strings.NewReader(src), "tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func evalBBox(t *testing.T, gt *Dataset, results string) *Eval {
	t.Helper()
	dt, err := gt.ReadResults(strings.NewReader(results), "dt.json")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEval(gt, dt, DefaultParams(BBox))
	if err := e.Evaluate(); err != nil {
		t.Fatal(err)
	}
	e.Accumulate()
	e.Summarize()
	return e
}

func TestPerfectDetections(t *testing.T) {
	// mmdet's CocoMetric test in spirit: perfect boxes give AP = AR = 1
	// wherever there is ground truth, -1 for area ranges without any. The
	// precision is 1/(1+eps) as pycocotools computes it, so AP is 1 only
	// to within 1e-15.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[10,10,20,20],"area":400,"iscrowd":0},
		{"id":2,"image_id":1,"category_id":2,"bbox":[0,0,60,60],"area":3600,"iscrowd":0}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[10,10,20,20],"score":0.9},
		{"image_id":1,"category_id":2,"bbox":[0,0,60,60],"score":0.8}]`)
	want := []float64{1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1, -1}
	for i := range want {
		if math.Abs(e.Stats[i]-want[i]) > 1e-15 {
			t.Errorf("stats[%d] = %v, want %v", i, e.Stats[i], want[i])
		}
	}
}

func TestIgnoreFieldOverwrittenByIsCrowd(t *testing.T) {
	// pycocotools' _prepare sets ignore = iscrowd: an "ignore": 1 ground
	// truth that is not a crowd still counts, so a missed one halves recall.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[10,10,20,20],"area":400,"iscrowd":0},
		{"id":2,"image_id":1,"category_id":1,"bbox":[50,50,20,20],"area":400,"iscrowd":0,"ignore":1}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[10,10,20,20],"score":0.9}]`)
	if got := e.RecallAt(0, 0, 0, 2); got != 0.5 {
		t.Errorf("recall = %v, want 0.5: the ignore field must have no effect", got)
	}
}

func TestCrowdMatching(t *testing.T) {
	// A crowd region is ignored and absorbs any number of detections inside
	// it (IoU over the detection's area); the real object is still found.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,50,50],"area":2500,"iscrowd":1},
		{"id":2,"image_id":1,"category_id":1,"bbox":[60,60,20,20],"area":400,"iscrowd":0}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[5,5,10,10],"score":0.9},
		{"image_id":1,"category_id":1,"bbox":[20,20,10,10],"score":0.8},
		{"image_id":1,"category_id":1,"bbox":[60,60,20,20],"score":0.7}]`)
	// Both crowd hits are ignored: precision 1 at every recall.
	if got := e.At(0, 0, 0, 0, 2); got != 1/(1+eps) {
		t.Errorf("precision = %v, want 1/(1+eps)", got)
	}
	if math.Abs(e.Stats[0]-1) > 1e-15 {
		t.Errorf("AP = %v, want 1", e.Stats[0])
	}
}

func TestAreaRangeUsesAnnotationArea(t *testing.T) {
	// The box is 40×40 (medium) but the annotation's area field says 100
	// (small): COCOeval files it under small, also in bbox evaluation.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,40,40],"area":100,"iscrowd":0}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[0,0,40,40],"score":0.9}]`)
	if math.Abs(e.Stats[3]-1) > 1e-15 || e.Stats[4] != -1 {
		t.Errorf("APsmall, APmedium = %v, %v; want 1, -1", e.Stats[3], e.Stats[4])
	}
}

func TestScoreTiesKeepFileOrder(t *testing.T) {
	// Two detections with equal scores, one false positive first in the
	// file: with a stable sort the false positive ranks first, so the
	// precision at recall 1 is 1/2, not 1.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,40,40],"area":1600,"iscrowd":0}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[50,50,40,40],"score":0.5},
		{"image_id":1,"category_id":1,"bbox":[0,0,40,40],"score":0.5}]`)
	if got := e.At(0, 100, 0, 0, 2); math.Abs(got-0.5) > 1e-15 {
		t.Errorf("precision at recall 1 = %v, want 0.5", got)
	}
	// The reverse file order gives precision 1.
	e = evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[0,0,40,40],"score":0.5},
		{"image_id":1,"category_id":1,"bbox":[50,50,40,40],"score":0.5}]`)
	if got := e.At(0, 100, 0, 0, 2); got != 1/(1+eps) {
		t.Errorf("precision at recall 1 = %v, want 1/(1+eps)", got)
	}
}

func TestMaxDetsTruncation(t *testing.T) {
	// Two objects, the better-scored detection is a false positive: with
	// maxDets 1 only it is kept, so recall@1 is 0; AR10 sees the hit.
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,40,40],"area":1600,"iscrowd":0}`)
	e := evalBBox(t, gt, `[{"image_id":1,"category_id":1,"bbox":[50,50,40,40],"score":0.9},
		{"image_id":1,"category_id":1,"bbox":[0,0,40,40],"score":0.1}]`)
	if e.Stats[6] != 0 || e.Stats[7] != 1 {
		t.Errorf("AR1, AR10 = %v, %v; want 0, 1", e.Stats[6], e.Stats[7])
	}
}

func TestSummaryFormat(t *testing.T) {
	gt, err := LoadDataset(filepath.Join("testdata", "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	dt, err := gt.LoadResults(filepath.Join("testdata", "instances_val2014_fakebbox100_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEval(gt, dt, DefaultParams(BBox))
	if err := e.Evaluate(); err != nil {
		t.Fatal(err)
	}
	e.Accumulate()
	var buf bytes.Buffer
	if err := e.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	// cocoapi results/val2014_fake_eval_res.txt, with current pycocotools'
	// two spaces after "Precision".
	want := ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505
 Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.697
 Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.573
 Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.586
 Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.519
 Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.501
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.387
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.594
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.595
 Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.640
 Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.566
 Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.564
`
	if buf.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", buf.String(), want)
	}
	// Per-category AP: every category with ground truth has a number in
	// [0, 1]; the categories' mean is stats[0] up to rounding (each
	// category has the same T×R entries).
	var sum float64
	n := 0
	for _, c := range e.PerCategoryAP() {
		if math.IsNaN(c.AP) {
			continue
		}
		if c.AP < 0 || c.AP > 1 || c.Name == "" {
			t.Errorf("category %d %q: AP %v", c.ID, c.Name, c.AP)
		}
		sum += c.AP
		n++
	}
	if math.Abs(sum/float64(n)-e.Summarize()[0]) > 1e-12 {
		t.Errorf("mean per-category AP %v, stats[0] %v", sum/float64(n), e.Stats[0])
	}
}

func TestBadInput(t *testing.T) {
	gtJSON := `{"images":[{"id":1,"width":4,"height":4},{"id":2,"width":4,"height":4}],"categories":[{"id":1,"name":"a"}],"annotations":[]}`
	gt, err := ReadDataset(strings.NewReader(gtJSON), "gt.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, results string
		want          []string
	}{
		{"not a list", `{"image_id":1}`, []string{"dt.json", "not a JSON list"}},
		{"bbox length", `[{"image_id":1,"category_id":1,"bbox":[1,2,3,4],"score":1},{"image_id":1,"category_id":1,"bbox":[1,2,3],"score":1}]`,
			[]string{"dt.json", "result 1", "bbox has 3 numbers"}},
		{"unknown images", `[{"image_id":7,"category_id":1,"bbox":[1,2,3,4],"score":1},{"image_id":9,"category_id":1,"bbox":[1,2,3,4],"score":1}]`,
			[]string{"image ids [7 9]", "not in the ground truth"}},
		{"rle sum", `[{"image_id":2,"category_id":1,"segmentation":{"size":[4,4],"counts":"05"},"score":1}]`,
			[]string{"dt.json", "result 0", "sum to 5", "4×4"}},
		{"missing score", `[{"image_id":1,"category_id":1,"bbox":[1,2,3,4]}]`, []string{"result 0", "missing score"}},
		{"syntax", `[{"image_id":1,"category_id":1,"bbox":[1,2,3,4],"score":1},]`, []string{"result 1", "byte"}},
		{"number type", `[{"image_id":"1","category_id":1,"bbox":[1,2,3,4],"score":1}]`, []string{"result 0", "image_id", "want a number"}},
	} {
		_, err := gt.ReadResults(strings.NewReader(tc.results), "dt.json")
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "coco: ") {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
	var fe *FormatError
	_, err = gt.ReadResults(strings.NewReader(`[{"image_id":1,"category_id":1,"bbox":[1],"score":1}]`), "dt.json")
	if !errors.As(err, &fe) || fe.File != "dt.json" || fe.Record != "result 0" {
		t.Errorf("error %#v, want a *FormatError for dt.json result 0", err)
	}

	for _, tc := range []struct {
		name, gt string
		want     string
	}{
		{"gt not an object", `[1]`, "not a JSON object"},
		{"gt bbox", `{"annotations":[{"id":5,"image_id":1,"category_id":1,"area":1,"bbox":[1,2]}]}`, "annotations[0] (id 5): bbox has 2 numbers"},
		{"gt no area", `{"annotations":[{"id":5,"image_id":1,"category_id":1,"bbox":[1,2,3,4]}]}`, "missing area"},
		{"gt crowd rle", `{"annotations":[{"id":5,"image_id":1,"category_id":1,"area":1,"iscrowd":1,"segmentation":{"size":[2,2],"counts":[1,2]}}]}`, "sum to 3"},
	} {
		_, err := ReadDataset(strings.NewReader(tc.gt), "gt.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "gt.json") {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestResultsKinds(t *testing.T) {
	gtJSON := `{"images":[{"id":1,"width":4,"height":4}],"categories":[{"id":1,"name":"a"}],"annotations":[]}`
	gt, err := ReadDataset(strings.NewReader(gtJSON), "gt.json")
	if err != nil {
		t.Fatal(err)
	}
	// A mask-only result: area and bbox from the mask. "02>" holds the
	// counts 0, 2, 14: rows 0-1 of column 0.
	dt, err := gt.ReadResults(strings.NewReader(`[{"image_id":1,"category_id":1,"segmentation":{"size":[4,4],"counts":"02>"},"score":0.5}]`), "dt.json")
	if err != nil {
		t.Fatal(err)
	}
	if a := dt[0]; a.Area != 2 || a.BBox[0] != 0 || a.BBox[1] != 0 || a.BBox[2] != 1 || a.BBox[3] != 2 || a.ID != 1 || a.IsCrowd {
		t.Errorf("mask result = %+v, want area 2, bbox [0 0 1 2], id 1", a)
	}
	// A box result carrying a mask too: loadRes takes the area from the box.
	dt, err = gt.ReadResults(strings.NewReader(`[{"image_id":1,"category_id":1,"bbox":[0,0,3,3],"segmentation":{"size":[4,4],"counts":"02>"},"score":0.5}]`), "dt.json")
	if err != nil {
		t.Fatal(err)
	}
	if dt[0].Area != 9 {
		t.Errorf("box+mask result area = %v, want 9 (from the box)", dt[0].Area)
	}
	// Empty results evaluate (pycocotools raises).
	dt, err = gt.ReadResults(strings.NewReader(`[]`), "dt.json")
	if err != nil || len(dt) != 0 {
		t.Errorf("empty results: %v, %v", dt, err)
	}
}

func TestParamsQuirks(t *testing.T) {
	gt := tiny(t, `{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,40,40],"area":1600,"iscrowd":0},
		{"id":2,"image_id":1,"category_id":2,"bbox":[50,50,40,40],"area":1600,"iscrowd":0}`)
	dt, err := gt.ReadResults(strings.NewReader(`[{"image_id":1,"category_id":2,"bbox":[0,0,40,40],"score":0.9},
		{"image_id":1,"category_id":1,"bbox":[50,50,40,40],"score":0.8}]`), "dt.json")
	if err != nil {
		t.Fatal(err)
	}
	// stats[0] asks for maxDets=100 whatever MaxDets holds: without 100 it
	// is -1 (cocoapi #558), while AP50 uses MaxDets[2].
	p := DefaultParams(BBox)
	p.MaxDets = []int{1, 10, 50}
	e := NewEval(gt, dt, p)
	if err := e.Evaluate(); err != nil {
		t.Fatal(err)
	}
	e.Accumulate()
	if s := e.Summarize(); s[0] != -1 || s[1] != 0 {
		t.Errorf("stats[0], stats[1] = %v, %v; want -1, 0", s[0], s[1])
	}
	// Every detection has the wrong category; with UseCats false both
	// match, as in proposal recall.
	p = DefaultParams(BBox)
	p.UseCats = false
	e = NewEval(gt, dt, p)
	if err := e.Evaluate(); err != nil {
		t.Fatal(err)
	}
	e.Accumulate()
	if s := e.Summarize(); math.Abs(s[0]-1) > 1e-15 || s[8] != 1 {
		t.Errorf("UseCats=false: AP, AR100 = %v, %v; want 1, 1", s[0], s[8])
	}
	if _, _, K, _, _ := e.Dims(); K != 1 {
		t.Errorf("UseCats=false: K = %d, want 1", K)
	}
}

func TestDeterministicAcrossProcs(t *testing.T) {
	gt, err := LoadDataset(filepath.Join("testdata", "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	dt, err := gt.LoadResults(filepath.Join("testdata", "instances_val2014_fakesegm100_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(procs int) *Eval {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		e := NewEval(gt, dt, DefaultParams(Segm))
		if err := e.Evaluate(); err != nil {
			t.Fatal(err)
		}
		e.Accumulate()
		return e
	}
	a, b := run(1), run(4)
	for i := range a.Precision {
		if a.Precision[i] != b.Precision[i] || a.Scores[i] != b.Scores[i] {
			t.Fatalf("precision[%d] differs between 1 and 4 goroutines: %v, %v", i, a.Precision[i], b.Precision[i])
		}
	}
}

func TestSegmentationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Segmentation
	}{
		{`{"size": [2, 3], "counts": "1\u003c\\/\n\u00e9\ud83d\ude00"}`, Segmentation{Kind: SegCompressedRLE, Size: [2]int{2, 3}, CountsString: "1<\\/\n\u00e9\U0001F600"}},
		{`{"counts": [1, 2, 3], "size": [2, 3]}`, Segmentation{Kind: SegRLE, Size: [2]int{2, 3}, Counts: []uint32{1, 2, 3}}},
		{`[[1, 2.5, -3e2, 4], []]`, Segmentation{Kind: SegPolygons, Polygons: [][]float64{{1, 2.5, -300, 4}, {}}}},
		{`null`, Segmentation{}},
	} {
		var got Segmentation
		if err := got.UnmarshalJSON([]byte(tc.in)); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Kind != tc.want.Kind || got.Size != tc.want.Size || got.CountsString != tc.want.CountsString ||
			fmt.Sprint(got.Counts) != fmt.Sprint(tc.want.Counts) || fmt.Sprint(got.Polygons) != fmt.Sprint(tc.want.Polygons) {
			t.Errorf("%s: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`{"size": [2], "counts": "1"}`, `{"size": [2, 2]}`, `[[1, 2,]]`, `"x"`, `{"size": [1, 1], "counts": "\q"}`, `[[1, 01.]]`} {
		var s Segmentation
		if err := s.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestFastFloat(t *testing.T) {
	// The fast path must equal strconv.ParseFloat wherever it answers.
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []string{"0", "-0", "0.0", "-0.0", "1", "123.45", "-123.45", "0.1", "0.30000000000000004", "999999999999999",
		"9007199254740993", "1.5e3", "1e-5", "12345678901234567890", "0.0000000000000000000001", "640.000"}
	for range 20000 {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(12)-4))
		if rng.IntN(2) == 0 {
			v = -v
		}
		cases = append(cases, strconv.FormatFloat(v, 'f', rng.IntN(12), 64), strconv.FormatFloat(v, 'f', -1, 64))
	}
	for _, c := range cases {
		want, err := strconv.ParseFloat(c, 64)
		got, ok := fastFloat([]byte(c))
		if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("fastFloat(%q) = %v, ParseFloat = %v, %v", c, got, want, err)
		}
	}
}

func TestMaskIoUFastPath(t *testing.T) {
	// maskIoU against mask.IoU (maskApi.c rleIou) on random valid masks,
	// empty ones and empty runs included, and on a group with a mask of
	// another size.
	rng := rand.New(rand.NewPCG(7, 8))
	// Half the cases use canonical masks (no empty runs after the first),
	// which take the fast path; the others fall back to mask.IoUInto.
	canonical := false
	randRLE := func(h, w int) mask.RLE {
		var counts []uint32
		left := h * w
		if rng.IntN(3) == 0 {
			counts = append(counts, 0) // starts with a one
		}
		for left > 0 {
			c := min(left, 1+rng.IntN(2*h))
			if !canonical && rng.IntN(6) == 0 {
				c = 0
			}
			counts = append(counts, uint32(c))
			left -= c
		}
		if len(counts) == 0 {
			counts = []uint32{0}
		}
		return mask.RLE{H: h, W: w, Counts: counts}
	}
	for n := 0; n < 3000; n++ {
		canonical = n%2 == 0
		h, w := 1+rng.IntN(6), 1+rng.IntN(6)
		dt := make([]mask.RLE, rng.IntN(4))
		gt := make([]mask.RLE, 1+rng.IntN(4))
		crowd := make([]bool, len(gt))
		for i := range dt {
			dt[i] = randRLE(h, w)
		}
		for i := range gt {
			gt[i] = randRLE(h, w)
			crowd[i] = rng.IntN(3) == 0
		}
		if n%10 == 0 && len(dt) > 0 {
			dt[0] = randRLE(h+1, w)
		}
		got := make([]float64, len(dt)*len(gt))
		maskIoU(got, dt, gt, crowd)
		want := mask.IoU(dt, gt, crowd)
		for d := range dt {
			for g := range gt {
				if got[d*len(gt)+g] != want[d][g] {
					t.Fatalf("case %d: dt %v gt %v crowd %v: maskIoU = %v, mask.IoU = %v", n, dt[d], gt[g], crowd[g], got[d*len(gt)+g], want[d][g])
				}
			}
		}
	}
}

// accumulateReference is COCOeval.accumulate transcribed line by line:
// concatenate, stable sort, cumulative sums, envelope, searchsorted. The
// fast Accumulate must give the same arrays to the bit.
func accumulateReference(e *Eval) (precision, recall, scores []float64) {
	p := &e.Params
	T, R, K, A, M := e.Dims()
	precision, recall, scores = filled(T*R*K*A*M, -1), filled(T*K*A*M, -1), filled(T*R*K*A*M, -1)
	for k := range K {
		E := e.evalImgs[k]
		if len(E) == 0 {
			continue
		}
		for a := range A {
			for m, maxDet := range p.MaxDets {
				var sc []float64
				var st [][]uint8
				npig := 0
				for _, ev := range E {
					D := len(ev.scores)
					for d := range min(D, maxDet) {
						sc = append(sc, ev.scores[d])
						row := make([]uint8, T)
						for t := range T {
							row[t] = ev.state[(d*A+a)*T+t]
						}
						st = append(st, row)
					}
					npig += ev.npig[a]
				}
				if npig == 0 {
					continue
				}
				inds := make([]int, len(sc))
				for i := range inds {
					inds[i] = i
				}
				slices.SortStableFunc(inds, func(x, y int) int { return byScore(sc[x], sc[y]) })
				nd := len(sc)
				for t := range T {
					rc, pr := make([]float64, nd), make([]float64, nd)
					var tp, fp float64
					for i, o := range inds {
						if st[o][t] == stateTP {
							tp++
						}
						if st[o][t] == stateFP {
							fp++
						}
						rc[i] = tp / float64(npig)
						pr[i] = tp / (fp + tp + eps)
					}
					ri := ((t*K+k)*A+a)*M + m
					recall[ri] = 0
					if nd > 0 {
						recall[ri] = rc[nd-1]
					}
					for i := nd - 1; i > 0; i-- {
						if pr[i] > pr[i-1] {
							pr[i-1] = pr[i]
						}
					}
					for r, thr := range p.RecThrs {
						i := sort.SearchFloat64s(rc, thr)
						pi := (((t*R+r)*K+k)*A+a)*M + m
						if i >= nd {
							// The IndexError ends the loop: the rest stay 0.
							for r2 := r; r2 < R; r2++ {
								pi2 := (((t*R+r2)*K+k)*A+a)*M + m
								precision[pi2], scores[pi2] = 0, 0
							}
							break
						}
						precision[pi], scores[pi] = pr[i], sc[inds[i]]
					}
				}
			}
		}
	}
	return precision, recall, scores
}

func TestAccumulateMatchesReference(t *testing.T) {
	gt, err := LoadDataset(filepath.Join("testdata", "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iouType IoUType
		file    string
	}{
		{BBox, "instances_val2014_fakebbox100_results.json"},
		{Segm, "instances_val2014_fakesegm100_results.json"},
	} {
		dt, err := gt.LoadResults(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, maxDets := range [][]int{{1, 10, 100}, {1, 3, 5}} {
			p := DefaultParams(tc.iouType)
			p.MaxDets = maxDets
			e := NewEval(gt, dt, p)
			if err := e.Evaluate(); err != nil {
				t.Fatal(err)
			}
			e.Accumulate()
			prec, rec, sc := accumulateReference(e)
			for name, pair := range map[string][2][]float64{"precision": {e.Precision, prec}, "recall": {e.Recall, rec}, "scores": {e.Scores, sc}} {
				bad := 0
				for i := range pair[1] {
					if math.Float64bits(pair[0][i]) != math.Float64bits(pair[1][i]) {
						if bad++; bad <= 10 {
							t.Errorf("%s %v %s[%d] = %v, reference %v", tc.iouType, maxDets, name, i, pair[0][i], pair[1][i])
						}
					}
				}
				if bad > 10 {
					t.Errorf("... %d mismatches in all", bad)
				}
			}
		}
	}
}
