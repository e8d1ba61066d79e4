package voc

import (
	"math"
	"strings"
	"testing"
)

// The hand-worked case: class 0 has two real boxes (A in image 0, C in
// image 1) and a difficult one (B); class 1 has one box and no detection;
// class 2 has a detection and no box.
var (
	gts = []GroundTruth{
		{Image: 0, Class: 0, Box: [4]float64{0, 0, 9, 9}},                      // A
		{Image: 0, Class: 0, Box: [4]float64{20, 20, 29, 29}, Difficult: true}, // B
		{Image: 1, Class: 0, Box: [4]float64{0, 0, 9, 9}},                      // C
		{Image: 1, Class: 1, Box: [4]float64{30, 30, 39, 39}},
	}
	dets = []Detection{
		{Image: 0, Class: 0, Box: [4]float64{0, 0, 9, 9}, Score: 0.9},     // A: true positive
		{Image: 0, Class: 0, Box: [4]float64{0, 0, 9, 9}, Score: 0.8},     // A again: false positive
		{Image: 0, Class: 0, Box: [4]float64{20, 20, 29, 29}, Score: 0.7}, // B (difficult): neither
		{Image: 1, Class: 0, Box: [4]float64{50, 50, 59, 59}, Score: 0.6}, // nothing: false positive
		// C with +1 widths: 10×5 inside 10×10, IoU exactly 0.5: true positive.
		// Without the +1: 9×4 = 36 over 81, a false positive.
		{Image: 1, Class: 0, Box: [4]float64{0, 0, 9, 4}, Score: 0.5},
		{Image: 1, Class: 2, Box: [4]float64{0, 0, 9, 9}, Score: 0.5},
	}
)

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opt      Options
		ap0, mAP float64
		prec     []float64
	}{
		// Sorted outcomes TP FP - FP TP: recall .5 .5 .5 .5 1, precision
		// 1 .5 .5 1/3 .5. 11 points: precision 1 for r = 0..0.5 (6 points),
		// 0.5 for r = 0.6..1 (5 points): 8.5/11. mAP over classes 0 and 1
		// (class 2 has no ground truth): (8.5/11 + 0)/2, in float32.
		{"VOC2007", VOC2007(), float64(float32(8.5) / 11), float64(float32(8.5) / 11 / 2),
			[]float64{1, 0.5, 0.5, float64(float32(1) / 3), 0.5}},
		// Envelope 1 1 .5 .5 .5 .5 0 over recalls 0 .5 .5 .5 .5 1 1:
		// 0.5·1 + 0.5·0.5.
		{"VOC2012", VOC2012(), 0.75, 0.375, nil},
		// Without the +1 the last detection misses: recall stays 0.5.
		{"modern coordinates", Options{IoUThr: 0.5, Mode: Area}, 0.5, 0.25, nil},
		{"modern 11 points", Options{IoUThr: 0.5, Mode: ElevenPoint}, float64(float32(6) / 11), float64(float32(6) / 11 / 2), nil},
	} {
		mAP, res, err := Evaluate(3, dets, gts, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].AP != tc.ap0 || mAP != tc.mAP {
			t.Errorf("%s: AP0, mAP = %v, %v; want %v, %v", tc.name, res[0].AP, mAP, tc.ap0, tc.mAP)
		}
		if res[0].NumGTs != 2 || res[0].NumDets != 5 || res[1].AP != 0 || res[2].NumGTs != 0 {
			t.Errorf("%s: results %+v", tc.name, res)
		}
		for i, p := range tc.prec {
			if res[0].Precision[i] != p {
				t.Errorf("%s: precision[%d] = %v, want %v", tc.name, i, res[0].Precision[i], p)
			}
		}
	}
}

func TestNoGroundTruth(t *testing.T) {
	mAP, res, err := Evaluate(1, []Detection{{Class: 0, Score: 1}}, nil, VOC2012())
	if err != nil || mAP != 0 || res[0].NumGTs != 0 {
		t.Errorf("mAP, results, err = %v, %+v, %v; want 0", mAP, res, err)
	}
	if _, _, err := Evaluate(2, []Detection{{Class: 2}}, nil, VOC2012()); err == nil || !strings.Contains(err.Error(), "detection 0 has class 2") {
		t.Errorf("error = %v", err)
	}
}

func TestIoU32(t *testing.T) {
	for _, tc := range []struct {
		a, b  [4]float32
		extra float32
		want  float32
	}{
		{[4]float32{0, 0, 9, 9}, [4]float32{0, 0, 9, 4}, 1, 0.5},
		{[4]float32{0, 0, 10, 10}, [4]float32{5, 5, 15, 15}, 0, 25.0 / 175},
		{[4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 1, float32(10) / 210},
		{[4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 0, 0},
		// Degenerate boxes: the union is clamped to 1e-6.
		{[4]float32{0, 0, 0, 0}, [4]float32{0, 0, 0, 0}, 0, 0},
	} {
		if got := iou32(tc.a, tc.b, tc.extra); got != tc.want && math.Abs(float64(got-tc.want)) > 1e-7 {
			t.Errorf("iou32(%v, %v, %v) = %v, want %v", tc.a, tc.b, tc.extra, got, tc.want)
		}
	}
}
