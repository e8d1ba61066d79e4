package coco

import (
	"math"
	"path/filepath"
	"testing"
)

// The 12 stats pycocotools' COCOeval prints for the cocoapi fake results on
// the first 100 COCO val2014 images (testdata/, copied from
// shared/fixtures/coco-val2014-100, whose README lists them).
var fixtureStats = map[IoUType][]float64{
	BBox: {0.5045806987249628, 0.6969727247299577, 0.5729816669904824, 0.5856257209410443, 0.5193996948036719,
		0.5013978986347466, 0.38681277964578054, 0.5936795762842003, 0.595352982877607, 0.6398109626113442,
		0.5664205978994309, 0.5642905982905982},
	Segm: {0.3195452758576433, 0.5622883972521636, 0.29892653412086784, 0.3873740315997838, 0.31018272403369485,
		0.3269339071005138, 0.2682297225711534, 0.41544868114906375, 0.4168394992198818, 0.4694498622754236,
		0.37675922666197265, 0.3814715099715099},
}

func TestFixtureStats(t *testing.T) {
	gt, err := LoadDataset(filepath.Join("testdata", "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iouType IoUType
		results string
	}{
		{BBox, "instances_val2014_fakebbox100_results.json"},
		{Segm, "instances_val2014_fakesegm100_results.json"},
	} {
		dt, err := gt.LoadResults(filepath.Join("testdata", tc.results))
		if err != nil {
			t.Fatal(err)
		}
		e := NewEval(gt, dt, DefaultParams(tc.iouType))
		if err := e.Evaluate(); err != nil {
			t.Fatal(err)
		}
		e.Accumulate()
		stats := e.Summarize()
		for i, want := range fixtureStats[tc.iouType] {
			if math.Abs(stats[i]-want) > 1e-12 {
				t.Errorf("%s stats[%d] = %.17g, want %.17g (diff %.3g)", tc.iouType, i, stats[i], want, stats[i]-want)
			} else if stats[i] != want {
				t.Logf("%s stats[%d] = %.17g, want %.17g: within 1e-12 but not equal", tc.iouType, i, stats[i], want)
			}
		}
	}
}
