package mask

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// rowMajor parses a picture of a mask, one string per row, '#' foreground.
func rowMajor(rows ...string) (bitmap []uint8, h, w int) {
	h, w = len(rows), len(rows[0])
	for _, r := range rows {
		for _, c := range r {
			var v uint8
			if c == '#' {
				v = 1
			}
			bitmap = append(bitmap, v)
		}
	}
	return bitmap, h, w
}

func TestEncodeDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rows   []string
		counts []uint32
		area   int
		bbox   [4]float64
	}{
		// Column-major pixels 0 0 1 | 1 1 0.
		{"doc example", []string{".#", ".#", "#."}, []uint32{2, 3, 1}, 3, [4]float64{0, 0, 2, 3}},
		// Starts with foreground: an empty first run.
		{"starts with one", []string{"#.", ".."}, []uint32{0, 1, 3}, 1, [4]float64{0, 0, 1, 1}},
		{"empty", []string{"...", "..."}, []uint32{6}, 0, [4]float64{}},
		{"full", []string{"##", "##"}, []uint32{0, 4}, 4, [4]float64{0, 0, 2, 2}},
		// One pixel in the middle of a 3×3 image: position 1*3+1 = 4.
		{"centre pixel", []string{"...", ".#.", "..."}, []uint32{4, 1, 4}, 1, [4]float64{1, 1, 1, 1}},
		// Column-major pixels 1 0 1 | 0 0 1.
		{"three runs", []string{"#.", "..", "##"}, []uint32{0, 1, 1, 1, 2, 1}, 3, [4]float64{0, 0, 2, 3}},
	} {
		bm, h, w := rowMajor(tc.rows...)
		r := Encode(bm, h, w)
		if r.H != h || r.W != w || !slices.Equal(r.Counts, tc.counts) {
			t.Errorf("%s: Encode = %v %dx%d, want %v %dx%d", tc.name, r.Counts, r.H, r.W, tc.counts, h, w)
			continue
		}
		if got := r.Decode(); !slices.Equal(got, bm) {
			t.Errorf("%s: Decode = %v, want %v", tc.name, got, bm)
		}
		col := r.DecodeColMajor()
		if again := EncodeColMajor(col, h, w); !slices.Equal(again.Counts, tc.counts) {
			t.Errorf("%s: EncodeColMajor(DecodeColMajor) = %v, want %v", tc.name, again.Counts, tc.counts)
		}
		for x := 0; x < w; x++ {
			for y := 0; y < h; y++ {
				if col[x*h+y] != bm[y*w+x] {
					t.Fatalf("%s: DecodeColMajor pixel (%d,%d) = %d, want %d", tc.name, x, y, col[x*h+y], bm[y*w+x])
				}
			}
		}
		if got := r.Area(); got != tc.area {
			t.Errorf("%s: Area = %d, want %d", tc.name, got, tc.area)
		}
		if got := r.ToBBox(); got != tc.bbox {
			t.Errorf("%s: ToBBox = %v, want %v", tc.name, got, tc.bbox)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tc.name, err)
		}
	}
}

func TestToBBoxRunAcrossColumns(t *testing.T) {
	// A run of ones from the bottom of column 0 into the top of column 1:
	// pixels (0,2) and (1,0) only, but the COCO API widens the box to the
	// full height whenever one run spans two columns.
	r := RLE{H: 3, W: 2, Counts: []uint32{2, 2, 2}}
	if got, want := r.ToBBox(), [4]float64{0, 0, 2, 3}; got != want {
		t.Errorf("ToBBox = %v, want %v", got, want)
	}
}

func TestEncodePanicsOnSize(t *testing.T) {
	defer func() {
		if r := recover(); r != errBitmapSize {
			t.Errorf("recover() = %v, want %q", r, errBitmapSize)
		}
	}()
	Encode(make([]uint8, 5), 2, 3)
}

func TestMerge(t *testing.T) {
	a, h, w := rowMajor("##.", "...", "...")
	b, _, _ := rowMajor(".##", ".#.", "...")
	c, _, _ := rowMajor("...", "...", "..#")
	union, _, _ := rowMajor("###", ".#.", "...")
	inter, _, _ := rowMajor(".#.", "...", "...")
	A, B, C := Encode(a, h, w), Encode(b, h, w), Encode(c, h, w)
	union3, _, _ := rowMajor("###", ".#.", "..#")
	for _, tc := range []struct {
		name      string
		in        []RLE
		intersect bool
		want      []uint8
	}{
		{"union", []RLE{A, B}, false, union},
		{"intersection", []RLE{A, B}, true, inter},
		{"union of three", []RLE{A, B, C}, false, union3},
		{"disjoint intersection", []RLE{A, C}, true, make([]uint8, 9)},
		{"one", []RLE{B}, false, b},
	} {
		got := Merge(tc.in, tc.intersect)
		if want := Encode(tc.want, h, w); !slices.Equal(got.Counts, want.Counts) || got.H != h || got.W != w {
			t.Errorf("%s: Merge = %v, want %v", tc.name, got.Counts, want.Counts)
		}
	}
	if got := Merge(nil, false); got.H != 0 || got.W != 0 || len(got.Counts) != 0 {
		t.Errorf("Merge(nil) = %+v, want zero RLE", got)
	}
	if got := Merge([]RLE{A, Empty(2, 2)}, false); got.H != 0 || len(got.Counts) != 0 {
		t.Errorf("Merge of different sizes = %+v, want zero RLE", got)
	}
	// Merge must not change its inputs.
	if !slices.Equal(A.Decode(), a) {
		t.Errorf("Merge changed its input")
	}
}

func TestIoU(t *testing.T) {
	d1, h, w := rowMajor("##..", "##..", "....", "....") // area 4
	d2, _, _ := rowMajor("....", "....", "....", "...#") // area 1
	g1, _, _ := rowMajor("###.", "###.", "....", "....") // area 6, contains d1
	g2, _, _ := rowMajor("....", ".##.", ".##.", "....") // area 4, overlaps d1 in 1
	dt := []RLE{Encode(d1, h, w), Encode(d2, h, w)}
	gt := []RLE{Encode(g1, h, w), Encode(g2, h, w)}
	got := IoU(dt, gt, []bool{false, true})
	want := [][]float64{
		{4.0 / 6, 1.0 / 4}, // crowd g2: intersection 1 over the detection's area 4
		{0, 0},
	}
	for d := range want {
		for g := range want[d] {
			if got[d][g] != want[d][g] {
				t.Errorf("IoU[%d][%d] = %v, want %v", d, g, got[d][g], want[d][g])
			}
		}
	}
	// Without the crowd flag g2 scores intersection 1 over union 7.
	if got := IoU(dt, gt, nil)[0][1]; got != 1.0/7 {
		t.Errorf("IoU non-crowd = %v, want 1/7", got)
	}
	// Different sizes with overlapping boxes score -1.
	other := Encode([]uint8{1, 1, 1, 1, 1, 1}, 2, 3)
	if got := IoU([]RLE{other}, gt[:1], nil)[0][0]; got != -1 {
		t.Errorf("IoU of different sizes = %v, want -1", got)
	}
	if got := IoU(nil, gt, nil); len(got) != 0 {
		t.Errorf("IoU(nil, gt) has %d rows, want 0", len(got))
	}
}

func TestBBoxIoU(t *testing.T) {
	dt := [][4]float64{{0, 0, 10, 10}, {5, 5, 10, 10}, {19, 19, 1, 1}, {10, 0, 5, 5}, {20, 0, 1, 1}}
	gt := [][4]float64{{0, 0, 10, 10}, {0, 0, 20, 20}}
	got := BBoxIoU(dt, gt, []bool{false, true})
	want := [][]float64{
		{1, 1},          // inside the crowd box: intersection over own area
		{25.0 / 175, 1}, // 5×5 overlap, union 100+100-25
		{0, 1},          // the crowd box contains it
		{0, 1},          // touches gt 0 along an edge: width 0 is no overlap
		{0, 0},          // touches the crowd box's right edge
	}
	for d := range want {
		for g := range want[d] {
			if got[d][g] != want[d][g] {
				t.Errorf("BBoxIoU[%d][%d] = %v, want %v", d, g, got[d][g], want[d][g])
			}
		}
	}
}

func TestFrPoly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xy     []float64
		h, w   int
		counts []uint32
	}{
		// Pixels whose centres lie inside the 2×2 square: columns 0 and 1, rows 0 and 1.
		{"square", []float64{0, 0, 2, 0, 2, 2, 0, 2}, 4, 4, []uint32{0, 2, 2, 2, 10}},
		// The same square drawn counter-clockwise.
		{"square reversed", []float64{0, 2, 2, 2, 2, 0, 0, 0}, 4, 4, []uint32{0, 2, 2, 2, 10}},
		// Centres with x+y < 3 (x+y = 3 lies on the hypotenuse and stays out):
		// column 0 rows 0-2, column 1 rows 0-1, column 2 row 0.
		{"triangle", []float64{0, 0, 4, 0, 0, 4}, 4, 4, []uint32{0, 3, 1, 2, 2, 1, 7}},
		// Partly outside on the left and top: clipped to the centres at x, y < 2.
		{"outside top left", []float64{-2, -2, 2, -2, 2, 2, -2, 2}, 4, 4, []uint32{0, 2, 2, 2, 10}},
		// Partly outside on the right: columns 2 and 3 only.
		{"outside right", []float64{2, 0, 6, 0, 6, 4, 2, 4}, 4, 4, []uint32{8, 8}},
		// Partly outside at the bottom: rows 2 and 3 of column 0, rows clamped to h.
		{"outside bottom", []float64{0, 2, 1, 2, 1, 9, 0, 9}, 4, 4, []uint32{2, 2, 12}},
		// Entirely outside.
		{"outside", []float64{5, 0, 8, 0, 8, 4, 5, 4}, 4, 4, []uint32{16}},
		// Degenerate inputs.
		{"one vertex", []float64{1, 1}, 3, 3, []uint32{9}},
		{"no vertices", nil, 3, 3, []uint32{9}},
		{"odd coordinate ignored", []float64{0, 0, 2, 0, 2, 2, 0, 2, 7}, 4, 4, []uint32{0, 2, 2, 2, 10}},
		// A repeated vertex (a zero-length edge) changes nothing.
		{"repeated vertex", []float64{0, 0, 2, 0, 2, 0, 2, 2, 0, 2}, 4, 4, []uint32{0, 2, 2, 2, 10}},
	} {
		got := FrPoly(tc.xy, tc.h, tc.w)
		if got.H != tc.h || got.W != tc.w || !slices.Equal(got.Counts, tc.counts) {
			t.Errorf("%s: FrPoly = %v, want %v", tc.name, got.Counts, tc.counts)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestFrPolysAndFrBBox(t *testing.T) {
	// Two unit squares at (0,0) and (2,2) of a 3×3 image.
	got := FrPolys([][]float64{{0, 0, 1, 0, 1, 1, 0, 1}, {2, 2, 3, 2, 3, 3, 2, 3}}, 3, 3)
	if want := []uint32{0, 1, 7, 1}; !slices.Equal(got.Counts, want) {
		t.Errorf("FrPolys = %v, want %v", got.Counts, want)
	}
	if got := FrPolys(nil, 2, 2); !slices.Equal(got.Counts, []uint32{4}) {
		t.Errorf("FrPolys(nil) = %v, want [4]", got.Counts)
	}
	// A box [1, 0, 2, 3] covers columns 1-2, all rows of a 3×4 image.
	if got, want := FrBBox([4]float64{1, 0, 2, 3}, 3, 4), []uint32{3, 6, 3}; !slices.Equal(got.Counts, want) {
		t.Errorf("FrBBox = %v, want %v", got.Counts, want)
	}
}

func TestString(t *testing.T) {
	// Hand-encoded cases.
	for _, tc := range []struct {
		counts []uint32
		s      string
	}{
		{[]uint32{0, 3, 1, 2, 2, 1, 7}, "031O1O5"},
		// 16 has bit 4 set, which would read as a sign, so it takes two
		// characters: (16&31)|32 = 48 -> '`', then 0 -> '0'.
		{[]uint32{16}, "`0"},
		// 100 = 3·32 + 4: 4|32 = 36 -> 'T', then 3 -> '3'.
		{[]uint32{5, 100, 5}, "5T35"},
		// 20 has bit 4 set: (20|32)+48 = 'd', then '0'. From the fourth count
		// on the difference to the count two back is written: 5-20 = -15,
		// whose low five bits are 17 with the sign bit set: 17+48 = 'A'.
		{[]uint32{6, 20, 5, 5}, "6d05A"},
	} {
		h := 0
		for _, c := range tc.counts {
			h += int(c)
		}
		r := RLE{H: h, W: 1, Counts: tc.counts}
		if got := r.String(); got != tc.s {
			t.Errorf("String(%v) = %q, want %q", tc.counts, got, tc.s)
		}
		back, err := FrString(tc.s, h, 1)
		if err != nil || !slices.Equal(back.Counts, tc.counts) {
			t.Errorf("FrString(%q) = %v, %v, want %v", tc.s, back.Counts, err, tc.counts)
		}
	}
}

func TestFrStringErrors(t *testing.T) {
	for _, tc := range []struct {
		s    string
		h, w int
		want string
	}{
		{"031O1O5", 4, 5, "sum to 16, want"},
		{"03 1", 2, 2, "byte ' ' at offset 2"},
		{"0T", 2, 2, "ends inside count 1"},
		{"", 2, 2, "no counts"},
		{"O", 1, 1, "outside 0..2^32-1"},
	} {
		_, err := FrString(tc.s, tc.h, tc.w)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "mask: ") {
			t.Errorf("FrString(%q) error = %v, want it to contain %q", tc.s, err, tc.want)
		}
	}
	if _, err := FromUncompressed([]uint32{1, 2}, 2, 2); err == nil || !strings.Contains(err.Error(), "sum to 3") {
		t.Errorf("FromUncompressed error = %v, want counts sum error", err)
	}
	if r, err := FromUncompressed([]uint32{1, 3}, 2, 2); err != nil || r.Area() != 3 {
		t.Errorf("FromUncompressed = %v, %v, want area 3", r, err)
	}
}

func TestRoundTripMany(t *testing.T) {
	// Every 3×3 bitmap: Encode/Decode, String/FrString and Area agree with a
	// direct count.
	for bits := 0; bits < 1<<9; bits++ {
		bm := make([]uint8, 9)
		n := 0
		for i := range bm {
			if bits>>i&1 == 1 {
				bm[i] = 1
				n++
			}
		}
		r := Encode(bm, 3, 3)
		if !slices.Equal(r.Decode(), bm) || r.Area() != n {
			t.Fatalf("bitmap %09b: round trip failed: %v", bits, r.Counts)
		}
		back, err := FrString(r.String(), 3, 3)
		if err != nil || !slices.Equal(back.Counts, r.Counts) {
			t.Fatalf("bitmap %09b: FrString(String) = %v, %v, want %v", bits, back.Counts, err, r.Counts)
		}
		if got := PairIoU(r, r, false); n > 0 && got != 1 {
			t.Fatalf("bitmap %09b: self IoU = %v", bits, got)
		}
		if Merge([]RLE{r, r}, true).Area() != n || Merge([]RLE{r, r}, false).Area() != n {
			t.Fatalf("bitmap %09b: self intersection or union area differs", bits)
		}
	}
}

func TestToBBoxFastPath(t *testing.T) {
	// The incremental ToBBox against maskApi.c's division per count, on
	// random RLEs with empty runs, runs across columns and counts spanning
	// several columns, valid or not.
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 20000; n++ {
		h, w := 1+rng.IntN(9), 1+rng.IntN(9)
		var counts []uint32
		for range rng.IntN(8) {
			switch rng.IntN(4) {
			case 0:
				counts = append(counts, 0)
			case 1:
				counts = append(counts, uint32(rng.IntN(3*h)))
			default:
				counts = append(counts, uint32(rng.IntN(h+1)))
			}
		}
		r := RLE{H: h, W: w, Counts: counts}
		if got, want := r.ToBBox(), r.toBBoxSlow(); got != want {
			t.Fatalf("%dx%d %v: ToBBox = %v, maskApi.c gives %v", h, w, counts, got, want)
		}
	}
}
