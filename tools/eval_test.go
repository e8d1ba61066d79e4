package tools

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The COCO fixture committed with eval/coco.
const evalCocoTestdata = "../eval/coco/testdata"

func evalRunDP(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = App(&out, &errOut).Run(append([]string{"dp"}, args...))
	return out.String(), errOut.String(), err
}

func TestEvalCoco(t *testing.T) {
	gt := filepath.Join(evalCocoTestdata, "instances_val2014_100.json")
	dt := filepath.Join(evalCocoTestdata, "instances_val2014_fakesegm100_results.json")
	if _, err := os.Stat(gt); err != nil {
		t.Skipf("COCO fixture not found: %v", err)
	}
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	out, _, err := evalRunDP(t, "eval", "coco", "--gt", gt, "--dt", dt, "--iou-type", "segm", "--classwise", "--json", jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	// The first and last lines of cocoapi's results/val2014_fake_eval_res.txt for segm.
	for _, want := range []string{
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.320\n",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.381\n",
		"person", // --classwise table
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var res struct {
		Stats       []float64           `json:"stats"`
		PerCategory map[string]*float64 `json:"per_category"`
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Stats) != 12 || res.Stats[0] != 0.3195452758576433 {
		t.Errorf("stats = %v, want 12 numbers starting 0.3195452758576433", res.Stats)
	}
	if len(res.PerCategory) != 80 || res.PerCategory["person"] == nil {
		t.Errorf("per_category has %d entries, person %v", len(res.PerCategory), res.PerCategory["person"])
	}
	// No temporary file is left beside the output.
	if ents, _ := os.ReadDir(filepath.Dir(jsonPath)); len(ents) != 1 {
		t.Errorf("output directory holds %d files, want 1", len(ents))
	}
}

func TestEvalCocoErrors(t *testing.T) {
	gt := filepath.Join(evalCocoTestdata, "instances_val2014_100.json")
	if _, err := os.Stat(gt); err != nil {
		t.Skipf("COCO fixture not found: %v", err)
	}
	dir := t.TempDir()
	notList := filepath.Join(dir, "dt.json")
	os.WriteFile(notList, []byte(`{"image_id": 42}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--gt", gt, "--dt", notList}, "not a JSON list"},
		{[]string{"--gt", gt, "--dt", notList, "--iou-type", "keypoints"}, "want bbox or segm"},
		{[]string{"--gt", gt, "--dt", notList, "--max-dets", "1,10"}, "at least three"},
		{[]string{"--gt", filepath.Join(dir, "missing.json"), "--dt", notList}, "missing.json"},
	} {
		_, _, err := evalRunDP(t, append([]string{"eval", "coco"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func writeLabelPNG(t *testing.T, path string, w, h int, pix []uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, pix)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestEvalSeg(t *testing.T) {
	dir := t.TempDir()
	pred, gt := filepath.Join(dir, "pred"), filepath.Join(dir, "gt")
	os.Mkdir(pred, 0o755)
	os.Mkdir(gt, 0o755)
	// Two images; class 2 is never present. Pairs (pred, label) kept:
	// a: (0,0) (0,1) (1,1) (1,1); b: (0,0) (1,0), one ignored pixel.
	// pred areas 3, 3; label areas 3, 3; intersections 2, 2.
	writeLabelPNG(t, filepath.Join(pred, "a.png"), 2, 2, []uint8{0, 0, 1, 1})
	writeLabelPNG(t, filepath.Join(gt, "a.png"), 2, 2, []uint8{0, 1, 1, 1})
	writeLabelPNG(t, filepath.Join(pred, "b.png"), 3, 1, []uint8{0, 1, 1})
	writeLabelPNG(t, filepath.Join(gt, "b.png"), 3, 1, []uint8{0, 0, 255})
	jsonPath := filepath.Join(dir, "seg.json")
	out, _, err := evalRunDP(t, "eval", "seg", "--pred", pred, "--gt", gt, "--num-classes", "3", "--json", jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 images: aAcc 66.67  mIoU 50.00  mAcc 66.67") {
		t.Errorf("output:\n%s", out)
	}
	var res struct {
		AAcc, MIoU, MAcc float64
		IoU, Acc         []*float64
	}
	data, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.AAcc-4.0/6) > 1e-15 || res.MIoU != 0.5 || math.Abs(res.MAcc-2.0/3) > 1e-15 ||
		len(res.IoU) != 3 || res.IoU[2] != nil || res.Acc[2] != nil || *res.IoU[0] != 0.5 {
		t.Errorf("json = %s", data)
	}

	// A prediction of another size is an error naming the file.
	writeLabelPNG(t, filepath.Join(pred, "b.png"), 2, 1, []uint8{0, 1})
	_, _, err = evalRunDP(t, "eval", "seg", "--pred", pred, "--gt", gt, "--num-classes", "3")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(pred, "b.png")) || !strings.Contains(err.Error(), "2x1") {
		t.Errorf("size mismatch: error %v", err)
	}
	// A missing prediction too.
	os.Remove(filepath.Join(pred, "b.png"))
	_, _, err = evalRunDP(t, "eval", "seg", "--pred", pred, "--gt", gt, "--num-classes", "3")
	if err == nil || !strings.Contains(err.Error(), "no prediction") {
		t.Errorf("missing prediction: error %v", err)
	}
}
