package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// convRef runs the direct definition of the convolution in float64 and
// returns y (with bias), and, given dy, the gradients dx, dw and dbias.
func convRef(p ConvParams, x, w, bias, dy []float32) (y, dx, dw, db []float64) {
	oh, ow := p.OutH(), p.OutW()
	cg, kg := p.C/p.Groups, p.K/p.Groups
	y = make([]float64, p.N*p.K*oh*ow)
	dx = make([]float64, len(x))
	dw = make([]float64, len(w))
	db = make([]float64, p.K)
	for n := range p.N {
		for k := range p.K {
			g := k / kg
			for oy := range oh {
				for ox := range ow {
					yi := ((n*p.K+k)*oh+oy)*ow + ox
					s := 0.0
					if bias != nil {
						s = float64(bias[k])
					}
					db[k] += float64(dy[yi])
					for c := range cg {
						for i := range p.KH {
							for j := range p.KW {
								iy := oy*p.StrideH - p.PadH + i*p.DilationH
								ix := ox*p.StrideW - p.PadW + j*p.DilationW
								if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
									continue
								}
								xi := ((n*p.C+g*cg+c)*p.H+iy)*p.W + ix
								wi := ((k*cg+c)*p.KH+i)*p.KW + j
								s += float64(w[wi]) * float64(x[xi])
								dx[xi] += float64(w[wi]) * float64(dy[yi])
								dw[wi] += float64(x[xi]) * float64(dy[yi])
							}
						}
					}
					y[yi] = s
				}
			}
		}
	}
	return y, dx, dw, db
}

// convCases reach every path: depthwise, 1×1 pointwise, and im2col with
// stride, padding, dilation, groups, odd sizes and batches.
func convCases() []ConvParams {
	base := func(n, c, h, w, k, kh, kw, s, pad, d, g int) ConvParams {
		return ConvParams{N: n, C: c, H: h, W: w, K: k, KH: kh, KW: kw, StrideH: s, StrideW: s,
			PadH: pad, PadW: pad, DilationH: d, DilationW: d, Groups: g}
	}
	cs := []ConvParams{
		base(1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1),
		base(2, 3, 5, 7, 4, 1, 1, 1, 0, 1, 1),      // pointwise
		base(1, 256, 4, 5, 264, 1, 1, 1, 0, 1, 1),  // pointwise, weights past panelsFitBytes
		base(3, 512, 9, 15, 528, 1, 1, 1, 0, 1, 2), // the same, grouped: stripes, slices and edges
		base(2, 4, 6, 6, 6, 1, 1, 2, 0, 1, 2),      // 1×1 strided, grouped
		base(1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1),      // 3×3 same
		base(3, 2, 9, 8, 3, 3, 3, 2, 1, 1, 1),      // stride 2
		base(2, 4, 11, 9, 4, 3, 3, 1, 2, 2, 2),     // dilation, groups
		base(1, 6, 8, 8, 9, 5, 3, 1, 0, 1, 3),      // rectangular kernel, groups
		base(1, 5, 4, 4, 7, 4, 4, 3, 3, 1, 1),      // padding larger than half the kernel
		base(1, 16, 30, 30, 4, 3, 3, 1, 1, 1, 1),   // im2col in two chunks of output rows
		base(1, 16, 61, 61, 4, 3, 3, 2, 1, 1, 1),   // two chunks, stride 2
		base(2, 40, 9, 9, 5, 3, 3, 1, 1, 1, 1),     // 360 patch rows: two k blocks of the product
		base(2, 8, 6, 24, 13, 3, 3, 1, 1, 1, 1),    // runs of 16 and 8 pixels, a partial last tile
		base(2, 8, 10, 10, 8, 3, 3, 1, 1, 1, 8),    // depthwise 3×3
		base(2, 8, 13, 11, 8, 7, 7, 1, 3, 1, 8),    // depthwise 7×7
		base(1, 4, 9, 9, 4, 3, 3, 2, 1, 1, 4),      // depthwise strided
		base(1, 3, 12, 12, 3, 3, 3, 1, 2, 2, 3),    // depthwise dilated
		base(2, 3, 9, 21, 3, 3, 3, 1, 1, 1, 3),     // depthwise, 16- and 8-column blocks
		base(1, 2, 10, 37, 2, 7, 7, 1, 3, 1, 2),    // depthwise 7×7, wide
		base(1, 3, 5, 6, 3, 3, 3, 1, 3, 1, 3),      // depthwise, padding beyond the kernel
		base(1, 2, 5, 5, 4, 3, 3, 1, 1, 1, 2),      // groups == C, channel multiplier 2
		base(0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1),      // empty batch
	}
	rect := base(2, 3, 7, 10, 2, 2, 5, 1, 0, 1, 1)
	rect.StrideH, rect.PadW, rect.DilationH = 2, 2, 3
	rect.KH, rect.H = 3, 12
	return append(cs, rect)
}

func TestConv2d(t *testing.T) {
	twoChunks := ConvParams{N: 1, C: 16, H: 30, W: 30, K: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadH: 1, PadW: 1, DilationH: 1, DilationW: 1, Groups: 1}
	if colChunkRows(twoChunks) >= twoChunks.OutH() {
		t.Fatal("the 16-channel 30×30 case no longer reaches a second im2col chunk")
	}
	for _, name := range GemmVariants() {
		t.Run(name, func(t *testing.T) {
			if err := SetGemmVariant(name); err != nil {
				t.Fatal(err)
			}
			defer SetGemmVariant("")
			for _, p := range convCases() {
				for _, withBias := range []bool{true, false} {
					testConvCase(t, p, withBias)
				}
			}
		})
	}
}

func testConvCase(t *testing.T, p ConvParams, withBias bool) {
	name := fmt.Sprintf("N=%d/C=%d/%dx%d/K=%d/k=%dx%d/s=%dx%d/p=%dx%d/d=%dx%d/g=%d/bias=%v",
		p.N, p.C, p.H, p.W, p.K, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW, p.Groups, withBias)
	if err := p.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rng := rand.New(rand.NewPCG(uint64(p.C*131+p.KH), uint64(p.H)))
	x := randSlice(rng, p.N*p.C*p.H*p.W)
	w := randSlice(rng, p.K*(p.C/p.Groups)*p.KH*p.KW)
	ylen := p.N * p.K * p.OutH() * p.OutW()
	dy := randSlice(rng, ylen)
	var bias []float32
	if withBias {
		bias = randSlice(rng, p.K)
	}
	wantY, wantDx, wantDw, wantDb := convRef(p, x, w, bias, dy)
	x0, w0, dy0 := append([]float32(nil), x...), append([]float32(nil), w...), append([]float32(nil), dy...)

	y := make([]float32, ylen)
	for i := range y {
		y[i] = float32(math.NaN()) // y is overwritten, never read
	}
	Conv2d(p, x, w, bias, y)
	compareConv(t, name+"/forward", y, wantY, nil)

	// The gradients accumulate: start from known values and expect them added.
	dx := randSlice(rng, len(x))
	dx0 := append([]float32(nil), dx...)
	Conv2dBackwardData(p, dy, w, dx)
	compareConv(t, name+"/backward-data", dx, wantDx, dx0)

	dw := randSlice(rng, len(w))
	dw0 := append([]float32(nil), dw...)
	var db, db0 []float32
	if withBias {
		db = randSlice(rng, p.K)
		db0 = append([]float32(nil), db...)
	}
	Conv2dBackwardFilter(p, x, dy, dw, db)
	compareConv(t, name+"/backward-filter", dw, wantDw, dw0)
	if withBias {
		compareConv(t, name+"/backward-bias", db, wantDb, db0)
	}
	if !equal32(x, x0) || !equal32(w, w0) || !equal32(dy, dy0) {
		t.Errorf("%s: inputs modified", name)
	}
}

// compareConv checks got == base + want within float32 rounding of sums of
// up to a few thousand terms.
func compareConv(t *testing.T, name string, got []float32, want []float64, base []float32) {
	t.Helper()
	bad := 0
	for i := range got {
		w := want[i]
		if base != nil {
			w += float64(base[i])
		}
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-4*(1+math.Abs(w))) {
			if bad++; bad <= 10 {
				t.Errorf("%s: [%d] = %g, want %g", name, i, got[i], w)
			}
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d mismatches in all", name, bad)
	}
}

// TestConv2dDeterministic checks that every kernel gives bit-identical
// results whatever the number of workers.
func TestConv2dDeterministic(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 3, C: 8, H: 12, W: 12, K: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1, Groups: 1},
		{N: 3, C: 8, H: 12, W: 12, K: 8, KH: 7, KW: 7, StrideH: 1, StrideW: 1, PadH: 3, PadW: 3, DilationH: 1, DilationW: 1, Groups: 8},
		{N: 2, C: 256, H: 9, W: 15, K: 270, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1},
	} {
		rng := rand.New(rand.NewPCG(5, 6))
		x := randSlice(rng, p.N*p.C*p.H*p.W)
		w := randSlice(rng, p.K*(p.C/p.Groups)*p.KH*p.KW)
		dy := randSlice(rng, p.N*p.K*p.OutH()*p.OutW())
		var first [][]float32
		for _, procs := range []int{1, 2, 3} {
			old := runtime.GOMAXPROCS(procs)
			y := make([]float32, len(dy))
			dx := make([]float32, len(x))
			dw := make([]float32, len(w))
			db := make([]float32, p.K)
			Conv2d(p, x, w, nil, y)
			Conv2dBackwardData(p, dy, w, dx)
			Conv2dBackwardFilter(p, x, dy, dw, db)
			runtime.GOMAXPROCS(old)
			got := [][]float32{y, dx, dw, db}
			if first == nil {
				first = got
				continue
			}
			for i, g := range got {
				if !equal32(g, first[i]) {
					t.Errorf("%+v: output %d differs between GOMAXPROCS=1 and %d", p, i, procs)
				}
			}
		}
	}
}

func TestConvParamsValidate(t *testing.T) {
	ok := ConvParams{N: 1, C: 4, H: 5, W: 5, K: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 2}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	if ok.OutH() != 3 || ok.OutW() != 3 {
		t.Errorf("OutH, OutW = %d, %d, want 3, 3", ok.OutH(), ok.OutW())
	}
	cases := []struct {
		name string
		edit func(*ConvParams)
		want string
	}{
		{"zero stride", func(p *ConvParams) { p.StrideW = 0 }, "stride"},
		{"groups", func(p *ConvParams) { p.Groups = 3 }, "groups"},
		{"negative padding", func(p *ConvParams) { p.PadH = -1 }, "padding"},
		{"kernel too big", func(p *ConvParams) { p.KH = 6 }, "smaller than"},
		{"no channels", func(p *ConvParams) { p.C = 0 }, "sizes"},
	}
	for _, tc := range cases {
		p := ok
		tc.edit(&p)
		err := p.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), errConvParams) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "weight has 3 values") {
			t.Errorf("Conv2d with a short weight panicked with %q", r)
		}
	}()
	Conv2d(ok, make([]float32, 100), make([]float32, 3), nil, make([]float32, 2*9))
}

// TestPointwiseRounds checks that packing B in rounds of a few column
// panels, as a large batch needs, gives the same bits as packing it at once.
func TestPointwiseRounds(t *testing.T) {
	p := ConvParams{N: 3, C: 96, H: 7, W: 9, K: 70, KH: 1, KW: 1, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1, Groups: 2}
	rng := rand.New(rand.NewPCG(8, 9))
	x := randSlice(rng, p.N*p.C*p.H*p.W)
	w := randSlice(rng, p.K*p.C/p.Groups)
	bias := randSlice(rng, p.K)
	dy := randSlice(rng, p.N*p.K*p.H*p.W)
	for _, name := range GemmVariants() {
		if err := SetGemmVariant(name); err != nil {
			t.Fatal(err)
		}
		v := currentGemm()
		for _, transposed := range []bool{false, true} {
			b, bs, cs := x, bias, p.N*p.K*p.H*p.W
			if transposed {
				b, bs, cs = dy, nil, len(x)
			}
			pw := packWeights(v, p, w, transposed)
			var outs [][]float32
			for _, floats := range []int{1 << 30, 3 * p.Groups * 48 * v.nr, 1} { // at once; three or four panels a round; one
				c := make([]float32, cs)
				pointwiseProducts(v, p, transposed, *pw, b, bs, c, floats)
				outs = append(outs, c)
			}
			for i, c := range outs[1:] {
				if !equal32(c, outs[0]) {
					t.Errorf("%s transposed=%v: rounds of case %d differ from one round", name, transposed, i+1)
				}
			}
		}
	}
	SetGemmVariant("")
}
