package gorgonia

import (
	"errors"
	"fmt"

	dp "github.com/densepred/dp/tensor"
	"gorgonia.org/tensor"
)

// FromDense copies a float32 Gorgonia tensor into a new dp tensor of the
// same shape, in row-major order. Views (slices, lazy transposes) and
// column-major tensors are read through their strides, so the result always
// holds the values d shows, whatever its layout. It fails for a nil tensor,
// a dtype other than float32, and masked tensors (dp has no masks).
func FromDense(d *tensor.Dense) (*dp.Tensor, error) {
	if d == nil {
		return nil, errors.New("gorgonia: nil *tensor.Dense")
	}
	if d.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("gorgonia: dtype %v, want float32 (convert with tensor.Dense's engine first)", d.Dtype())
	}
	shape := []int(d.Shape())
	n := dp.Numel(shape)
	if n > 0 && d.IsMasked() {
		return nil, errors.New("gorgonia: masked tensors are not supported")
	}
	out := dp.New(shape...)
	if n == 0 {
		return out, nil
	}
	var src []float32
	switch v := d.Data().(type) {
	case []float32:
		src = v
	case float32: // a scalar
		out.Data()[0] = v
		return out, nil
	default:
		return nil, fmt.Errorf("gorgonia: float32 tensor with %T data", v)
	}
	strides := d.Strides()
	if len(shape) == 0 {
		out.Data()[0] = src[0]
		return out, nil
	}
	if len(strides) != len(shape) {
		return nil, fmt.Errorf("gorgonia: %d strides for shape %v", len(strides), shape)
	}
	// The last element read is at sum((shape[i]-1)*strides[i]); check it
	// against the backing array once so the copy cannot go out of range.
	last := 0
	for i, s := range strides {
		if s < 0 {
			return nil, fmt.Errorf("gorgonia: negative stride in %v", strides)
		}
		last += (shape[i] - 1) * s
	}
	if last >= len(src) {
		return nil, fmt.Errorf("gorgonia: shape %v with strides %v needs %d values, backing array holds %d",
			shape, strides, last+1, len(src))
	}
	gather(out.Data(), src, shape, strides)
	return out, nil
}

// gather copies the strided view (shape, strides) of src into dst in
// row-major order. The innermost dimension is copied in one run when its
// stride is 1.
func gather(dst, src []float32, shape, strides []int) {
	nd := len(shape)
	inner, innerStride := shape[nd-1], strides[nd-1]
	pos := make([]int, nd-1)
	off := 0
	for o := 0; o < len(dst); o += inner {
		row := dst[o : o+inner]
		if innerStride == 1 {
			copy(row, src[off:off+inner])
		} else {
			for j := range row {
				row[j] = src[off+j*innerStride]
			}
		}
		// Advance the outer multi-index like an odometer.
		for d := nd - 2; d >= 0; d-- {
			pos[d]++
			off += strides[d]
			if pos[d] < shape[d] {
				break
			}
			off -= pos[d] * strides[d]
			pos[d] = 0
		}
	}
}

// ToDense copies a dp tensor into a new row-major float32 Gorgonia tensor
// of the same shape. A dp tensor with an empty shape becomes a Gorgonia
// scalar.
func ToDense(t *dp.Tensor) *tensor.Dense {
	data := append([]float32(nil), t.Data()...)
	if t.NDim() == 0 {
		return tensor.New(tensor.FromScalar(data[0]))
	}
	return tensor.New(tensor.WithShape(t.Shape()...), tensor.WithBacking(data))
}
