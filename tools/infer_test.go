package tools

import (
	"encoding/json"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/coco"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/models"
)

// grey returns a w×h image of one grey level.
func grey(w, h int, v uint8) *datasets.Image {
	img := datasets.NewImage(w, h)
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestDrawDetection(t *testing.T) {
	img := grey(300, 260, 100)
	// A mask covering columns 20..59 of rows 30..69.
	bm := make([]uint8, 300*260)
	for y := 30; y < 70; y++ {
		for x := 20; x < 60; x++ {
			bm[y*300+x] = 1
		}
	}
	res := models.Result{
		Boxes:  [][4]float32{{10, 20, 110, 120}, {150, 150, 200, 200}},
		Scores: []float32{0.9, 0.1},
		Labels: []int{1, 0},
		Masks:  []mask.RLE{mask.Encode(bm, 260, 300), mask.Empty(260, 300)},
	}
	d := &Drawer{Classes: []string{"cat", "dog"}, ScoreThr: 0.3}
	out := d.Draw(img, res)
	if b := out.Bounds(); b.Dx() != 300 || b.Dy() != 260 {
		t.Fatalf("picture %v, want 300x260 (no enlargement above %d pixels)", b, minDrawSide)
	}
	c := palette(1)
	at := func(x, y int) color.RGBA { return out.RGBAAt(x, y) }
	if got := at(10, 100); got != c { // left edge of the box, outside the mask
		t.Errorf("box edge pixel %v, want the class colour %v", got, c)
	}
	want := color.RGBA{uint8(100*0.55 + float64(c.R)*0.45 + 0.5), uint8(100*0.55 + float64(c.G)*0.45 + 0.5), uint8(100*0.55 + float64(c.B)*0.45 + 0.5), 255}
	if got := at(40, 50); got != want {
		t.Errorf("mask pixel %v, want the 45%% blend %v", got, want)
	}
	if got := at(250, 250); got != (color.RGBA{100, 100, 100, 255}) {
		t.Errorf("background pixel %v changed", got)
	}
	if got := at(175, 150); got != (color.RGBA{100, 100, 100, 255}) {
		t.Errorf("a detection below the score threshold was drawn: %v", got)
	}
	// The label sits above the box on a dark band: some pixels are the
	// text colour (the class colour), the band is darker than the image.
	text, band := 0, 0
	for y := 0; y < 20; y++ {
		for x := 10; x < 110; x++ {
			switch p := at(x, y); {
			case p == c:
				text++
			case p.R < 100:
				band++
			}
		}
	}
	if text < 20 || band < 200 {
		t.Errorf("label above the box: %d text and %d band pixels", text, band)
	}
}

func TestDrawSegmentationAndClasses(t *testing.T) {
	img := grey(40, 30, 0)
	seg := datasets.NewPlane(40, 30)
	for i := range seg.Pix {
		seg.Pix[i] = 2
	}
	seg.Pix[0] = 255
	d := &Drawer{Classes: []string{"a", "b", "road"}}
	out := d.Draw(img, models.Result{SegMap: seg})
	k := (minDrawSide + 39) / 40
	if b := out.Bounds(); b.Dx() != 40*k || b.Dy() != 30*k {
		t.Fatalf("picture %v, want enlarged %dx", b, k)
	}
	c := palette(2)
	want := color.RGBA{uint8(float64(c.R)*0.5 + 0.5), uint8(float64(c.G)*0.5 + 0.5), uint8(float64(c.B)*0.5 + 0.5), 255}
	if got := out.RGBAAt(40*k-1, 30*k-1); got != want {
		t.Errorf("overlay pixel %v, want %v", got, want)
	}
	// The legend's swatch is the full class colour.
	if got := out.RGBAAt(8, 10); got != c {
		t.Errorf("legend swatch %v, want %v", got, c)
	}

	cls := d.Draw(grey(64, 64, 0), models.Result{Logits: []float32{0, 3, 1}})
	white := 0
	for y := 0; y < 60; y++ {
		for x := 0; x < 120; x++ {
			if cls.RGBAAt(x, y) == (color.RGBA{255, 255, 255, 255}) {
				white++
			}
		}
	}
	if white < 100 {
		t.Errorf("top-k text: only %d white pixels", white)
	}
}

func TestWriteCocoResults(t *testing.T) {
	dir := t.TempDir()
	bm := make([]uint8, 6*5)
	bm[7], bm[8], bm[13] = 1, 1, 1
	rle := mask.Encode(bm, 6, 5)
	results := []coco.Result{
		{ImageID: 3, CategoryID: 18, BBox: []float64{1, 2, 3, 4}, Score: 0.5,
			Segmentation: coco.Segmentation{Kind: coco.SegRLE, Size: [2]int{6, 5}, Counts: rle.Counts}},
	}
	path := filepath.Join(dir, "out", "r.json")
	if err := writeCocoResults(path, results); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got := string(b); got != `[{"image_id":3,"category_id":18,"bbox":[1,2,3,4],"score":0.5}]` {
		t.Errorf("box results %s", got)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "out", "r.segm.json"))
	var segs []struct {
		ImageID      int64 `json:"image_id"`
		Segmentation struct {
			Size   [2]int `json:"size"`
			Counts string `json:"counts"`
		} `json:"segmentation"`
		BBox []float64 `json:"bbox"`
	}
	if err := json.Unmarshal(b, &segs); err != nil || len(segs) != 1 || segs[0].BBox != nil {
		t.Fatalf("mask results %s: %v", b, err)
	}
	back, err := mask.FrString(segs[0].Segmentation.Counts, 6, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Counts) != len(rle.Counts) {
		t.Fatalf("mask counts %v, want %v", back.Counts, rle.Counts)
	}
	for i := range back.Counts {
		if back.Counts[i] != rle.Counts[i] {
			t.Fatalf("mask counts %v, want %v", back.Counts, rle.Counts)
		}
	}
	if segs[0].Segmentation.Size != [2]int{6, 5} {
		t.Errorf("mask size %v", segs[0].Segmentation.Size)
	}
}
