package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// This file unpickles torch.save output. It uses gopickle's pickle virtual
// machine but resolves torch's globals and reads storages itself, so that
// storage sizes are checked against the file before anything is allocated
// and float16 is decoded by halfToFloat32.
//
// Zip format (torch ≥ 1.6): an archive whose records live under one folder:
// data.pkl (the pickled object), data/<key> (one record per storage, raw
// little-endian bytes), byteorder (optional, "little" or "big").
//
// Legacy format: consecutive pickles on one stream: the magic number, the
// protocol version, a system-info dict, the object, the list of storage
// keys in the order their data follows; then per storage an int64 element
// count and the raw bytes.

// torchStorage is one storage referenced by the pickle: numel elements of
// dtype, read into data.
type torchStorage struct {
	dtype DType
	numel int
	data  []byte
}

// torchTensor is a tensor rebuilt from a pickle: a view of a storage.
type torchTensor struct {
	storage *torchStorage
	offset  int
	size    []int
	stride  []int
}

// storageClass stands for a torch.<Type>Storage class in the pickle.
type storageClass struct{ dtype DType }

// torchStorageTypes maps torch's storage class names to dtypes.
var torchStorageTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     BOOL,
}

// maxStorageNumel bounds a storage's element count so that byte sizes
// computed from it cannot overflow (2^40 elements is 8 TiB of int64).
const maxStorageNumel = 1 << 40

// Legacy format constants (torch/serialization.py).
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

const legacyProtocol = 1001

// loadTorch unpickles a torch.save file.
func loadTorch(name string) (any, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return decodeTorch(f, st.Size())
}

// decodeTorch unpickles a torch.save image of the given size. gopickle
// may panic on malformed pickles; that becomes an error.
func decodeTorch(r io.ReaderAt, size int64) (obj any, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", p)
		}
	}()
	var head [4]byte
	n, _ := r.ReadAt(head[:], 0)
	if isZip(head[:n]) {
		z, err := zip.NewReader(r, size)
		if err != nil {
			return nil, err
		}
		return loadTorchZip(z, size)
	}
	if n == 0 || head[0] != pickleProto {
		return nil, errors.New("neither a zip archive nor a legacy PyTorch file (a pickle stream)")
	}
	return loadTorchLegacy(bufio.NewReader(io.NewSectionReader(r, 0, size)), size)
}

func loadTorchZip(z *zip.Reader, archiveSize int64) (any, error) {
	records := map[string]*zip.File{}
	var dataPkl *zip.File
	for _, f := range z.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && dataPkl == nil {
			dataPkl = f
		}
		if path.Base(f.Name) == "constants.pkl" {
			return nil, errTorchScript
		}
	}
	if dataPkl == nil {
		return nil, errors.New("zip archive without data.pkl")
	}
	dir := path.Dir(dataPkl.Name)
	if bo, ok := records[path.Join(dir, "byteorder")]; ok {
		b, err := readRecord(bo, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byteorder %q: only little-endian checkpoints are supported", s)
		}
	}

	storages := map[string]*torchStorage{}
	pkl, err := readRecord(dataPkl, recordLimit(dataPkl, archiveSize))
	if err != nil {
		return nil, err
	}
	pkl, err = readPickle(bufio.NewReader(bytes.NewReader(pkl)), int64(len(pkl)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dataPkl.Name, err)
	}
	u := pickle.NewUnpickler(bytes.NewReader(pkl))
	u.FindClass = findTorchClass
	u.PersistentLoad = func(id any) (any, error) {
		// ("storage", storage_type, key, location, numel)
		cls, key, numel, err := parseStorageID(id, 5)
		if err != nil {
			return nil, err
		}
		if s, ok := storages[key]; ok {
			return s, nil
		}
		rec, ok := records[path.Join(dir, "data", key)]
		if !ok {
			return nil, fmt.Errorf("storage %s: no record data/%s in the archive", key, key)
		}
		size, _ := cls.dtype.Size()
		if want := uint64(numel) * uint64(size); rec.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %s: record holds %d bytes, want %d for %d %s elements",
				key, rec.UncompressedSize64, want, numel, cls.dtype)
		}
		data, err := readRecord(rec, recordLimit(rec, archiveSize))
		if err != nil {
			return nil, fmt.Errorf("storage %s: %w", key, err)
		}
		s := &torchStorage{dtype: cls.dtype, numel: numel, data: data}
		storages[key] = s
		return s, nil
	}
	return u.Load()
}

// recordLimit bounds the size a zip record may claim: a stored record
// cannot be larger than the archive, a compressed one no more than deflate's
// best ratio (about 1:1032) allows.
func recordLimit(f *zip.File, archiveSize int64) uint64 {
	if f.Method == zip.Store {
		return uint64(archiveSize)
	}
	return 1032 * uint64(archiveSize)
}

// readRecord reads a zip record of at most limit bytes.
func readRecord(f *zip.File, limit uint64) ([]byte, error) {
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("record %s: %d bytes, want at most %d", f.Name, f.UncompressedSize64, limit)
	}
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	return b, nil
}

func loadTorchLegacy(r *bufio.Reader, fileSize int64) (any, error) {
	var consumed int64
	// unpickle reads the next pickle from r.
	unpickle := func(what string, u func(io.Reader) pickle.Unpickler) (any, error) {
		b, err := readPickle(r, fileSize-consumed)
		if err != nil {
			return nil, fmt.Errorf("legacy format: reading the %s: %w", what, err)
		}
		consumed += int64(len(b))
		p := u(bytes.NewReader(b))
		v, err := p.Load()
		if err != nil {
			return nil, fmt.Errorf("legacy format: reading the %s: %w", what, err)
		}
		return v, nil
	}
	next := func(what string) (any, error) { return unpickle(what, pickle.NewUnpickler) }
	magic, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("neither a zip archive nor a legacy PyTorch file (bad magic number)")
	}
	proto, err := next("protocol version")
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int); !ok || p != legacyProtocol {
		return nil, fmt.Errorf("legacy format: protocol version %v, want %d", proto, legacyProtocol)
	}
	if _, err := next("system info"); err != nil {
		return nil, err
	}

	storages := map[string]*torchStorage{}
	persistentLoad := func(id any) (any, error) {
		// ("storage", storage_type, root_key, location, numel, view_metadata)
		cls, key, numel, err := parseStorageID(id, 6)
		if err != nil {
			return nil, err
		}
		if view := (*id.(*types.Tuple))[5]; view != nil {
			return nil, fmt.Errorf("storage %s: storage views (PyTorch < 0.4) are not supported", key)
		}
		s, ok := storages[key]
		if !ok {
			s = &torchStorage{dtype: cls.dtype, numel: numel}
			storages[key] = s
		}
		return s, nil
	}
	obj, err := unpickle("object", func(r io.Reader) pickle.Unpickler {
		u := pickle.NewUnpickler(r)
		u.FindClass = findTorchClass
		u.PersistentLoad = persistentLoad
		return u
	})
	if err != nil {
		return nil, err
	}
	keysObj, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are %T, want a list", keysObj)
	}
	for _, k := range *keys {
		key, ok := k.(string)
		s := storages[key]
		if !ok || s == nil {
			return nil, fmt.Errorf("legacy format: storage key %v was not referenced by the object", k)
		}
		var count [8]byte
		if _, err := io.ReadFull(r, count[:]); err != nil {
			return nil, fmt.Errorf("storage %s: reading its size: %w", key, err)
		}
		if n := le.Uint64(count[:]); n != uint64(s.numel) {
			return nil, fmt.Errorf("storage %s: %d elements on file, want %d", key, n, s.numel)
		}
		consumed += 8
		size, _ := s.dtype.Size()
		if int64(s.numel) > (fileSize-consumed)/int64(size) {
			return nil, fmt.Errorf("storage %s: %d %s elements, more than the rest of the file holds", key, s.numel, s.dtype)
		}
		nbytes := int64(s.numel) * int64(size)
		s.data = make([]byte, nbytes)
		if _, err := io.ReadFull(r, s.data); err != nil {
			return nil, fmt.Errorf("storage %s: reading %d bytes: %w", key, nbytes, err)
		}
		consumed += nbytes
	}
	return obj, nil
}

// parseStorageID checks a persistent id naming a storage and returns its
// class, key and element count.
func parseStorageID(id any, minLen int) (storageClass, string, int, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < minLen {
		return storageClass{}, "", 0, fmt.Errorf("persistent id %v: want a %d-tuple", id, minLen)
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		return storageClass{}, "", 0, fmt.Errorf("persistent id of kind %v, want storage", t.Get(0))
	}
	cls, ok1 := t.Get(1).(*storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 {
		return storageClass{}, "", 0, fmt.Errorf("storage of unsupported type %v", pyTypeName(t.Get(1)))
	}
	if !ok2 || !ok3 || numel < 0 {
		return storageClass{}, "", 0, fmt.Errorf("malformed storage id %v", id)
	}
	if numel > maxStorageNumel {
		return storageClass{}, "", 0, fmt.Errorf("storage %s: %d elements is beyond any checkpoint", key, numel)
	}
	return *cls, key, numel, nil
}

var errTorchScript = errors.New("a TorchScript archive (torch.jit.save) holds a program, not a state_dict; " +
	"save the weights with torch.save(model.state_dict(), path)")

// findTorchClass resolves the Python globals a torch.save pickle refers
// to. Tensor constructors and storage types are understood; any other class
// becomes an opaque object, so checkpoints whose metadata pickles foreign
// objects (numpy scalars, argparse namespaces, config objects) still load.
func findTorchClass(module, name string) (any, error) {
	if module == "torch" {
		if d, ok := torchStorageTypes[name]; ok {
			return &storageClass{dtype: d}, nil
		}
	}
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		// _rebuild_tensor_v2(storage, storage_offset, size, stride,
		//     requires_grad, backward_hooks[, metadata])
		// _rebuild_tensor(storage, storage_offset, size, stride)
		return callFunc(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		// _rebuild_parameter(data, requires_grad, backward_hooks[, state])
		return callFunc(func(args []any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	case "torch._tensor._rebuild_from_type_v2":
		// _rebuild_from_type_v2(func, new_type, args, state)
		return callFunc(func(args []any) (any, error) {
			if len(args) < 3 {
				return nil, fmt.Errorf("_rebuild_from_type_v2: %d arguments, want 4", len(args))
			}
			fn, ok1 := args[0].(types.Callable)
			fargs, ok2 := args[2].(*types.Tuple)
			if !ok1 || !ok2 {
				return nil, errors.New("_rebuild_from_type_v2: unexpected arguments")
			}
			return fn.Call(*fargs...)
		}), nil
	}
	return &foreignClass{module: module, name: name}, nil
}

func rebuildTensor(args []any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	s, ok1 := args[0].(*torchStorage)
	off, ok2 := args[1].(int)
	size, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("_rebuild_tensor: unexpected arguments (%s, %s, %s, %s)",
			pyTypeName(args[0]), pyTypeName(args[1]), pyTypeName(args[2]), pyTypeName(args[3]))
	}
	return &torchTensor{storage: s, offset: off, size: size, stride: stride}, nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// callFunc adapts a Go function to a Python callable.
type callFunc func(args []any) (any, error)

func (c callFunc) Call(args ...any) (any, error) { return c(args) }

// foreignClass is a Python class dp has no use for. Calling or
// instantiating it yields a foreignObject that accepts any state.
type foreignClass struct{ module, name string }

func (c *foreignClass) Call(args ...any) (any, error)  { return &foreignObject{c}, nil }
func (c *foreignClass) PyNew(args ...any) (any, error) { return &foreignObject{c}, nil }

type foreignObject struct{ class *foreignClass }

func (o *foreignObject) PySetState(any) error { return nil }
