package coco

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/densepred/dp/eval/mask"
)

// SegKind says which of its three COCO forms a Segmentation holds.
type SegKind uint8

// The forms of a COCO "segmentation" value.
const (
	SegNone          SegKind = iota // absent or null
	SegPolygons                     // [[x0, y0, x1, y1, ...], ...]: polygon parts of one object
	SegRLE                          // {"size": [h, w], "counts": [n0, n1, ...]}: uncompressed RLE (crowd regions)
	SegCompressedRLE                // {"size": [h, w], "counts": "..."}: compressed RLE (mask results)
)

// Segmentation is an annotation's mask as a COCO file stores it. Only the
// fields of its Kind are set.
type Segmentation struct {
	Kind         SegKind
	Polygons     [][]float64 // SegPolygons; nil when read from a file, see PolygonList
	Size         [2]int      // [height, width] of an RLE
	Counts       []uint32    // SegRLE
	CountsString string      // SegCompressedRLE

	// raw is the JSON text of the polygon list as LoadDataset and
	// LoadResults read it; it is parsed when the mask is needed, which
	// spares bbox evaluation the cost of reading every coordinate.
	raw []byte
}

// PolygonList returns the polygon parts of a SegPolygons segmentation,
// parsing them if they were read from a file.
func (s *Segmentation) PolygonList() ([][]float64, error) {
	if s.Polygons != nil || s.raw == nil {
		return s.Polygons, nil
	}
	sc := &scanner{data: s.raw}
	polys, err := sc.polygons()
	if err != nil {
		return nil, fmt.Errorf("segmentation: %w", err)
	}
	return polys, nil
}

// UnmarshalJSON reads any of the three forms.
func (s *Segmentation) UnmarshalJSON(b []byte) error {
	// The result may point into its input, which encoding/json reuses.
	sc := &scanner{data: bytes.Clone(b)}
	seg, err := sc.segmentation()
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		return fmt.Errorf("coco: segmentation: %w", err)
	}
	*s = seg
	return nil
}

// MarshalJSON writes the form the Segmentation holds.
func (s Segmentation) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case SegPolygons:
		polys, err := s.PolygonList()
		if err != nil {
			return nil, err
		}
		return json.Marshal(polys)
	case SegRLE:
		return json.Marshal(struct {
			Size   [2]int   `json:"size"`
			Counts []uint32 `json:"counts"`
		}{s.Size, s.Counts})
	case SegCompressedRLE:
		return json.Marshal(struct {
			Size   [2]int `json:"size"`
			Counts string `json:"counts"`
		}{s.Size, s.CountsString})
	}
	return []byte("null"), nil
}

// ToRLE returns the mask of the segmentation in an h×w image, as
// pycocotools' COCO.annToRLE does: polygon parts are rasterized and merged;
// an RLE keeps its own size. As frPyObjects does, when the first polygon part
// has exactly 4 numbers every part is read as a box [x, y, w, h]. An absent
// segmentation or an empty list of parts gives an empty mask (pycocotools
// raises).
func (s *Segmentation) ToRLE(h, w int) (mask.RLE, error) {
	switch s.Kind {
	case SegPolygons:
		polys, err := s.PolygonList()
		if err != nil {
			return mask.RLE{}, err
		}
		if len(polys) == 0 {
			return mask.Empty(h, w), nil
		}
		first := len(polys[0])
		switch {
		case first == 4:
			rles := make([]mask.RLE, len(polys))
			for i, p := range polys {
				if len(p) != 4 {
					return mask.RLE{}, fmt.Errorf("segmentation part 0 has 4 numbers, read as a box, but part %d has %d", i, len(p))
				}
				rles[i] = mask.FrBBox([4]float64{p[0], p[1], p[2], p[3]}, h, w)
			}
			return mask.Merge(rles, false), nil
		case first < 4:
			return mask.RLE{}, fmt.Errorf("segmentation polygon 0 has %d numbers, want at least 6", first)
		}
		return mask.FrPolys(polys, h, w), nil
	case SegRLE:
		return mask.FromUncompressed(s.Counts, s.Size[0], s.Size[1])
	case SegCompressedRLE:
		return mask.FrString(s.CountsString, s.Size[0], s.Size[1])
	}
	return mask.Empty(h, w), nil
}
