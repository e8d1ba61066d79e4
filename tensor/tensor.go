package tensor

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense float32 array, contiguous and row-major.
//
// Its shape is fixed at creation; Reshape returns a view sharing the data.
// The zero value is a scalar-less empty tensor and is not useful; use New or
// FromData.
type Tensor struct {
	shape []int     // never nil; len 0 means a scalar holding data[0]
	data  []float32 // len(data) == product(shape)
	dims  [4]int    // holds shape when it has at most 4 dimensions: one allocation per tensor, not two
}

// newTensor returns a tensor of the given shape (copied) over data.
func newTensor(shape []int, data []float32) *Tensor {
	t := &Tensor{data: data}
	if len(shape) <= len(t.dims) {
		t.shape = t.dims[:len(shape):len(shape)]
		copy(t.shape, shape)
	} else {
		t.shape = append([]int(nil), shape...)
	}
	return t
}

// New returns a zero-filled tensor of the given shape.
// It panics if a dimension is negative.
func New(shape ...int) *Tensor {
	n := Numel(shape)
	return newTensor(shape, make([]float32, n))
}

// FromData wraps data (not copied) as a tensor of the given shape.
// It panics if len(data) differs from the product of shape.
func FromData(data []float32, shape ...int) *Tensor {
	if len(data) != Numel(shape) {
		panic(fmt.Sprintf("%s: %d values for shape %v", errDataLen, len(data), shape))
	}
	return newTensor(shape, data)
}

// Full returns a tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	t.Fill(v)
	return t
}

// Numel returns the number of elements of a shape (1 for the empty shape).
// It panics if a dimension is negative.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("%s: %v", errBadShape, shape))
		}
		n *= d
	}
	return n
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Data returns the backing slice, row-major. Writes to it change the tensor.
func (t *Tensor) Data() []float32 { return t.data }

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.data) }

// NDim returns the number of dimensions.
func (t *Tensor) NDim() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		panic(fmt.Sprintf("%s: dim %d of shape %v", errBadIndex, i, t.shape))
	}
	return t.shape[i]
}

// Reshape returns a view of t with a new shape and the same data. One
// dimension may be -1 and is then inferred. It panics if the element count
// changes.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = InferShape(len(t.data), shape)
	return &Tensor{shape: shape, data: t.data}
}

// InferShape resolves a single -1 in shape so that it holds n elements and
// returns a fresh copy. It panics if that is impossible.
func InferShape(n int, shape []int) []int {
	out := append([]int(nil), shape...)
	neg, prod := -1, 1
	for i, d := range out {
		if d == -1 && neg < 0 {
			neg = i
			continue
		}
		if d < 0 {
			panic(fmt.Sprintf("%s: %v", errBadShape, shape))
		}
		prod *= d
	}
	if neg >= 0 {
		if prod == 0 || n%prod != 0 {
			panic(fmt.Sprintf("%s: %d elements into %v", errReshape, n, shape))
		}
		out[neg] = n / prod
		prod *= out[neg]
	}
	if prod != n {
		panic(fmt.Sprintf("%s: %d elements into %v", errReshape, n, shape))
	}
	return out
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return newTensor(t.shape, append([]float32(nil), t.data...))
}

// CopyFrom copies src's values into t. It panics if the element counts differ.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.data) != len(t.data) {
		panic(fmt.Sprintf("%s: copy %v into %v", errShapeMismatch, src.shape, t.shape))
	}
	copy(t.data, src.data)
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	if v == 0 {
		clear(t.data)
		return
	}
	for i := range t.data {
		t.data[i] = v
	}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { Zero(t.data) }

// Offset returns the flat index of the element at idx. It panics if idx is
// out of range.
func (t *Tensor) Offset(idx ...int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("%s: %d indices for shape %v", errBadIndex, len(idx), t.shape))
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("%s: %v in shape %v", errBadIndex, idx, t.shape))
		}
		off = off*t.shape[i] + v
	}
	return off
}

// At returns the element at idx. It is meant for tests and small tensors.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.Offset(idx...)] }

// Set stores v at idx. It is meant for tests and small tensors.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.Offset(idx...)] = v }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MustSameShape panics with both shapes and the operation's name if a and b differ.
func MustSameShape(op string, a, b []int) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("%s: %s: %v vs %v", errShapeMismatch, op, a, b))
	}
}

// String formats the shape and, for small tensors, the values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.shape)
	if len(t.data) <= 16 {
		fmt.Fprintf(&b, "%v", t.data)
	}
	return b.String()
}

// MaxAbsDiff returns max |a-b| over all elements; it panics if shapes differ.
func MaxAbsDiff(a, b *Tensor) float64 {
	MustSameShape("MaxAbsDiff", a.shape, b.shape)
	m := 0.0
	for i := range a.data {
		d := math.Abs(float64(a.data[i]) - float64(b.data[i]))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// MaxAbs returns max |a| over all elements (0 for an empty tensor).
func MaxAbs(a *Tensor) float64 {
	m := 0.0
	for _, v := range a.data {
		if d := math.Abs(float64(v)); d > m {
			m = d
		}
	}
	return m
}
