package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/densepred/dp/tensor"
)

// File is the content of a checkpoint: named tensors plus string metadata.
type File struct {
	// Tensors maps every tensor's name to its values as float32. Integer and
	// boolean tensors appear here converted (exactly, for magnitudes up to
	// 2^24) as well as in Raw.
	Tensors map[string]*tensor.Tensor
	// Names lists the keys of Tensors in a stable order: sorted for
	// safetensors, the state_dict's own order for PyTorch files.
	Names []string
	// Metadata holds safetensors' "__metadata__" map. For PyTorch files it
	// holds the scalars (numbers, strings, booleans) found in the checkpoint
	// outside the tensors, under dotted paths such as "epoch" or
	// "meta.mmdet_version", formatted as strconv does (3, 0.02, true).
	Metadata map[string]string
	// Raw holds the tensors that are not floating point (I64, I32, I16, I8,
	// U8, BOOL) with their original dtype and little-endian bytes.
	Raw map[string]RawTensor
}

// RawTensor is a tensor kept in its stored dtype: row-major, little-endian.
type RawTensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// Int64s returns the values of an integer or boolean tensor widened to
// int64. It fails for floating-point dtypes.
func (r RawTensor) Int64s() ([]int64, error) {
	size, ok := r.DType.Size()
	if !ok || r.DType.IsFloat() {
		return nil, fmt.Errorf("checkpoint: Int64s of a %s tensor", r.DType)
	}
	n := len(r.Data) / size
	out := make([]int64, n)
	for i := range out {
		out[i] = rawInt(r.DType, r.Data[i*size:])
	}
	return out, nil
}

func newFile() *File {
	return &File{
		Tensors:  map[string]*tensor.Tensor{},
		Metadata: map[string]string{},
		Raw:      map[string]RawTensor{},
	}
}

// DType names a stored element type, using safetensors' spelling.
type DType string

// Element types understood by the readers.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// Size returns the number of bytes of one element and whether d is known.
func (d DType) Size() (int, bool) {
	switch d {
	case F64, I64:
		return 8, true
	case F32, I32:
		return 4, true
	case F16, BF16, I16:
		return 2, true
	case I8, U8, BOOL:
		return 1, true
	}
	return 0, false
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == F64 || d == F32 || d == F16 || d == BF16
}

// decodeFloat32 converts n little-endian elements of dtype d in b to
// float32. b must hold exactly n elements.
func decodeFloat32(d DType, b []byte, dst []float32) {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case F16:
		for i := range dst {
			dst[i] = halfToFloat32(le.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	default:
		size, _ := d.Size()
		for i := range dst {
			dst[i] = float32(rawInt(d, b[i*size:]))
		}
	}
}

// rawInt reads one little-endian integer or boolean element of dtype d.
func rawInt(d DType, b []byte) int64 {
	le := binary.LittleEndian
	switch d {
	case I64:
		return int64(le.Uint64(b))
	case I32:
		return int64(int32(le.Uint32(b)))
	case I16:
		return int64(int16(le.Uint16(b)))
	case I8:
		return int64(int8(b[0]))
	case U8:
		return int64(b[0])
	case BOOL:
		if b[0] != 0 {
			return 1
		}
		return 0
	}
	panic("checkpoint: rawInt of " + string(d))
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32, exactly,
// including subnormals, infinities and NaN payloads.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = frac * 2^-24; normalise it.
	e := uint32(113) // 127 - 14
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}

// add records a tensor decoded from raw bytes of dtype d. It assumes the
// caller has checked that b holds exactly Numel(shape) elements.
func (f *File) add(name string, d DType, shape []int, b []byte) {
	t := tensor.New(shape...)
	decodeFloat32(d, b, t.Data())
	f.Tensors[name] = t
	if !d.IsFloat() {
		f.Raw[name] = RawTensor{DType: d, Shape: slices.Clone(shape), Data: slices.Clone(b)}
	}
}

// le is the byte order of every format this package reads and writes.
var le = binary.LittleEndian
