package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/tensor"
)

// TestReadSafetensorsBasic reads a file written by tools/reference/st.py and
// checks every value against the closed forms in make_pth_fixtures.py.
func TestReadSafetensorsBasic(t *testing.T) {
	f, err := ReadSafetensors("testdata/basic.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	arange := func(n int, fn func(i int) float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = fn(i)
		}
		return out
	}
	want := []struct {
		name  string
		shape []int
		data  []float32
	}{
		{"bytes", []int{3}, []float32{0, 200, 255}},
		{"conv.weight", []int{2, 3, 2, 2}, arange(24, func(i int) float32 { return float32(i) * -0.25 })},
		{"empty", []int{0, 3}, []float32{}},
		{"flags", []int{3}, []float32{1, 0, 1}},
		{"ids", []int{2, 2}, []float32{1, -2, 3, 4}},
		{"mat", []int{2, 3}, arange(6, func(i int) float32 { return float32(i) / 7 })},
		{"steps", []int{3}, []float32{7, -3, 1 << 40}},
		{"vec", []int{5}, arange(5, func(i int) float32 { return float32(i)*0.5 - 1 })},
	}
	var names []string
	for _, w := range want {
		names = append(names, w.name)
		got, ok := f.Tensors[w.name]
		if !ok {
			t.Errorf("%s: missing", w.name)
			continue
		}
		if !slices.Equal(got.Shape(), w.shape) {
			t.Errorf("%s: shape %v, want %v", w.name, got.Shape(), w.shape)
			continue
		}
		if !slices.Equal(got.Data(), w.data) {
			t.Errorf("%s: data %v, want %v", w.name, got.Data(), w.data)
		}
	}
	if !slices.Equal(f.Names, names) {
		t.Errorf("Names = %v, want %v", f.Names, names)
	}
	if f.Metadata["format"] != "pt" || f.Metadata["epoch"] != "12" || len(f.Metadata) != 2 {
		t.Errorf("Metadata = %v, want format=pt epoch=12", f.Metadata)
	}

	raw := []struct {
		name  string
		dtype DType
		vals  []int64
	}{
		{"bytes", U8, []int64{0, 200, 255}},
		{"flags", BOOL, []int64{1, 0, 1}},
		{"ids", I32, []int64{1, -2, 3, 4}},
		{"steps", I64, []int64{7, -3, 1 << 40}},
	}
	if len(f.Raw) != len(raw) {
		t.Errorf("Raw has %d tensors, want %d", len(f.Raw), len(raw))
	}
	for _, w := range raw {
		r, ok := f.Raw[w.name]
		if !ok {
			t.Errorf("Raw[%s]: missing", w.name)
			continue
		}
		if r.DType != w.dtype {
			t.Errorf("Raw[%s].DType = %s, want %s", w.name, r.DType, w.dtype)
		}
		got, err := r.Int64s()
		if err != nil {
			t.Errorf("Raw[%s]: %v", w.name, err)
			continue
		}
		if !slices.Equal(got, w.vals) {
			t.Errorf("Raw[%s] = %v, want %v", w.name, got, w.vals)
		}
	}
}

// TestReadSafetensorsWide checks F16, BF16 and F64 conversion against the
// float32 copy PyTorch wrote of the same tensors.
func TestReadSafetensorsWide(t *testing.T) {
	got, err := ReadSafetensors("testdata/wide.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ReadSafetensors("testdata/wide_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	assertSameTensors(t, got, ref)
	edge := got.Tensors["half_edge"].Data()
	want := []float32{float32(math.Ldexp(1, -24)), -float32(math.Ldexp(1, -20)), 65504, float32(math.Inf(1)), 0}
	if !slices.Equal(edge, want) || !math.Signbit(float64(edge[4])) {
		t.Errorf("half_edge = %v, want %v with -0", edge, want)
	}
}

// assertSameTensors requires bit-identical names, shapes and values.
func assertSameTensors(t *testing.T, got, want *File) {
	t.Helper()
	if !slices.Equal(sortedKeys(got.Tensors), sortedKeys(want.Tensors)) {
		t.Fatalf("names %v, want %v", sortedKeys(got.Tensors), sortedKeys(want.Tensors))
	}
	for name, w := range want.Tensors {
		g := got.Tensors[name]
		if !slices.Equal(g.Shape(), w.Shape()) {
			t.Errorf("%s: shape %v, want %v", name, g.Shape(), w.Shape())
			continue
		}
		for i, v := range w.Data() {
			if math.Float32bits(g.Data()[i]) != math.Float32bits(v) {
				t.Errorf("%s[%d] = %v, want %v", name, i, g.Data()[i], v)
				break
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestHalfToFloat32(t *testing.T) {
	// Every finite half converts exactly: compare with the value computed
	// from the definition in float64.
	for h := range uint32(1 << 16) {
		exp := int(h>>10) & 0x1f
		frac := float64(h & 0x3ff)
		var want float64
		switch exp {
		case 0x1f:
			continue // Inf/NaN: covered by the fixture's edge cases
		case 0:
			want = math.Ldexp(frac, -24)
		default:
			want = math.Ldexp(1+frac/1024, exp-15)
		}
		if h>>15 != 0 {
			want = -want
		}
		if got := halfToFloat32(uint16(h)); float64(got) != want || math.Signbit(float64(got)) != (h>>15 != 0) {
			t.Fatalf("halfToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
	if v := halfToFloat32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("halfToFloat32(NaN) = %v", v)
	}
}

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	in, err := ReadSafetensors("testdata/basic.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.safetensors")
	in.Tensors["scalar"] = tensor.FromData([]float32{2.5})
	meta := map[string]string{"epoch": "12", "note": "round trip"}
	if err := WriteSafetensors(path, in.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	out, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameTensors(t, out, in)
	if len(out.Raw) != 0 {
		t.Errorf("written file has raw tensors %v; WriteSafetensors writes F32 only", sortedKeys(out.Raw))
	}
	if !maps2Equal(out.Metadata, meta) {
		t.Errorf("Metadata = %v, want %v", out.Metadata, meta)
	}

	// Deterministic bytes, aligned data, no temporary files left behind.
	b1, _ := os.ReadFile(path)
	path2 := filepath.Join(dir, "again.safetensors")
	if err := WriteSafetensors(path2, in.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path2)
	if !bytes.Equal(b1, b2) {
		t.Error("two writes of the same tensors differ")
	}
	if n := binary.LittleEndian.Uint64(b1); (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode of written file: %v, %v; want 0644", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the two checkpoints", names)
	}
}

func maps2Equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestWriteSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		path    string
		tensors map[string]*tensor.Tensor
		want    string
	}{
		{"nil tensor", filepath.Join(dir, "a.safetensors"), map[string]*tensor.Tensor{"w": nil}, `tensor "w" is nil`},
		{"reserved name", filepath.Join(dir, "b.safetensors"), map[string]*tensor.Tensor{"__metadata__": tensor.New(1)}, "reserved"},
		{"missing dir", filepath.Join(dir, "no", "c.safetensors"), map[string]*tensor.Tensor{"w": tensor.New(1)}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteSafetensors(c.path, c.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
				t.Fatalf("err = %v, want checkpoint: ...%s", err, c.want)
			}
			if _, err := os.Stat(c.path); err == nil {
				t.Errorf("%s was created", c.path)
			}
		})
	}
}

// stImage builds a safetensors image from a header string and data bytes.
func stImage(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadSafetensorsErrors(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "truncated"},
		{"short length", []byte{1, 2, 3}, "truncated"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "runs past the end"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "runs past the end"},
		{"bad json", stImage(`{"a":`, nil), "bad JSON header"},
		{"json not object", stImage(`[1,2]`, nil), "bad JSON header"},
		{"json null", stImage(`null`, nil), "want an object"},
		{"bad metadata", stImage(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"unknown dtype", stImage(`{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, eight), `tensor "w": unknown dtype "F8_E4M3"`},
		{"unknown field", stImage(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, eight), `tensor "w": bad header entry`},
		{"missing shape", stImage(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, eight), `tensor "w": missing shape`},
		{"negative dim", stImage(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, eight), "negative dimension"},
		{"huge shape", stImage(`{"w":{"dtype":"F32","shape":[65536,65536,65536],"data_offsets":[0,4]}}`, eight), "too large"},
		{"one offset", stImage(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, eight), "want [begin, end]"},
		{"offsets reversed", stImage(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, eight), "out of range"},
		{"offsets past data", stImage(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), "out of range: the data section holds 8 bytes"},
		{"size mismatch", stImage(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), "hold 8 bytes, want 12 for shape [3] of F32"},
		{"overlap", stImage(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}`, eight), `tensor "b": data_offsets [2 6] overlap those of "a"`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := ReadSafetensors(path)
			if err == nil {
				t.Fatalf("read %d tensors, want error containing %q", len(f.Tensors), c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "checkpoint: "+path+": ") || !strings.Contains(msg, c.want) {
				t.Errorf("err = %q, want checkpoint: %s: ...%s", msg, path, c.want)
			}
		})
	}
	if _, err := ReadSafetensors(filepath.Join(dir, "absent.safetensors")); err == nil {
		t.Error("reading an absent file succeeded")
	}
}

// FuzzReadSafetensors checks that no corruption of a valid file panics and
// that whatever is accepted is self-consistent.
func FuzzReadSafetensors(f *testing.F) {
	seed, err := os.ReadFile("testdata/basic.safetensors")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeSafetensors("fuzz", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, name := range out.Names {
			tt := out.Tensors[name]
			if tt.Len() != tensor.Numel(tt.Shape()) {
				t.Fatalf("%s: %d values for shape %v", name, tt.Len(), tt.Shape())
			}
		}
	})
}

// TestWriteFileRoundTrip checks that WriteFile keeps integer tensors in
// their dtype, so a read-write-read cycle loses nothing.
func TestWriteFileRoundTrip(t *testing.T) {
	for _, src := range []string{"testdata/basic.safetensors", "testdata/sd_wrapped.pth"} {
		in, err := Read(src)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "copy.safetensors")
		if err := WriteFile(path, in); err != nil {
			t.Fatal(err)
		}
		out, err := ReadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		assertSameTensors(t, out, in)
		if !slices.Equal(sortedKeys(out.Raw), sortedKeys(in.Raw)) {
			t.Errorf("%s: Raw names %v, want %v", src, sortedKeys(out.Raw), sortedKeys(in.Raw))
		}
		for name, r := range in.Raw {
			o := out.Raw[name]
			if o.DType != r.DType || !slices.Equal(o.Shape, r.Shape) || !bytes.Equal(o.Data, r.Data) {
				t.Errorf("%s: Raw[%s] = %+v, want %+v", src, name, o, r)
			}
		}
		if !maps2Equal(out.Metadata, in.Metadata) {
			t.Errorf("%s: Metadata = %v, want %v", src, out.Metadata, in.Metadata)
		}
	}
	bad := &File{Raw: map[string]RawTensor{"step": {DType: I64, Shape: []int{2}, Data: make([]byte, 8)}}}
	err := WriteFile(filepath.Join(t.TempDir(), "bad.safetensors"), bad)
	if err == nil || !strings.Contains(err.Error(), `raw tensor "step": 8 bytes, want 16 for shape [2] of I64`) {
		t.Errorf("err = %v, want a size error naming step", err)
	}
}

func BenchmarkReadSafetensors(b *testing.B) {
	tensors := map[string]*tensor.Tensor{}
	for i := range 16 {
		tensors[fmt.Sprintf("layer%d.weight", i)] = tensor.New(1024, 1024)
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	if err := WriteSafetensors(path, tensors, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 * 1024 * 1024 * 4)
	for b.Loop() {
		if _, err := ReadSafetensors(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteSafetensors(b *testing.B) {
	tensors := map[string]*tensor.Tensor{}
	for i := range 16 {
		tensors[fmt.Sprintf("layer%d.weight", i)] = tensor.New(1024, 1024)
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	b.SetBytes(16 * 1024 * 1024 * 4)
	for b.Loop() {
		if err := WriteSafetensors(path, tensors, nil); err != nil {
			b.Fatal(err)
		}
	}
}
