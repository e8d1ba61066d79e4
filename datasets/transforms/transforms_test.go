package transforms

import (
	"image"
	"image/png"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/tensor"
)

// sample returns a 40×30 sample whose pixel (x, y) is (x, y, x+y), with
// a seg map of label x/10, a 10×5 rectangle polygon at (2, 3) – (12, 8), and
// a crowd RLE mask of columns 30..33, rows 10..19 (the COCO test file's).
func sample() *datasets.Sample {
	img := datasets.NewImage(40, 30)
	seg := datasets.NewPlane(40, 30)
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			p := img.Pix[3*(y*40+x):]
			p[0], p[1], p[2] = uint8(x), uint8(y), uint8(x+y)
			seg.Pix[y*40+x] = uint8(x / 10)
		}
	}
	rle := mask.RLE{H: 30, W: 40, Counts: []uint32{910, 10, 20, 10, 20, 10, 20, 10, 190}}
	return &datasets.Sample{
		Image:  img,
		SegMap: seg,
		Boxes:  [][4]float32{{2, 3, 12, 8}, {30, 10, 34, 20}},
		Labels: []int{1, 0},
		Ignore: []bool{false, true},
		Masks: []datasets.Mask{
			{Polygons: [][]float64{{2, 3, 12, 3, 12, 8, 2, 8}}},
			{RLE: &rle},
		},
		Meta: datasets.Meta{OriShape: [2]int{30, 40}, ImgShape: [2]int{30, 40}, PadShape: [2]int{30, 40}, ScaleFactor: [2]float64{1, 1}},
	}
}

func areas(s *datasets.Sample) []int {
	w, h := s.Size()
	var a []int
	for _, m := range s.Masks {
		a = append(a, m.Area(w, h))
	}
	return a
}

func near(a, b [4]float32) bool {
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-4 {
			return false
		}
	}
	return true
}

func build(t *testing.T, name string, opt any) datasets.Transform {
	t.Helper()
	tr, err := Build(name, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestResize(t *testing.T) {
	cases := []struct {
		name  string
		opt   ResizeOptions
		w, h  int
		scale [2]float64
		boxes [][4]float32
		areas []int
		segAt [3]int // x, y, want
	}{
		// (100, 60) fits 40×30 by min(100/40, 60/30) = 2.
		{"keep ratio ×2", ResizeOptions{Scale: [][2]int{{100, 60}}, MultiscaleMode: "range", KeepRatio: true, Interpolation: "bilinear", ClipBoxes: true},
			80, 60, [2]float64{2, 2}, [][4]float32{{4, 6, 24, 16}, {60, 20, 68, 40}}, []int{200, 160}, [3]int{79, 59, 3}},
		// (50, 50): factor min(1.25, 1.667) = 1.25 → 50 × int(37.5+0.5) = 38;
		// boxes scale by 50/40 and 38/30.
		{"keep ratio rounding", ResizeOptions{Scale: [][2]int{{50, 50}}, MultiscaleMode: "range", KeepRatio: true, Interpolation: "bilinear", ClipBoxes: true},
			50, 38, [2]float64{1.25, 38.0 / 30}, [][4]float32{{2.5, 3 * 38.0 / 30, 15, 8 * 38.0 / 30}, {37.5, 10 * 38.0 / 30, 42.5, 20 * 38.0 / 30}}, nil, [3]int{12, 0, 0}},
		// No ratio: exactly 20×60; boxes clipped to the image.
		{"stretch", ResizeOptions{Scale: [][2]int{{20, 60}}, MultiscaleMode: "range", Interpolation: "nearest", ClipBoxes: true},
			20, 60, [2]float64{0.5, 2}, [][4]float32{{1, 6, 6, 16}, {15, 20, 17, 40}}, []int{5 * 10, 2 * 20}, [3]int{19, 0, 3}},
	}
	for _, c := range cases {
		s := sample()
		if err := build(t, "Resize", &c.opt).Apply(s, tensor.NewRNG(1)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.Image.W != c.w || s.Image.H != c.h || s.Meta.ImgShape != [2]int{c.h, c.w} || s.SegMap.W != c.w || s.SegMap.H != c.h {
			t.Errorf("%s: image %dx%d, seg %dx%d, meta %v; want %dx%d", c.name, s.Image.W, s.Image.H, s.SegMap.W, s.SegMap.H, s.Meta.ImgShape, c.w, c.h)
		}
		if math.Abs(s.Meta.ScaleFactor[0]-c.scale[0]) > 1e-12 || math.Abs(s.Meta.ScaleFactor[1]-c.scale[1]) > 1e-12 {
			t.Errorf("%s: scale factor %v, want %v", c.name, s.Meta.ScaleFactor, c.scale)
		}
		for k, b := range c.boxes {
			if !near(s.Boxes[k], b) {
				t.Errorf("%s: box %d = %v, want %v", c.name, k, s.Boxes[k], b)
			}
		}
		if c.areas != nil && !slices.Equal(areas(s), c.areas) {
			t.Errorf("%s: mask areas %v, want %v", c.name, areas(s), c.areas)
		}
		if got := s.SegMap.Pix[c.segAt[1]*c.w+c.segAt[0]]; int(got) != c.segAt[2] {
			t.Errorf("%s: seg (%d,%d) = %d, want %d", c.name, c.segAt[0], c.segAt[1], got, c.segAt[2])
		}
	}
}

func TestRescaleSize(t *testing.T) {
	cases := []struct{ w, h, sw, sh, ww, wh int }{
		{640, 480, 1333, 800, 1067, 800},  // 800/480 = 1.667 limits: int(1066.67+0.5)
		{480, 640, 1333, 800, 800, 1067},  // portrait, same bound either way round
		{1000, 200, 1333, 800, 1333, 267}, // long edge limits: 1.333, int(266.6+0.5)
		{500, 375, 1000, 600, 800, 600},
	}
	for _, c := range cases {
		if w, h := RescaleSize(c.w, c.h, [2]int{c.sw, c.sh}); w != c.ww || h != c.wh {
			t.Errorf("RescaleSize(%d, %d, %d×%d) = %d×%d, want %d×%d", c.w, c.h, c.sw, c.sh, w, h, c.ww, c.wh)
		}
	}
}

func TestMultiScale(t *testing.T) {
	rng := tensor.NewRNG(3)
	r, _ := NewResize(ResizeOptions{Scale: [][2]int{{1333, 640}, {1333, 800}}, MultiscaleMode: "range", KeepRatio: true, Interpolation: "bilinear"})
	v, _ := NewResize(ResizeOptions{Scale: [][2]int{{1333, 640}, {1333, 800}}, MultiscaleMode: "value", KeepRatio: true, Interpolation: "bilinear"})
	q, _ := NewResize(ResizeOptions{Scale: [][2]int{{2048, 512}}, RatioRange: []float64{0.5, 2}, MultiscaleMode: "range", KeepRatio: true, Interpolation: "bilinear"})
	seen := map[int]bool{}
	for i := 0; i < 2000; i++ {
		s := r.chooseScale(rng)
		if s[0] != 1333 || s[1] < 640 || s[1] > 800 {
			t.Fatalf("range scale %v outside (1333, 640..800)", s)
		}
		seen[s[1]] = true
		if s := v.chooseScale(rng); s != [2]int{1333, 640} && s != [2]int{1333, 800} {
			t.Fatalf("value scale %v", s)
		}
		s = q.chooseScale(rng)
		ratio := float64(s[0]) / 2048
		if ratio < 0.5-1e-3 || ratio > 2 || s[1] != int(512*ratio+1e-9) && s[1] != int(512*ratio)+1 && s[1] != int(512*ratio)-1 {
			t.Fatalf("ratio scale %v", s)
		}
	}
	if !seen[640] || !seen[800] {
		t.Error("range mode never drew an end point; both ends are inclusive")
	}
	if _, err := NewResize(ResizeOptions{Scale: [][2]int{{1, 1}, {2, 2}, {3, 3}}, MultiscaleMode: "range", Interpolation: "bilinear"}); err == nil {
		t.Error("range with three scales accepted")
	}
}

func TestFlip(t *testing.T) {
	cases := []struct {
		dir   string
		boxes [][4]float32
		poly  []float64
		pix   [2]int // source pixel now at (0, 0)
	}{
		{"horizontal", [][4]float32{{28, 3, 38, 8}, {6, 10, 10, 20}}, []float64{38, 3, 28, 3, 28, 8, 38, 8}, [2]int{39, 0}},
		{"vertical", [][4]float32{{2, 22, 12, 27}, {30, 10, 34, 20}}, []float64{2, 27, 12, 27, 12, 22, 2, 22}, [2]int{0, 29}},
		{"diagonal", [][4]float32{{28, 22, 38, 27}, {6, 10, 10, 20}}, []float64{38, 27, 28, 27, 28, 22, 38, 22}, [2]int{39, 29}},
	}
	for _, c := range cases {
		s := sample()
		Flip(s, c.dir)
		for k, b := range c.boxes {
			if s.Boxes[k] != b {
				t.Errorf("%s: box %d = %v, want %v", c.dir, k, s.Boxes[k], b)
			}
		}
		if !slices.Equal(s.Masks[0].Polygons[0], c.poly) {
			t.Errorf("%s: polygon %v, want %v", c.dir, s.Masks[0].Polygons[0], c.poly)
		}
		if got := areas(s); !slices.Equal(got, []int{50, 40}) {
			t.Errorf("%s: areas %v, want [50 40]", c.dir, got)
		}
		// The crowd mask's pixels must lie inside its flipped box.
		bm := s.Masks[1].Bitmap
		b := s.Boxes[1]
		for y := 0; y < bm.H; y++ {
			for x := 0; x < bm.W; x++ {
				in := float32(x) >= b[0] && float32(x) < b[2] && float32(y) >= b[1] && float32(y) < b[3]
				if (bm.Pix[y*bm.W+x] == 1) != in {
					t.Fatalf("%s: mask pixel (%d,%d) = %d, box %v", c.dir, x, y, bm.Pix[y*bm.W+x], b)
				}
			}
		}
		if s.Image.Pix[0] != uint8(c.pix[0]) || s.Image.Pix[1] != uint8(c.pix[1]) {
			t.Errorf("%s: pixel (0,0) = %v, want source %v", c.dir, s.Image.Pix[:3], c.pix)
		}
		if want := uint8(c.pix[0] / 10); s.SegMap.Pix[0] != want {
			t.Errorf("%s: seg (0,0) = %d, want %d", c.dir, s.SegMap.Pix[0], want)
		}
	}
	// RandomFlip with prob 1 flips and says so.
	s := sample()
	build(t, "RandomFlip", &RandomFlipOptions{Prob: 1, Direction: "horizontal"}).Apply(s, tensor.NewRNG(0))
	if !s.Meta.Flip || s.Meta.FlipDirection != "horizontal" || s.Boxes[0] != [4]float32{28, 3, 38, 8} {
		t.Errorf("RandomFlip prob 1: flip %v %q box %v", s.Meta.Flip, s.Meta.FlipDirection, s.Boxes[0])
	}
}

func TestCrop(t *testing.T) {
	s := sample()
	cropSample(s, 5, 4, 26, 12, true)
	// Box 0 (2,3)-(12,8) → (-3,-1)-(7,4) clipped to (0,0)-(7,4); box 1
	// (30,10)-(34,20) → (25,6)-(29,16) clipped to (25,6)-(26,12).
	want := [][4]float32{{0, 0, 7, 4}, {25, 6, 26, 12}}
	for k, b := range want {
		if s.Boxes[k] != b {
			t.Errorf("box %d = %v, want %v", k, s.Boxes[k], b)
		}
	}
	// Rectangle pixels inside the crop: x 5..11, y 4..7 → 7×4; crowd
	// columns 30 only (x < 31), rows 10..15 → 1×6.
	if got := areas(s); !slices.Equal(got, []int{28, 6}) {
		t.Errorf("areas %v, want [28 6]", got)
	}
	if p := s.Image.Pix; p[0] != 5 || p[1] != 4 || s.SegMap.Pix[25] != 3 {
		t.Errorf("crop origin pixel %v, seg %d", p[:3], s.SegMap.Pix[25])
	}

	// RandomCrop drops boxes left empty; a crop with none left is skipped.
	rc := build(t, "RandomCrop", &RandomCropOptions{CropSize: [2]int{30, 20}, CatMaxRatio: 1, IgnoreIndex: 255, ClipBoxes: true})
	kept, skipped := 0, 0
	for seed := uint64(0); seed < 50; seed++ {
		s := sample()
		err := rc.Apply(s, tensor.NewRNG(seed))
		if err == datasets.ErrSkipSample {
			skipped++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		kept++
		if s.Image.W != 20 || s.Image.H != 30 || len(s.Boxes) != len(s.Labels) || len(s.Boxes) != len(s.Masks) || len(s.Boxes) == 0 {
			t.Fatalf("seed %d: %dx%d image, %d boxes %d labels %d masks", seed, s.Image.W, s.Image.H, len(s.Boxes), len(s.Labels), len(s.Masks))
		}
		for _, b := range s.Boxes {
			if b[2] <= b[0] || b[3] <= b[1] || b[0] < 0 || b[2] > 20 {
				t.Fatalf("seed %d: box %v", seed, b)
			}
		}
	}
	// Offsets 0..20: box 0 survives for x0 < 12, box 1 for x0 > 10.
	if kept != 50 || skipped != 0 {
		t.Errorf("kept %d, skipped %d of 50; every 20-wide crop holds a box", kept, skipped)
	}
}

func TestCatMaxRatio(t *testing.T) {
	// Labels x/10: a 10-wide crop holds one class unless it straddles a
	// boundary.
	rc, _ := NewRandomCrop(RandomCropOptions{CropSize: [2]int{30, 10}, CatMaxRatio: 0.75, IgnoreIndex: 255, AllowNegativeCrop: true})
	if rc.balanced(sample().SegMap, 10, 0, 10, 30) {
		t.Error("a single-class crop counts as balanced")
	}
	if !rc.balanced(sample().SegMap, 5, 0, 10, 30) {
		t.Error("a 50/50 crop does not count as balanced")
	}
	if rc.balanced(sample().SegMap, 8, 0, 10, 30) { // 2 of 10 columns: 80%
		t.Error("an 80/20 crop counts as balanced at 0.75")
	}
	seg := sample().SegMap
	for i := range seg.Pix {
		if seg.Pix[i] == 0 {
			seg.Pix[i] = 255 // ignored pixels do not count
		}
	}
	if rc.balanced(seg, 5, 0, 10, 30) {
		t.Error("ignored pixels counted as a class")
	}
	good := 0
	for seed := uint64(0); seed < 40; seed++ {
		s := sample()
		s.Boxes, s.Labels, s.Ignore, s.Masks = nil, nil, nil, nil
		rc.Apply(s, tensor.NewRNG(seed))
		if rc.balanced(s.SegMap, 0, 0, 10, 30) {
			good++
		}
	}
	// Without retries 13 of 31 offsets qualify; ten retries make almost
	// every crop balanced.
	if good < 38 {
		t.Errorf("%d of 40 crops balanced, want nearly all", good)
	}
}

func TestPadNormalize(t *testing.T) {
	s := sample()
	build(t, "Pad", &PadOptions{SizeDivisor: 32, SegPadVal: 255}).Apply(s, nil)
	if s.Image.W != 64 || s.Image.H != 32 || s.Meta.PadShape != [2]int{32, 64} || s.Meta.ImgShape != [2]int{30, 40} {
		t.Fatalf("padded %dx%d, pad shape %v, img shape %v", s.Image.W, s.Image.H, s.Meta.PadShape, s.Meta.ImgShape)
	}
	if s.SegMap.Pix[31*64+10] != 255 || s.SegMap.Pix[10*64+45] != 255 || s.SegMap.Pix[29*64+39] != 3 || s.Image.Pix[3*(31*64)] != 0 {
		t.Error("padding values wrong")
	}
	n := build(t, "Normalize", nil)
	if err := n.Apply(s, nil); err != nil {
		t.Fatal(err)
	}
	if s.Image != nil || !slices.Equal(s.Input.Shape(), []int{3, 32, 64}) {
		t.Fatalf("input %v", s.Input.Shape())
	}
	// Pixel (39, 29) = (39, 29, 68).
	for c, v := range []float64{39, 29, 68} {
		mean := []float64{123.675, 116.28, 103.53}[c]
		std := []float64{58.395, 57.12, 57.375}[c]
		want := float32((v - mean) / std)
		if got := s.Input.At(c, 29, 39); math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("channel %d = %v, want %v", c, got, want)
		}
	}
	// BGR output puts blue first, with the first mean.
	s = sample()
	build(t, "Normalize", &NormalizeOptions{Mean: [3]float32{1, 2, 3}, Std: [3]float32{1, 1, 2}, ToRGB: false}).Apply(s, nil)
	if got := []float32{s.Input.At(0, 29, 39), s.Input.At(1, 29, 39), s.Input.At(2, 29, 39)}; !slices.Equal(got, []float32{67, 27, 18}) {
		t.Errorf("BGR pixel %v, want [67 27 18]", got)
	}
	// Pad after Normalize pads the tensor with pad_val.
	build(t, "Pad", &PadOptions{Size: [2]int{31, 41}, PadVal: -9, SegPadVal: 255}).Apply(s, nil)
	if s.Input.At(2, 30, 40) != -9 || s.Input.At(2, 29, 39) != 18 {
		t.Error("Pad on the normalised input")
	}
}

func TestLetterbox(t *testing.T) {
	s := sample()
	// r = min(64/30, 64/40) = 1.6 → 64×48, dh = 16: 8 above, 8 below.
	if err := build(t, "Letterbox", &LetterboxOptions{Size: [2]int{64, 64}, PadVal: 114, ScaleUp: true, Stride: 32}).Apply(s, nil); err != nil {
		t.Fatal(err)
	}
	if s.Image.W != 64 || s.Image.H != 64 || s.Meta.PadParam != [4]int{8, 8, 0, 0} {
		t.Fatalf("%dx%d pad %v", s.Image.W, s.Image.H, s.Meta.PadParam)
	}
	if want := [4]float32{3.2, 12.8, 19.2, 20.8}; !near(s.Boxes[0], want) {
		t.Errorf("box %v, want %v", s.Boxes[0], want)
	}
	if s.Image.Pix[0] != 114 || s.Image.Pix[3*(63*64)] != 114 || s.SegMap.Pix[0] != 255 {
		t.Error("border not filled")
	}
	// The rectangle: x 3.2..19.2 (pixel centres 4..18 → 16), y 12.8..20.8 → 8.
	// The crowd mask resizes by nearest source floor(d·0.625): columns
	// 30..33 come back at d = 48..54 (7), rows 10..19 at d = 16..31 (16).
	if got := areas(s); got[0] != 16*8 || got[1] != 7*16 {
		t.Errorf("areas %v", got)
	}
	// No scale-up: a small image stays small and is centred.
	s = sample()
	build(t, "Letterbox", &LetterboxOptions{Size: [2]int{64, 64}, PadVal: 114, Stride: 32}).Apply(s, nil)
	if s.Meta.PadParam != [4]int{17, 17, 12, 12} || s.Boxes[0] != [4]float32{14, 20, 24, 25} {
		t.Errorf("no scale-up: pad %v box %v", s.Meta.PadParam, s.Boxes[0])
	}
}

func TestClassificationCrops(t *testing.T) {
	s := sample()
	// crop_pct 0.5: short side floor(16/0.5) = 32, long int(32·40/30) = 42;
	// centre crop 16: offsets round(13) and round(8).
	build(t, "CenterCrop", &CenterCropOptions{Size: 16, CropPct: 0.5, Interpolation: "bicubic"}).Apply(s, nil)
	if s.Image.W != 16 || s.Image.H != 16 {
		t.Fatalf("%dx%d", s.Image.W, s.Image.H)
	}
	b0 := [4]float32{2 * 42.0 / 40, 3 * 32.0 / 30, 12 * 42.0 / 40, 8 * 32.0 / 30}
	want := [4]float32{b0[0] - 13, b0[1] - 8, b0[2] - 13, b0[3] - 8}
	for i := range want {
		want[i] = min(max(want[i], 0), 16)
	}
	if !near(s.Boxes[0], want) {
		t.Errorf("box %v, want %v", s.Boxes[0], want)
	}
	rrc, _ := NewRandomResizedCrop(DefaultRandomResizedCropOptions())
	rng := tensor.NewRNG(5)
	for i := 0; i < 500; i++ {
		x, y, w, h := rrc.Params(40, 30, rng)
		if w <= 0 || h <= 0 || x < 0 || y < 0 || x+w > 40 || y+h > 30 {
			t.Fatalf("crop %d,%d %dx%d outside 40×30", x, y, w, h)
		}
	}
	// A 100:1 image cannot fit the ratio bounds: the central fallback.
	if x, y, w, h := rrc.Params(1000, 10, tensor.NewRNG(1)); w != 13 || h != 10 || x != 493 || y != 0 {
		t.Errorf("fallback crop %d,%d %dx%d, want 493,0 13x10", x, y, w, h)
	}
	s = sample()
	rrcT := build(t, "RandomResizedCrop", &RandomResizedCropOptions{Size: 24, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{0.75, 4.0 / 3}, Interpolation: "bicubic"})
	rrcT.Apply(s, tensor.NewRNG(2))
	if s.Image.W != 24 || s.Image.H != 24 || s.SegMap.W != 24 {
		t.Errorf("RandomResizedCrop output %dx%d", s.Image.W, s.Image.H)
	}
}

// bilinearRef is the obviously correct float version of OpenCV's
// INTER_LINEAR: half-pixel centres, borders clamped, rounded to nearest.
func bilinearRef(src []uint8, w, h, c, dw, dh int) []uint8 {
	out := make([]uint8, dw*dh*c)
	coord := func(d, n, m int) (int, int, float64) {
		f := (float64(d)+0.5)*float64(n)/float64(m) - 0.5
		s := int(math.Floor(f))
		f -= float64(s)
		if s < 0 {
			s, f = 0, 0
		}
		if s >= n-1 {
			s, f = n-1, 0
		}
		return s, min(s+1, n-1), f
	}
	for y := 0; y < dh; y++ {
		y0, y1, fy := coord(y, h, dh)
		for x := 0; x < dw; x++ {
			x0, x1, fx := coord(x, w, dw)
			for k := 0; k < c; k++ {
				at := func(xx, yy int) float64 { return float64(src[(yy*w+xx)*c+k]) }
				v := (1-fy)*((1-fx)*at(x0, y0)+fx*at(x1, y0)) + fy*((1-fx)*at(x0, y1)+fx*at(x1, y1))
				out[(y*dw+x)*c+k] = uint8(math.Round(v))
			}
		}
	}
	return out
}

func TestBilinearAgainstFloat(t *testing.T) {
	rng := tensor.NewRNG(9)
	sizes := [][4]int{{1, 1, 3, 2}, {5, 4, 5, 4}, {7, 5, 14, 10}, {40, 30, 17, 13}, {33, 17, 64, 9}, {3, 9, 1, 1}, {64, 48, 107, 80}}
	for _, sz := range sizes {
		w, h, dw, dh := sz[0], sz[1], sz[2], sz[3]
		src := make([]uint8, w*h*3)
		for i := range src {
			src[i] = uint8(rng.Intn(256))
		}
		orig := slices.Clone(src)
		got := resizeBilinear(src, w, h, 3, dw, dh)
		want := bilinearRef(src, w, h, 3, dw, dh)
		if !slices.Equal(src, orig) {
			t.Fatalf("%v: input changed", sz)
		}
		bad := 0
		for i := range got {
			if d := int(got[i]) - int(want[i]); d > 1 || d < -1 {
				if bad++; bad <= 10 {
					t.Errorf("%dx%d→%dx%d: value %d = %d, float reference %d", w, h, dw, dh, i, got[i], want[i])
				}
			}
		}
	}
}

func TestPhotoMetric(t *testing.T) {
	// OpenCV's 8-bit HSV of the primaries and a gray.
	cases := []struct{ r, g, b, h, s, v uint8 }{
		{255, 0, 0, 0, 255, 255}, {0, 255, 0, 60, 255, 255}, {0, 0, 255, 120, 255, 255},
		{128, 128, 128, 0, 0, 128}, {255, 255, 0, 30, 255, 255}, {0, 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		if h, s, v := rgbToHSV(c.r, c.g, c.b); h != c.h || s != c.s || v != c.v {
			t.Errorf("rgbToHSV(%d,%d,%d) = %d,%d,%d, want %d,%d,%d", c.r, c.g, c.b, h, s, v, c.h, c.s, c.v)
		}
		if r, g, b := hsvToRGB(c.h, c.s, c.v); r != c.r || g != c.g || b != c.b {
			t.Errorf("hsvToRGB(%d,%d,%d) = %d,%d,%d, want %d,%d,%d", c.h, c.s, c.v, r, g, b, c.r, c.g, c.b)
		}
	}
	// Round trips stay within the 2° hue quantisation.
	rng := tensor.NewRNG(4)
	for i := 0; i < 5000; i++ {
		r, g, b := uint8(rng.Intn(256)), uint8(rng.Intn(256)), uint8(rng.Intn(256))
		r2, g2, b2 := hsvToRGB(rgbToHSV(r, g, b))
		for _, d := range []int{int(r2) - int(r), int(g2) - int(g), int(b2) - int(b)} {
			if d > 5 || d < -5 {
				t.Fatalf("round trip (%d,%d,%d) → (%d,%d,%d)", r, g, b, r2, g2, b2)
			}
		}
	}
	// The transform is deterministic for a seed and touches only pixels.
	pm := build(t, "PhotoMetricDistortion", nil)
	a, b := sample(), sample()
	pm.Apply(a, tensor.NewRNG(11))
	pm.Apply(b, tensor.NewRNG(11))
	if !slices.Equal(a.Image.Pix, b.Image.Pix) || a.Boxes[0] != sample().Boxes[0] {
		t.Error("not deterministic")
	}
	changed := false
	for seed := uint64(0); seed < 8 && !changed; seed++ {
		c := sample()
		pm.Apply(c, tensor.NewRNG(seed))
		changed = !slices.Equal(c.Image.Pix, sample().Image.Pix)
	}
	if !changed {
		t.Error("eight seeds left the image unchanged")
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"CenterCrop", "Letterbox", "LoadAnnotations", "LoadImage", "Normalize", "Pad", "PhotoMetricDistortion",
		"RandomCrop", "RandomFlip", "RandomResizedCrop", "Resize"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		o, err := Options(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(n, o); err != nil {
			t.Errorf("%s with defaults: %v", n, err)
		}
	}
	o, _ := Options("Resize")
	o.(*ResizeOptions).Scale = [][2]int{{64, 32}}
	tr, _ := Build("Resize", o)
	s := sample()
	tr.Apply(s, tensor.NewRNG(0))
	if s.Image.W != 43 || s.Image.H != 32 {
		t.Errorf("decoded options ignored: %dx%d, want 43x32", s.Image.W, s.Image.H)
	}
	if _, err := Build("Mosaic", nil); err == nil || !strings.HasPrefix(err.Error(), `transforms: unknown transform "Mosaic"; registered: CenterCrop, `) {
		t.Errorf("unknown name: %v", err)
	}
	s = sample()
	build(t, "Normalize", nil).Apply(s, nil)
	s.Meta.File = "a.jpg"
	if err := build(t, "Resize", nil).Apply(s, tensor.NewRNG(0)); err == nil ||
		err.Error() != "transforms: Resize: record 0 (a.jpg) has no 8-bit image; put it after LoadImage and before Normalize" {
		t.Errorf("Resize after Normalize: %v", err)
	}
	if _, err := Build("Pad", &ResizeOptions{}); err == nil || err.Error() != "transforms: Pad: options are *transforms.ResizeOptions, want *transforms.PadOptions" {
		t.Errorf("wrong options: %v", err)
	}
	if _, err := Build("Resize", &ResizeOptions{Scale: [][2]int{{10, 10}}, MultiscaleMode: "range", Interpolation: "lanczos"}); err == nil ||
		err.Error() != `transforms: Resize: interpolation "lanczos", want bilinear, nearest or bicubic` {
		t.Errorf("bad interpolation: %v", err)
	}
}

// BenchmarkResizeBilinear resizes a 640×480 RGB image to 1067×800, the
// COCO training resize, with the fixed-point kernel and the float
// reference.
func BenchmarkResizeBilinear(b *testing.B) {
	src := make([]uint8, 640*480*3)
	for i := range src {
		src[i] = uint8(i * 7)
	}
	for _, k := range []struct {
		name string
		fn   func([]uint8, int, int, int, int, int) []uint8
	}{{"fixed", resizeBilinear}, {"reference", bilinearRef}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(1067 * 800 * 3)
			for i := 0; i < b.N; i++ {
				k.fn(src, 640, 480, 3, 1067, 800)
			}
		})
	}
}

func TestLoadImageSizeCheck(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/a.png"
	f, _ := os.Create(path)
	png.Encode(f, image.NewGray(image.Rect(0, 0, 4, 3)))
	f.Close()
	li := build(t, "LoadImage", nil)
	s := &datasets.Sample{Meta: datasets.Meta{File: path, OriShape: [2]int{3, 4}}}
	if err := li.Apply(s, nil); err != nil || s.Image.W != 4 {
		t.Fatalf("matching size: %v", err)
	}
	s = &datasets.Sample{Meta: datasets.Meta{File: path, OriShape: [2]int{4, 3}}}
	err := li.Apply(s, nil)
	if want := "transforms: " + path + ": image is 4x3 but its annotation says 3x4 (rotated by its EXIF orientation? set ignore_orientation)"; err == nil || err.Error() != want {
		t.Errorf("mismatch: %v\nwant %s", err, want)
	}
}
