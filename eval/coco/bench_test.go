package coco

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/densepred/dp/eval/mask"
)

// synthFiles writes a COCO-val-sized ground truth (images, ~6 polygon
// objects each, about 1% crowd regions as uncompressed RLE, 80 categories)
// and bbox and segm results for it (about 8 detections per image: jittered
// copies of most objects, some with the wrong category, plus false
// positives) into dir, from a fixed seed.
func synthFiles(tb testing.TB, dir string, images int) (gtPath, bboxPath, segmPath string) {
	rng := rand.New(rand.NewPCG(1, 2))
	type jsonImage struct {
		ID     int64 `json:"id"`
		Width  int   `json:"width"`
		Height int   `json:"height"`
	}
	type jsonRLE struct {
		Size   [2]int `json:"size"`
		Counts any    `json:"counts"`
	}
	type gtAnn struct {
		ID           int64      `json:"id"`
		ImageID      int64      `json:"image_id"`
		CategoryID   int64      `json:"category_id"`
		Segmentation any        `json:"segmentation"`
		Area         float64    `json:"area"`
		BBox         [4]float64 `json:"bbox"`
		IsCrowd      int        `json:"iscrowd"`
	}
	type bboxRes struct {
		ImageID    int64      `json:"image_id"`
		CategoryID int64      `json:"category_id"`
		BBox       [4]float64 `json:"bbox"`
		Score      float64    `json:"score"`
	}
	type segmRes struct {
		ImageID      int64   `json:"image_id"`
		CategoryID   int64   `json:"category_id"`
		Segmentation jsonRLE `json:"segmentation"`
		Score        float64 `json:"score"`
	}
	round2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	// A star-shaped polygon around (cx, cy) with mean radius r.
	polygon := func(cx, cy, r float64) []float64 {
		n := 12 + rng.IntN(28)
		xy := make([]float64, 0, 2*n)
		for i := range n {
			ang := 2 * math.Pi * float64(i) / float64(n)
			rr := r * (0.6 + 0.4*rng.Float64())
			xy = append(xy, round2(cx+rr*math.Cos(ang)), round2(cy+rr*math.Sin(ang)))
		}
		return xy
	}
	var (
		imgs  []jsonImage
		anns  []gtAnn
		boxes []bboxRes
		segms []segmRes
	)
	cats := make([]map[string]any, 80)
	for i := range cats {
		cats[i] = map[string]any{"id": i + 1, "name": "c" + string(rune('A'+i%26)) + string(rune('a'+i/26))}
	}
	for i := range images {
		id := int64(1000 + 7*i)
		w, h := 400+rng.IntN(241), 300+rng.IntN(341)
		imgs = append(imgs, jsonImage{id, w, h})
		addDet := func(cat int64, xy []float64, score float64) {
			r := mask.FrPoly(xy, h, w)
			bb := r.ToBBox()
			boxes = append(boxes, bboxRes{id, cat, [4]float64{round2(bb[0] + rng.Float64()), round2(bb[1] + rng.Float64()), bb[2], bb[3]}, round2(score)})
			segms = append(segms, segmRes{id, cat, jsonRLE{[2]int{h, w}, r.String()}, round2(score)})
		}
		for range 1 + rng.IntN(11) {
			cat := int64(1 + min(rng.IntN(80), rng.IntN(80)))
			r := math.Exp(math.Log(4) + rng.Float64()*math.Log(60)) // radius 4..240 px
			cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
			xy := polygon(cx, cy, r)
			rle := mask.FrPoly(xy, h, w)
			bb := rle.ToBBox()
			a := gtAnn{ID: int64(len(anns) + 1), ImageID: id, CategoryID: cat, Area: float64(rle.Area()), BBox: bb, Segmentation: [][]float64{xy}}
			if rng.IntN(100) == 0 {
				a.IsCrowd = 1
				a.Segmentation = jsonRLE{[2]int{h, w}, rle.Counts}
			}
			anns = append(anns, a)
			if rng.Float64() < 0.8 {
				dcat := cat
				if rng.IntN(10) == 0 {
					dcat = int64(1 + rng.IntN(80))
				}
				s := 0.85 + 0.3*rng.Float64()
				dx, dy := (rng.Float64()-.5)*0.2*r, (rng.Float64()-.5)*0.2*r
				dxy := make([]float64, len(xy))
				for j := 0; j < len(xy); j += 2 {
					dxy[j] = round2(cx + dx + (xy[j]-cx)*s)
					dxy[j+1] = round2(cy + dy + (xy[j+1]-cy)*s)
				}
				addDet(dcat, dxy, 0.3+0.7*rng.Float64())
			}
		}
		for range rng.IntN(7) {
			r := math.Exp(math.Log(4) + rng.Float64()*math.Log(40))
			addDet(int64(1+rng.IntN(80)), polygon(rng.Float64()*float64(w), rng.Float64()*float64(h), r), 0.6*rng.Float64())
		}
	}
	write := func(name string, v any) string {
		// Written as Python's json.dump writes them: '<', '>' and '&' in
		// RLE strings are not escaped.
		path := filepath.Join(dir, name)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		return path
	}
	gtPath = write("gt.json", map[string]any{"images": imgs, "annotations": anns, "categories": cats})
	return gtPath, write("bbox.json", boxes), write("segm.json", segms)
}

// evalFiles is the whole pipeline a user runs: load both files, evaluate,
// accumulate, summarize.
func evalFiles(tb testing.TB, gtPath, dtPath string, t IoUType) []float64 {
	gt, err := LoadDataset(gtPath)
	if err != nil {
		tb.Fatal(err)
	}
	dt, err := gt.LoadResults(dtPath)
	if err != nil {
		tb.Fatal(err)
	}
	e := NewEval(gt, dt, DefaultParams(t))
	if err := e.Evaluate(); err != nil {
		tb.Fatal(err)
	}
	e.Accumulate()
	return e.Summarize()
}

// BenchmarkCOCOEvalVal5k{BBox,Segm} time loading, evaluating, accumulating
// and summarizing a COCO-val-sized set: 5,000 images, about 30,000 ground
// truths with polygon masks and 40,000 detections. pycocotools 2.0 takes
// about 6.8 s (bbox) and 9.5 s (segm) on such a set.
func BenchmarkCOCOEvalVal5kBBox(b *testing.B) { benchmarkVal5k(b, BBox) }
func BenchmarkCOCOEvalVal5kSegm(b *testing.B) { benchmarkVal5k(b, Segm) }

func benchmarkVal5k(b *testing.B, t IoUType) {
	gtPath, bboxPath, segmPath := synthFiles(b, b.TempDir(), 5000)
	dtPath := bboxPath
	if t == Segm {
		dtPath = segmPath
	}
	runtime.GC() // start without the generator's garbage
	b.ResetTimer()
	cpu0 := processCPU()
	var stats []float64
	for range b.N {
		stats = evalFiles(b, gtPath, dtPath, t)
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	b.ReportMetric(stats[0], "AP")
	// CPU seconds per run over all goroutines (garbage collection included):
	// unlike ns/op it does not grow when other processes share the cores.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
