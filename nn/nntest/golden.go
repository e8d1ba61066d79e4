package nntest

import (
	"math"
	"testing"

	"github.com/densepred/dp/tensor"
)

// AssertClose fails t unless got and want have the same shape and
// max|got-want| <= tol * max(1, max|want|), i.e. the error relative to the
// output's scale is at most tol.
func AssertClose(t testing.TB, name string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
		return
	}
	scale := math.Max(1, tensor.MaxAbs(want))
	if d := tensor.MaxAbsDiff(got, want); d > tol*scale || math.IsNaN(d) {
		t.Errorf("%s: max abs diff %.3g exceeds %.3g (scale %.3g)", name, d, tol*scale, scale)
	}
}
