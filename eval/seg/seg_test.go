package seg

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func same(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-15
}

func TestMetric(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name        string
		classes     int
		reduce      bool
		pred, label []uint8
		aAcc        float64
		iou, acc    []float64
		mIoU, mAcc  float64
	}{
		{
			// After dropping the 255 pixel: pred areas 3,3,1; label areas
			// 3,3,1; intersections 2,2,1; unions 4,4,1.
			name: "basic", classes: 3,
			pred:  []uint8{0, 0, 1, 1, 2, 2, 1, 0},
			label: []uint8{0, 1, 1, 1, 2, 255, 0, 0},
			aAcc:  5.0 / 7, iou: []float64{0.5, 0.5, 1}, acc: []float64{2.0 / 3, 2.0 / 3, 1},
			mIoU: 2.0 / 3, mAcc: (2.0/3 + 2.0/3 + 1) / 3,
		},
		{
			// Class 3 is neither predicted nor labelled: NaN, left out of the means.
			name: "absent class", classes: 4,
			pred:  []uint8{0, 0, 1, 1, 2, 2, 1, 0},
			label: []uint8{0, 1, 1, 1, 2, 255, 0, 0},
			aAcc:  5.0 / 7, iou: []float64{0.5, 0.5, 1, nan}, acc: []float64{2.0 / 3, 2.0 / 3, 1, nan},
			mIoU: 2.0 / 3, mAcc: (2.0/3 + 2.0/3 + 1) / 3,
		},
		{
			// Class 1 is predicted once but never labelled: IoU 0 counts,
			// its accuracy is NaN.
			name: "predicted only", classes: 2,
			pred:  []uint8{0, 1, 0},
			label: []uint8{0, 0, 0},
			aAcc:  2.0 / 3, iou: []float64{2.0 / 3, 0}, acc: []float64{2.0 / 3, nan},
			mIoU: 1.0 / 3, mAcc: 2.0 / 3,
		},
		{
			// A prediction outside 0..C-1 falls out of the histograms; the
			// label still counts.
			name: "prediction out of range", classes: 2,
			pred:  []uint8{7, 1},
			label: []uint8{0, 1},
			aAcc:  0.5, iou: []float64{0, 1}, acc: []float64{0, 1},
			mIoU: 0.5, mAcc: 0.5,
		},
		{
			// reduce_zero_label: labels 0,1,2,255 become 255,0,1,255.
			// Kept pairs (pred, label): (0,0), (0,1).
			name: "reduce zero label", classes: 2, reduce: true,
			pred:  []uint8{5, 0, 0, 0},
			label: []uint8{0, 1, 2, 255},
			aAcc:  0.5, iou: []float64{0.5, 0}, acc: []float64{1, 0},
			mIoU: 0.25, mAcc: 0.5,
		},
		{
			name: "all ignored", classes: 2,
			pred: []uint8{0}, label: []uint8{255},
			aAcc: nan, iou: []float64{nan, nan}, acc: []float64{nan, nan}, mIoU: nan, mAcc: nan,
		},
	} {
		m := New(tc.classes, 255, tc.reduce)
		// Split the image in two to exercise accumulation.
		h := len(tc.pred) / 2
		if err := m.AddUint8(tc.pred[:h], tc.label[:h]); err != nil {
			t.Fatal(err)
		}
		other := New(tc.classes, 255, tc.reduce)
		p32 := make([]int32, len(tc.pred)-h)
		l32 := make([]int32, len(tc.pred)-h)
		for i := range p32 {
			p32[i], l32[i] = int32(tc.pred[h+i]), int32(tc.label[h+i])
		}
		if err := other.Add(p32, l32); err != nil {
			t.Fatal(err)
		}
		m.Merge(other)
		r := m.Result()
		if !same(r.AAcc, tc.aAcc) || !same(r.MIoU, tc.mIoU) || !same(r.MAcc, tc.mAcc) {
			t.Errorf("%s: aAcc, mIoU, mAcc = %v, %v, %v; want %v, %v, %v", tc.name, r.AAcc, r.MIoU, r.MAcc, tc.aAcc, tc.mIoU, tc.mAcc)
		}
		for c := range tc.iou {
			if !same(r.IoU[c], tc.iou[c]) || !same(r.Acc[c], tc.acc[c]) {
				t.Errorf("%s: class %d IoU, Acc = %v, %v; want %v, %v", tc.name, c, r.IoU[c], r.Acc[c], tc.iou[c], tc.acc[c])
			}
		}
	}
}

func TestSizeMismatch(t *testing.T) {
	m := New(2, 255, false)
	if err := m.AddUint8([]uint8{0}, []uint8{0, 1}); err == nil || !strings.HasPrefix(err.Error(), "seg: ") {
		t.Errorf("error = %v, want a seg: error", err)
	}
}

func TestReadLabelPNG(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, img image.Image) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	pal := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White, color.Gray{128}})
	copy(pal.Pix, []uint8{0, 1, 2, 2, 1, 0})
	gray := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(gray.Pix, []uint8{0, 1, 2, 255, 1, 0})
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(0, 0, color.Gray16{300})
	g16.SetGray16(1, 0, color.Gray16{7})
	for _, tc := range []struct {
		path string
		want []int32
		w, h int
	}{
		{write("p.png", pal), []int32{0, 1, 2, 2, 1, 0}, 3, 2},
		{write("g.png", gray), []int32{0, 1, 2, 255, 1, 0}, 3, 2},
		{write("g16.png", g16), []int32{300, 7}, 2, 1},
	} {
		got, w, h, err := ReadLabelPNG(tc.path)
		if err != nil || !slices.Equal(got, tc.want) || w != tc.w || h != tc.h {
			t.Errorf("%s: %v %dx%d %v, want %v %dx%d", tc.path, got, w, h, err, tc.want, tc.w, tc.h)
		}
	}
	rgb := write("rgb.png", image.NewRGBA(image.Rect(0, 0, 1, 1)))
	if _, _, _, err := ReadLabelPNG(rgb); err == nil || !strings.Contains(err.Error(), "not a label map") {
		t.Errorf("RGBA PNG: error %v, want 'not a label map'", err)
	}
}
