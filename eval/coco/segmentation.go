package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

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
	Polygons     [][]float64 // SegPolygons
	Size         [2]int      // [height, width] of an RLE
	Counts       []uint32    // SegRLE
	CountsString string      // SegCompressedRLE
}

// UnmarshalJSON reads any of the three forms. Polygons, the bulk of a COCO
// ground-truth file, are parsed by a direct scanner: encoding/json would scan
// them three times through this method.
func (s *Segmentation) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return errors.New("empty segmentation")
	}
	switch b[0] {
	case 'n':
		*s = Segmentation{}
		return nil
	case '[':
		polys, err := parsePolygons(b)
		if err != nil {
			return err
		}
		*s = Segmentation{Kind: SegPolygons, Polygons: polys}
		return nil
	case '{':
		var rle struct {
			Size   []int           `json:"size"`
			Counts json.RawMessage `json:"counts"`
		}
		if err := json.Unmarshal(b, &rle); err != nil {
			return err
		}
		if len(rle.Size) != 2 {
			return fmt.Errorf("RLE size has %d numbers, want [height, width]", len(rle.Size))
		}
		*s = Segmentation{Size: [2]int{rle.Size[0], rle.Size[1]}}
		c := bytes.TrimLeft(rle.Counts, " \t\r\n")
		switch {
		case len(c) > 0 && c[0] == '"':
			s.Kind = SegCompressedRLE
			return json.Unmarshal(c, &s.CountsString)
		case len(c) > 0 && c[0] == '[':
			s.Kind = SegRLE
			return json.Unmarshal(c, &s.Counts)
		default:
			return errors.New("RLE counts is neither a string nor a list of numbers")
		}
	}
	return fmt.Errorf("segmentation starts with %q, want a list of polygons or an RLE object", b[0])
}

// MarshalJSON writes the form the Segmentation holds.
func (s Segmentation) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case SegPolygons:
		return json.Marshal(s.Polygons)
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

// parsePolygons parses a JSON list of lists of numbers, already checked to be
// valid JSON by the caller's decoder.
func parsePolygons(b []byte) ([][]float64, error) {
	p := 0
	skip := func() {
		for p < len(b) && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t') {
			p++
		}
	}
	expect := func(c byte) error {
		skip()
		if p >= len(b) || b[p] != c {
			return fmt.Errorf("polygon list: want %q at byte %d", c, p)
		}
		p++
		return nil
	}
	if err := expect('['); err != nil {
		return nil, err
	}
	var polys [][]float64
	skip()
	if p < len(b) && b[p] == ']' {
		return [][]float64{}, nil
	}
	for {
		if err := expect('['); err != nil {
			return nil, err
		}
		poly := make([]float64, 0, 32)
		skip()
		if p < len(b) && b[p] == ']' {
			p++
		} else {
			for {
				skip()
				start := p
				for p < len(b) && (b[p] >= '0' && b[p] <= '9' || b[p] == '-' || b[p] == '+' || b[p] == '.' || b[p] == 'e' || b[p] == 'E') {
					p++
				}
				// ParseFloat does not keep the string, so a view of b is safe.
				v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b[start:p]), p-start), 64)
				if err != nil || start == p {
					return nil, fmt.Errorf("polygon %d: want a number at byte %d", len(polys), start)
				}
				poly = append(poly, v)
				skip()
				if p < len(b) && b[p] == ',' {
					p++
					continue
				}
				if err := expect(']'); err != nil {
					return nil, err
				}
				break
			}
		}
		polys = append(polys, poly)
		skip()
		if p < len(b) && b[p] == ',' {
			p++
			continue
		}
		if err := expect(']'); err != nil {
			return nil, err
		}
		return polys, nil
	}
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
		if len(s.Polygons) == 0 {
			return mask.Empty(h, w), nil
		}
		first := len(s.Polygons[0])
		switch {
		case first == 4:
			rles := make([]mask.RLE, len(s.Polygons))
			for i, p := range s.Polygons {
				if len(p) != 4 {
					return mask.RLE{}, fmt.Errorf("segmentation part 0 has 4 numbers, read as a box, but part %d has %d", i, len(p))
				}
				rles[i] = mask.FrBBox([4]float64{p[0], p[1], p[2], p[3]}, h, w)
			}
			return mask.Merge(rles, false), nil
		case first < 4:
			return mask.RLE{}, fmt.Errorf("segmentation polygon 0 has %d numbers, want at least 6", first)
		}
		return mask.FrPolys(s.Polygons, h, w), nil
	case SegRLE:
		return mask.FromUncompressed(s.Counts, s.Size[0], s.Size[1])
	case SegCompressedRLE:
		return mask.FrString(s.CountsString, s.Size[0], s.Size[1])
	}
	return mask.Empty(h, w), nil
}
