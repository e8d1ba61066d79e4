package detops

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/checkpoint"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/nn/nntest"
	"github.com/densepred/dp/tensor"
)

func golden(t *testing.T) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.ReadSafetensors("testdata/detops.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ints(t *testing.T, f *checkpoint.File, name string) []int {
	t.Helper()
	r, ok := f.Raw[name]
	if !ok {
		t.Fatalf("golden has no integer tensor %q", name)
	}
	v, err := r.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func goldenRoIs(f *checkpoint.File) []RoI {
	d := f.Tensors["rois"].Data()
	var rois []RoI
	for i := 0; i+5 <= len(d); i += 5 {
		rois = append(rois, RoI{Batch: int(d[i]), Box: Box{d[i+1], d[i+2], d[i+3], d[i+4]}})
	}
	return rois
}

// TestRoIAlignTorchvision compares forward and input gradient with
// torchvision.ops.roi_align (tools/reference/golden_detops.py).
func TestRoIAlignTorchvision(t *testing.T) {
	f := golden(t)
	rois := goldenRoIs(f)
	for _, c := range []struct {
		name    string
		aligned bool
		ratio   int
		size    int
	}{{"a0", true, 0, 7}, {"a2", true, 2, 5}, {"u0", false, 0, 7}, {"m14", true, 0, 14}} {
		t.Run(fmt.Sprintf("aligned=%v/sampling=%d/out=%d", c.aligned, c.ratio, c.size), func(t *testing.T) {
			tp := nn.NewTape(nil, nil)
			x := tp.Leaf(f.Tensors["feat"].Clone())
			y := RoIAlign(x, rois, RoIAlignOptions{OutH: c.size, OutW: c.size, SpatialScale: 0.25, SamplingRatio: c.ratio, Aligned: c.aligned})
			nntest.AssertClose(t, "output", y.Value, f.Tensors[c.name+"_y"], 1e-5)
			tp.BackwardFrom(y, f.Tensors[c.name+"_gy"])
			nntest.AssertClose(t, "input gradient", x.Grad, f.Tensors[c.name+"_gx"], 1e-5)
		})
	}
}

func TestRoIAlignGrad(t *testing.T) {
	feat := tensor.New(1, 2, 6, 7)
	tensor.NewRNG(3).FillUniform(feat, -1, 1)
	rois := []RoI{{0, Box{1.2, 0.7, 9.5, 8.1}}, {0, Box{-2, 3, 5, 30}}}
	nntest.GradCheck{}.Run(t, func(_ *nn.Tape, in []*nn.Var) *nn.Var {
		return RoIAlign(in[0], rois, RoIAlignOptions{OutH: 3, OutW: 2, SpatialScale: 0.5, Aligned: true})
	}, feat)
}

func TestNMSTorchvision(t *testing.T) {
	f := golden(t)
	bd, sd := f.Tensors["nms_boxes"].Data(), f.Tensors["nms_scores"].Data()
	boxes := make([]Box, len(sd))
	for i := range boxes {
		copy(boxes[i][:], bd[i*4:i*4+4])
	}
	for _, thr := range []int{3, 5, 7} {
		want := ints(t, f, fmt.Sprintf("nms_keep_%d", thr))
		got := NMS(boxes, sd, float32(thr)/10)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("NMS(thr=0.%d) = %v, torchvision %v", thr, got, want)
		}
	}
	got := BatchedNMS(boxes, sd, ints(t, f, "bnms_idxs"), 0.5)
	if want := ints(t, f, "bnms_keep_5"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("BatchedNMS = %v, torchvision %v", got, want)
	}
}

func TestAnchors(t *testing.T) {
	g, err := NewAnchorGenerator(DefaultAnchorOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Stride 4, base 4, scale 8 => 32 px; ratio 0.5 => h = 32·sqrt(.5), w = 32/sqrt(.5).
	r := math.Sqrt(0.5)
	want := []Box{
		{float32(-16 / r), float32(-16 * r), float32(16 / r), float32(16 * r)},
		{-16, -16, 16, 16},
		{float32(-16 * r), float32(-16 / r), float32(16 * r), float32(16 / r)},
	}
	for i, b := range g.BaseAnchors(0) {
		for k := range b {
			if math.Abs(float64(b[k]-want[i][k])) > 1e-4 {
				t.Fatalf("base anchor %d = %v, want %v", i, b, want[i])
			}
		}
	}
	grid := g.GridAnchors(1, 2, 3) // stride 8
	if len(grid) != 2*3*3 {
		t.Fatalf("%d grid anchors, want 18", len(grid))
	}
	// Position (row 1, col 2) shifts by (16, 8); anchor 1 is the square one (64 px at stride 8).
	if b := grid[(1*3+2)*3+1]; b != (Box{16 - 32, 8 - 32, 16 + 32, 8 + 32}) {
		t.Errorf("grid anchor = %v", b)
	}
	valid := g.ValidFlags(1, 2, 3, 9, 17) // 9/8 -> 2 rows, 17/8 -> 3 cols
	if !valid[len(valid)-1] {
		t.Errorf("last anchor should be valid")
	}
	valid = g.ValidFlags(1, 2, 3, 8, 16) // 1 row, 2 cols valid
	if valid[(0*3+2)*3] || !valid[(0*3+1)*3] || valid[(1*3+0)*3] {
		t.Errorf("valid flags = %v", valid)
	}
	if _, err := NewAnchorGenerator(AnchorOptions{Strides: []int{4}, Scales: []float64{8}}); err == nil ||
		err.Error() != "detops: anchors need strides, ratios and scales, got 1, 0 and 1" {
		t.Errorf("err = %v", err)
	}
}

func TestDeltaXYWHCoder(t *testing.T) {
	c := NewDeltaXYWHCoder([4]float64{0.1, 0.1, 0.2, 0.2})
	p := Box{10, 20, 30, 60}  // centre (20, 40), size 20×40
	g := Box{15, 20, 55, 100} // centre (35, 60), size 40×80
	d := c.Encode(p, g)
	want := [4]float64{(15.0 / 20) / 0.1, (20.0 / 40) / 0.1, math.Log(2) / 0.2, math.Log(2) / 0.2}
	for i := range d {
		if math.Abs(float64(d[i])-want[i]) > 1e-5 {
			t.Fatalf("Encode = %v, want %v", d, want)
		}
	}
	back := c.Decode(p, d, 0, 0)
	for i := range back {
		if math.Abs(float64(back[i]-g[i])) > 1e-4 {
			t.Fatalf("Decode(Encode) = %v, want %v", back, g)
		}
	}
	// Clamping: a huge dw is bounded by |log(16/1000)|, and max shape clips.
	// Width 20·1000/16 = 1250 around x = 20 spans [-605, 645]; the height
	// (y in [20, 60]) is cut at 50.
	if b := c.Decode(p, [4]float32{0, 0, 100, 0}, 50, 50); b != (Box{0, 20, 50, 50}) {
		t.Errorf("clamped decode = %v, want [0 20 50 50]", b)
	}
	if b := c.Decode(p, [4]float32{0, 0, 100, 0}, 0, 0); math.Abs(float64(b[2]-b[0])-1250) > 1e-2 {
		t.Errorf("unclipped clamped width = %v, want 1250", b[2]-b[0])
	}
}

func TestOverlaps(t *testing.T) {
	a := []Box{{0, 0, 10, 10}}
	b := []Box{{5, 5, 15, 15}, {20, 20, 30, 30}, {0, 0, 5, 10}}
	iou := Overlaps(a, b, IoU)
	want := []float32{25.0 / 175, 0, 0.5}
	iof := Overlaps(a, b, IoF)
	wantF := []float32{0.25, 0, 0.5}
	for i := range want {
		if math.Abs(float64(iou[i]-want[i])) > 1e-6 || math.Abs(float64(iof[i]-wantF[i])) > 1e-6 {
			t.Fatalf("iou %v want %v; iof %v want %v", iou, want, iof, wantF)
		}
	}
}

func TestAssignMaxIoU(t *testing.T) {
	gts := []Box{{0, 0, 10, 10}, {20, 0, 30, 10}}
	boxes := []Box{
		{0, 0, 10, 10},   // IoU 1 with gt0: positive 1
		{0, 0, 10, 5},    // IoU 0.5 with gt0: between thresholds: ignored
		{50, 50, 60, 60}, // no overlap: negative
		{22, 0, 32, 10},  // IoU 0.667 with gt1: below pos, but gt1's best: low-quality positive 2
		{0, 0, 10, 1},    // IoU 0.1: negative
	}
	o := MaxIoUOptions{PosIoUThr: 0.7, NegIoUThr: 0.3, MinPosIoU: 0.3, MatchLowQuality: true, GTMaxAssignAll: true}
	a := AssignMaxIoU(boxes, gts, nil, o)
	if want := []int{1, -1, 0, 2, 0}; fmt.Sprint(a.GT) != fmt.Sprint(want) {
		t.Errorf("assigned %v, want %v", a.GT, want)
	}
	o.MatchLowQuality = false
	if a := AssignMaxIoU(boxes, gts, nil, o); a.GT[3] != -1 {
		t.Errorf("without low-quality matching box 3 = %d, want -1", a.GT[3])
	}
	// An ignore region removes box 2 from the negatives.
	o.IgnoreIoFThr = 0.5
	if a := AssignMaxIoU(boxes, gts, []Box{{48, 48, 62, 62}}, o); a.GT[2] != -1 {
		t.Errorf("box inside an ignore region = %d, want -1", a.GT[2])
	}
	if a := AssignMaxIoU(boxes, nil, nil, o); fmt.Sprint(a.GT) != "[0 0 0 0 0]" {
		t.Errorf("no gts: %v", a.GT)
	}
}

func TestSampleRandom(t *testing.T) {
	gt := []int{1, 0, 0, 2, -1, 0, 0, 1, 0, 0}
	pos, neg := SampleRandom(gt, SamplerOptions{Num: 4, PosFraction: 0.25, NegPosUB: -1}, tensor.NewRNG(1))
	if len(pos) != 1 || len(neg) != 3 {
		t.Fatalf("pos %v neg %v: want 1 and 3", pos, neg)
	}
	for _, i := range pos {
		if gt[i] <= 0 {
			t.Errorf("positive %d has gt %d", i, gt[i])
		}
	}
	for _, i := range neg {
		if gt[i] != 0 {
			t.Errorf("negative %d has gt %d", i, gt[i])
		}
	}
	pos, neg = SampleRandom(gt, SamplerOptions{Num: 20, PosFraction: 0.5, NegPosUB: 2}, tensor.NewRNG(1))
	if len(pos) != 3 || len(neg) != 6 {
		t.Errorf("with neg_pos_ub 2: %d pos, %d neg; want 3 and 6", len(pos), len(neg))
	}
}

func TestMapRoILevels(t *testing.T) {
	rois := []Box{{0, 0, 32, 32}, {0, 0, 112, 112}, {0, 0, 224, 224}, {0, 0, 448, 448}, {0, 0, 2000, 2000}}
	got := MapRoILevels(rois, 4, 56)
	if want := []int{0, 1, 2, 3, 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("levels %v, want %v", got, want)
	}
}
