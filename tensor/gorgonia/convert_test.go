package gorgonia

import (
	"slices"
	"strings"
	"testing"

	dp "github.com/densepred/dp/tensor"
	"gorgonia.org/tensor"
)

// arange returns a float32 Dense holding 0.5, 1.5, 2.5, ... in shape.
func arange(shape ...int) *tensor.Dense {
	data := make([]float32, dp.Numel(shape))
	for i := range data {
		data[i] = float32(i) + 0.5
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// wantValues reads d element by element through At, the slow path that
// knows every layout, in row-major order.
func wantValues(t *testing.T, d *tensor.Dense) []float32 {
	t.Helper()
	shape := []int(d.Shape())
	out := make([]float32, 0, dp.Numel(shape))
	idx := make([]int, len(shape))
	for range dp.Numel(shape) {
		v, err := d.At(idx...)
		if err != nil {
			t.Fatalf("At(%v): %v", idx, err)
		}
		out = append(out, v.(float32))
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

func TestFromDense(t *testing.T) {
	cases := []struct {
		name string
		make func(t *testing.T) *tensor.Dense
	}{
		{"vector", func(*testing.T) *tensor.Dense { return arange(5) }},
		{"matrix", func(*testing.T) *tensor.Dense { return arange(3, 4) }},
		{"4-D", func(*testing.T) *tensor.Dense { return arange(2, 3, 4, 5) }},
		{"transposed", func(t *testing.T) *tensor.Dense {
			d := arange(3, 4)
			if err := d.T(); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"permuted 3-D", func(t *testing.T) *tensor.Dense {
			d := arange(2, 3, 4)
			if err := d.T(2, 0, 1); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"row slice", func(t *testing.T) *tensor.Dense {
			v, err := arange(4, 5).Slice(tensor.S(1, 3))
			if err != nil {
				t.Fatal(err)
			}
			return v.(*tensor.Dense)
		}},
		{"column slice", func(t *testing.T) *tensor.Dense {
			v, err := arange(4, 5).Slice(nil, tensor.S(1, 4))
			if err != nil {
				t.Fatal(err)
			}
			return v.(*tensor.Dense)
		}},
		{"stepped slice", func(t *testing.T) *tensor.Dense {
			v, err := arange(6, 5).Slice(tensor.S(0, 6, 2), tensor.S(1, 5, 2))
			if err != nil {
				t.Fatal(err)
			}
			return v.(*tensor.Dense)
		}},
		{"column-major", func(*testing.T) *tensor.Dense {
			return tensor.New(tensor.WithShape(2, 3), tensor.AsFortran([]float32{1, 2, 3, 4, 5, 6}))
		}},
		{"scalar", func(*testing.T) *tensor.Dense { return tensor.New(tensor.FromScalar(float32(2.5))) }},
		{"empty", func(*testing.T) *tensor.Dense { return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(0, 3)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.make(t)
			got, err := FromDense(d)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape(), []int(d.Shape())) {
				t.Fatalf("shape %v, want %v", got.Shape(), d.Shape())
			}
			if want := wantValues(t, d); !slices.Equal(got.Data(), want) {
				t.Errorf("data %v, want %v", got.Data(), want)
			}
		})
	}
}

func TestFromDenseCopies(t *testing.T) {
	d := arange(2, 2)
	got, err := FromDense(d)
	if err != nil {
		t.Fatal(err)
	}
	got.Data()[0] = 100
	if v, _ := d.At(0, 0); v.(float32) != 0.5 {
		t.Errorf("writing the dp tensor changed the Dense: %v", v)
	}
}

func TestFromDenseErrors(t *testing.T) {
	cases := []struct {
		name string
		d    *tensor.Dense
		want string
	}{
		{"nil", nil, "nil"},
		{"float64", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2})), "dtype float64, want float32"},
		{"int", tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{1, 2})), "dtype int, want float32"},
		{"masked", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}, []bool{true, false})), "masked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromDense(c.d)
			if err == nil {
				t.Fatalf("got %v, want an error containing %q", got, c.want)
			}
			if !strings.HasPrefix(err.Error(), "gorgonia: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want gorgonia: ...%s", err, c.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{}, {1}, {7}, {2, 3}, {2, 3, 4, 5}, {0, 4}} {
		x := dp.New(shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(i)*0.25 - 3
		}
		d := ToDense(x)
		if d.Dtype() != tensor.Float32 {
			t.Fatalf("%v: dtype %v", shape, d.Dtype())
		}
		if !slices.Equal([]int(d.Shape()), shape) && !(len(shape) == 0 && len(d.Shape()) == 0) {
			t.Fatalf("%v: Dense shape %v", shape, d.Shape())
		}
		if len(shape) > 0 && dp.Numel(shape) > 0 {
			if want := wantValues(t, d); !slices.Equal(want, x.Data()) {
				t.Errorf("%v: Dense holds %v, want %v", shape, want, x.Data())
			}
		}
		back, err := FromDense(d)
		if err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		if !slices.Equal(back.Shape(), x.Shape()) || !slices.Equal(back.Data(), x.Data()) {
			t.Errorf("%v: round trip gave %v %v", shape, back.Shape(), back.Data())
		}
		// ToDense copies: changing x leaves d alone.
		if x.Len() > 0 {
			x.Data()[0] = 1000
			if v := d.Data(); len(shape) > 0 && v.([]float32)[0] == 1000 {
				t.Errorf("%v: Dense aliases the dp tensor", shape)
			}
		}
	}
}

func BenchmarkFromDenseTransposed(b *testing.B) {
	d := arange(512, 512)
	if err := d.T(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(512 * 512 * 4)
	for b.Loop() {
		if _, err := FromDense(d); err != nil {
			b.Fatal(err)
		}
	}
}
