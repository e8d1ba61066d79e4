package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densepred/dp/tensor"
)

// loadRef reads the safetensors copy of the fixture state_dict, with its
// key order and true shapes from the metadata.
func loadRef(t *testing.T) (ref *File, order []string, shapes map[string][]int) {
	t.Helper()
	ref, err := ReadSafetensors("testdata/sd_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	order = strings.Split(ref.Metadata["order"], ",")
	if err := json.Unmarshal([]byte(ref.Metadata["shapes"]), &shapes); err != nil {
		t.Fatalf("shapes metadata: %v", err)
	}
	return ref, order, shapes
}

func TestReadPyTorch(t *testing.T) {
	ref, order, shapes := loadRef(t)
	cases := []struct {
		file string
		meta map[string]string
	}{
		{"sd_zip.pth", map[string]string{}},
		{"sd_legacy.pth", map[string]string{}},
		{"sd_model.pth", map[string]string{}},
		{"sd_wrapped.pth", map[string]string{
			"epoch": "3", "meta.mmdet_version": "2.28.2", "meta.iter": "40", "meta.lr": "0.02",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			for _, read := range []struct {
				name string
				fn   func(string) (*File, error)
			}{{"ReadPyTorch", ReadPyTorch}, {"Read", Read}} {
				f, err := read.fn(filepath.Join("testdata", c.file))
				if err != nil {
					t.Fatalf("%s: %v", read.name, err)
				}
				if !slices.Equal(f.Names, order) {
					t.Errorf("%s: Names = %v, want %v", read.name, f.Names, order)
				}
				for name, want := range ref.Tensors {
					got, ok := f.Tensors[name]
					if !ok {
						t.Errorf("%s: %s missing", read.name, name)
						continue
					}
					if !slices.Equal(got.Shape(), shapes[name]) {
						t.Errorf("%s: %s: shape %v, want %v", read.name, name, got.Shape(), shapes[name])
						continue
					}
					for i, v := range want.Data() {
						g := got.Data()[i]
						if math.Float32bits(g) != math.Float32bits(v) {
							t.Errorf("%s: %s[%d] = %v, want %v", read.name, name, i, g, v)
							break
						}
					}
				}
				if len(f.Tensors) != len(ref.Tensors) {
					t.Errorf("%s: %d tensors, want %d", read.name, len(f.Tensors), len(ref.Tensors))
				}
				// Integer tensors stay exact in Raw.
				for name, want := range ref.Raw {
					got, ok := f.Raw[name]
					if !ok || got.DType != want.DType || !slices.Equal(got.Data, want.Data) {
						t.Errorf("%s: Raw[%s] = %+v, want %+v", read.name, name, got, want)
					}
				}
				if m, ok := f.Raw["mask"]; !ok || m.DType != BOOL || !slices.Equal(m.Data, []byte{1, 0, 1}) {
					t.Errorf("%s: Raw[mask] = %+v, want BOOL [1 0 1]", read.name, m)
				}
				if len(f.Raw) != len(ref.Raw)+1 {
					t.Errorf("%s: Raw holds %v, want the int64 tensors and mask", read.name, sortedKeys(f.Raw))
				}
				if !maps2Equal(f.Metadata, c.meta) {
					t.Errorf("%s: Metadata = %v, want %v", read.name, f.Metadata, c.meta)
				}
			}
		})
	}
}

func TestReadPyTorchErrors(t *testing.T) {
	dir := t.TempDir()
	zipBytes, err := os.ReadFile("testdata/sd_zip.pth")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	legacy, err := os.ReadFile("testdata/sd_legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		want string
	}{
		{"torchscript", "testdata/scripted.pt", "TorchScript"},
		{"truncated zip", write("trunc.pth", zipBytes[:len(zipBytes)/2]), "not a readable PyTorch checkpoint"},
		{"truncated legacy", write("trunc_legacy.pth", legacy[:len(legacy)-100]), "not a readable PyTorch checkpoint"},
		{"pickle not a dict", write("list.pth", []byte("\x80\x02]q\x00.")), "not a readable PyTorch checkpoint"},
		{"no such file", filepath.Join(dir, "absent.pth"), "no such file"},
		{"top-level list", "testdata/bad_list.pth", "top-level object is a list, want a dict"},
		{"no tensors", "testdata/bad_notensors.pth", "no tensors found (top-level keys [epoch meta])"},
		{"prefix collision", "testdata/bad_dup.pth", `tensor "w" appears twice`},
		{"safetensors", "testdata/basic.safetensors", "neither a zip archive nor a legacy PyTorch file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ReadPyTorch(c.path)
			if err == nil {
				t.Fatalf("read %d tensors, want an error containing %q", len(f.Tensors), c.want)
			}
			if !strings.HasPrefix(err.Error(), "checkpoint: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want checkpoint: ...%s", err, c.want)
			}
		})
	}
}

// TestReadPyTorchParams reads nn.Parameter values nested under "model"
// beside pickled objects of classes dp does not know.
func TestReadPyTorchParams(t *testing.T) {
	f, err := ReadPyTorch("testdata/params.pth")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Names, []string{"w", "b"}) {
		t.Fatalf("Names = %v, want [w b]", f.Names)
	}
	if w := f.Tensors["w"]; !slices.Equal(w.Shape(), []int{2, 3}) || !slices.Equal(w.Data(), []float32{0, 0.25, 0.5, 0.75, 1, 1.25}) {
		t.Errorf("w = %v %v, want [2 3] arange(6)/4", w.Shape(), w.Data())
	}
	if b := f.Tensors["b"]; !slices.Equal(b.Data(), []float32{-1.5}) {
		t.Errorf("b = %v, want [-1.5]", b.Data())
	}
	// The numpy scalar and the Namespace are opaque; plain scalars are kept.
	if want := map[string]string{"epoch": "299"}; !maps2Equal(f.Metadata, want) {
		t.Errorf("Metadata = %v, want %v", f.Metadata, want)
	}
}

// FuzzReadPyTorch checks that corrupting a PyTorch file (zip or legacy)
// yields an error, never a crash.
func FuzzReadPyTorch(f *testing.F) {
	for _, name := range []string{"testdata/sd_legacy.pth", "testdata/params.pth"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := decodeTorch(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		out, err := stateDictFrom("fuzz", obj) // errors are fine; panics are not
		if err != nil {
			return
		}
		for _, name := range out.Names {
			if tt := out.Tensors[name]; tt.Len() != tensor.Numel(tt.Shape()) {
				t.Fatalf("%s: %d values for shape %v", name, tt.Len(), tt.Shape())
			}
		}
	})
}

func TestReadDispatch(t *testing.T) {
	for _, file := range []string{"basic.safetensors", "sd_zip.pth", "sd_legacy.pth"} {
		f, err := Read(filepath.Join("testdata", file))
		if err != nil {
			t.Errorf("Read(%s): %v", file, err)
			continue
		}
		if len(f.Tensors) == 0 {
			t.Errorf("Read(%s): no tensors", file)
		}
	}
	// A safetensors file under a .pth name is still read by its content.
	b, err := os.ReadFile("testdata/basic.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "weights.pth")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := Read(p); err != nil || f.Metadata["format"] != "pt" {
		t.Errorf("Read(safetensors named .pth) = %v, %v", f, err)
	}
}

func TestStorageIndices(t *testing.T) {
	cases := []struct {
		name         string
		size, stride []int
		offset, n    int
		want         []int
		err          string
	}{
		{"contiguous", []int{2, 3}, []int{3, 1}, 0, 6, []int{0, 1, 2, 3, 4, 5}, ""},
		{"transposed with offset", []int{3, 2}, []int{1, 5}, 1, 10, []int{1, 6, 2, 7, 3, 8}, ""},
		{"strided", []int{4}, []int{3}, 0, 10, []int{0, 3, 6, 9}, ""},
		{"broadcast", []int{2, 2}, []int{0, 1}, 2, 4, []int{2, 3, 2, 3}, ""},
		{"scalar", []int{}, []int{}, 5, 6, []int{5}, ""},
		{"empty", []int{0, 4}, []int{4, 1}, 0, 0, nil, ""},
		{"past end", []int{4}, []int{3}, 1, 10, nil, "reach past the 10-element storage"},
		{"offset past end", []int{}, []int{}, 6, 6, nil, "reach past"},
		{"huge stride", []int{3}, []int{math.MaxInt / 2}, 0, 10, nil, "reach past"},
		{"negative stride", []int{2}, []int{-1}, 1, 2, nil, "negative stride"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := storageIndices(c.size, c.stride, c.offset, c.n)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestReadPickleLimits(t *testing.T) {
	huge := string(le.AppendUint64(nil, 1<<40))
	cases := []struct {
		name, pickle, want string
	}{
		{"frame past end", "\x80\x04\x95" + huge + "N.", "frame of 1099511627776 bytes"},
		{"bytes8 past end", "\x80\x04\x8e" + huge + "N.", "argument of 1099511627776 bytes"},
		{"unicode past end", "\x80\x02X\xff\xff\xff\x7fab.", "argument of 2147483647 bytes"},
		{"no stop", "\x80\x02N", "no STOP opcode"},
		{"unknown opcode", "\x80\x02\xff.", "unknown opcode 0xff"},
		{"unterminated line", "\x80\x02I12", "unterminated line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readPickle(bufio.NewReader(strings.NewReader(c.pickle)), int64(len(c.pickle)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// A valid pickle is copied up to its STOP, leaving what follows.
	r := bufio.NewReader(strings.NewReader("\x80\x02K\x05.rest"))
	b, err := readPickle(r, 100)
	if err != nil || string(b) != "\x80\x02K\x05." {
		t.Fatalf("readPickle = %q, %v", b, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "rest" {
		t.Errorf("left %q after the pickle, want \"rest\"", rest)
	}
}
