package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// stateDictKeys are the top-level keys under which training frameworks nest
// the weights, in the order they are tried: mmengine and timm save
// {"state_dict": ...}, DeiT/Swin-style scripts and timm's train script save
// {"model": ...}.
var stateDictKeys = []string{"state_dict", "model"}

// modulePrefix is what torch.nn.DataParallel and DistributedDataParallel
// put in front of every name.
const modulePrefix = "module."

// ReadPyTorch reads a checkpoint written by torch.save, in the zip format
// (PyTorch ≥ 1.6) or the legacy one, and returns its state_dict.
//
// The file must hold a dict. Its weights are found as mmengine's
// load_checkpoint and timm's load_state_dict find them: if the dict has a
// "state_dict" entry that is a dict holding at least one tensor, that entry
// is the state_dict; otherwise the same test is made for "model"; otherwise
// the dict itself is the state_dict. A leading "module." is removed from
// every name. File.Names keeps the state_dict's order.
//
// Tensors may be views: storage offset and strides are honoured and the
// values copied out in row-major order. Float16, bfloat16 and float64
// tensors are converted to float32; integer and boolean tensors (such as
// BatchNorm's num_batches_tracked) are also kept exactly in File.Raw.
// Non-tensor entries of the state_dict are skipped. Scalars (numbers,
// strings, booleans) found in the state_dict or anywhere else in the
// checkpoint outside it, such as "epoch" or "meta.mmdet_version", are put in
// File.Metadata under their dotted path; tensors outside the state_dict
// (optimizer moments, EMA copies) are not read.
//
// TorchScript archives (torch.jit.save) hold code rather than a state_dict
// and are refused.
func ReadPyTorch(path string) (*File, error) {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: "+format, append([]any{path}, args...)...)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	obj, err := loadTorch(path)
	if errors.Is(err, errTorchScript) {
		return nil, errf("%v", err)
	}
	if err != nil {
		return nil, errf("not a readable PyTorch checkpoint: %v", err)
	}
	return stateDictFrom(path, obj)
}

// stateDictFrom picks the state_dict out of an unpickled checkpoint as
// ReadPyTorch describes; path is used in errors only.
func stateDictFrom(path string, obj any) (*File, error) {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: "+format, append([]any{path}, args...)...)
	}
	top, ok := asDict(obj)
	if !ok {
		return nil, errf("top-level object is %s, want a dict (a state_dict or a dict holding one)", pyTypeName(obj))
	}

	sd, sdKey := top, ""
	for _, k := range stateDictKeys {
		if v, ok := top.get(k); ok {
			if d, ok := asDict(v); ok && d.hasTensor() {
				sd, sdKey = d, k
				break
			}
		}
	}

	f := newFile()
	for _, e := range sd {
		name := strings.TrimPrefix(e.key, modulePrefix)
		t, ok := e.value.(*torchTensor)
		if !ok {
			if s, ok := scalarString(e.value); ok {
				f.Metadata[name] = s
			}
			continue
		}
		if _, dup := f.Tensors[name]; dup {
			return nil, errf("tensor %q appears twice once %q is removed", name, modulePrefix)
		}
		if err := f.addTorch(name, t); err != nil {
			return nil, errf("tensor %q: %v", e.key, err)
		}
		f.Names = append(f.Names, name)
	}
	if len(f.Tensors) == 0 {
		return nil, errf("no tensors found (top-level keys %v)", top.keys())
	}
	if sdKey != "" {
		budget := maxMetadataDicts
		for _, e := range top {
			if e.key != sdKey {
				collectScalars(f.Metadata, e.key, e.value, 0, &budget)
			}
		}
	}
	return f, nil
}

// dictEntry is one item of a Python dict with a string key.
type dictEntry struct {
	key   string
	value any
}

// pyDict is a Python dict or OrderedDict in insertion order. Entries whose
// key is not a string (optimizer states keyed by parameter index) are left
// out.
type pyDict []dictEntry

func asDict(v any) (pyDict, bool) {
	var d pyDict
	switch v := v.(type) {
	case *types.Dict:
		for _, e := range *v {
			if k, ok := e.Key.(string); ok {
				d = append(d, dictEntry{k, e.Value})
			}
		}
	case *types.OrderedDict:
		for el := v.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if k, ok := e.Key.(string); ok {
				d = append(d, dictEntry{k, e.Value})
			}
		}
	default:
		return nil, false
	}
	return d, true
}

func (d pyDict) get(key string) (any, bool) {
	for _, e := range d {
		if e.key == key {
			return e.value, true
		}
	}
	return nil, false
}

func (d pyDict) hasTensor() bool {
	for _, e := range d {
		if _, ok := e.value.(*torchTensor); ok {
			return true
		}
	}
	return false
}

func (d pyDict) keys() []string {
	keys := make([]string, len(d))
	for i, e := range d {
		keys[i] = e.key
	}
	return keys
}

// Metadata collection limits: nested dicts in a pickle may share or even
// contain themselves, so the walk is bounded in depth and in dicts visited.
const (
	maxMetadataDepth = 8
	maxMetadataDicts = 1000
)

// collectScalars records v under key if it is a scalar, or the scalars of v
// under key.subkey if it is a dict. budget counts the dicts still allowed.
func collectScalars(meta map[string]string, key string, v any, depth int, budget *int) {
	if s, ok := scalarString(v); ok {
		meta[key] = s
		return
	}
	if depth >= maxMetadataDepth || *budget <= 0 {
		return
	}
	d, ok := asDict(v)
	if !ok {
		return
	}
	*budget--
	for _, e := range d {
		collectScalars(meta, key+"."+e.key, e.value, depth+1, budget)
	}
}

// scalarString formats a Python number, string or boolean.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int:
		return strconv.Itoa(v), true
	case *big.Int:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func pyTypeName(v any) string {
	switch v := v.(type) {
	case *torchTensor:
		return "a tensor"
	case *types.List, *types.Tuple:
		return "a list"
	case *foreignObject:
		return "a " + v.class.module + "." + v.class.name + " object"
	case nil:
		return "None"
	}
	return fmt.Sprintf("a %T", v)
}

// maxExpandedNumel is the most elements a tensor may have beyond those of
// its storage.
const maxExpandedNumel = 1 << 20

// addTorch copies a possibly strided PyTorch tensor into f.
func (f *File) addTorch(name string, t *torchTensor) error {
	if len(t.size) != len(t.stride) {
		return fmt.Errorf("size %v and stride %v differ in length", t.size, t.stride)
	}
	n := 1
	for _, d := range t.size {
		if d < 0 {
			return fmt.Errorf("negative dimension in size %v", t.size)
		}
		if d != 0 && n > math.MaxInt32/d {
			return fmt.Errorf("size %v is too large", t.size)
		}
		n *= d
	}
	s := t.storage
	if s.data == nil && s.numel > 0 {
		return fmt.Errorf("storage data missing from the file")
	}
	// Zero strides let a tiny storage stand for a huge tensor. Real
	// state_dicts do not hold such expanded views; a corrupt file must not
	// make us allocate for one.
	if n > s.numel && n > maxExpandedNumel {
		return fmt.Errorf("size %v (%d elements) expands a %d-element storage; save a contiguous copy", t.size, n, s.numel)
	}
	idx, err := storageIndices(t.size, t.stride, t.offset, s.numel)
	if err != nil {
		return err
	}
	// Gather the elements' bytes in row-major order, then decode them as
	// the safetensors reader does.
	size, _ := s.dtype.Size()
	b := make([]byte, n*size)
	for i, j := range idx {
		copy(b[i*size:(i+1)*size], s.data[j*size:])
	}
	f.add(name, s.dtype, slices.Clone(t.size), b)
	return nil
}

// storageIndices returns, in row-major order, the storage index of every
// element of a tensor with the given size, stride and storage offset, after
// checking that all of them fall inside a storage of n elements.
func storageIndices(size, stride []int, offset, n int) ([]int, error) {
	numel := 1
	for _, d := range size {
		numel *= d
	}
	if numel == 0 {
		return nil, nil
	}
	if offset < 0 {
		return nil, fmt.Errorf("negative storage offset %d", offset)
	}
	last := offset
	for i, d := range size {
		if stride[i] < 0 {
			return nil, fmt.Errorf("negative stride %v", stride)
		}
		if stride[i] > 0 && d-1 > (n-last)/stride[i] {
			last = n // past the end; reported below
			break
		}
		last += (d - 1) * stride[i]
	}
	if last >= n {
		return nil, fmt.Errorf("size %v, stride %v and offset %d reach past the %d-element storage", size, stride, offset, n)
	}
	idx := make([]int, numel)
	pos := make([]int, len(size))
	cur := offset
	for i := range idx {
		idx[i] = cur
		// Advance the multi-index like an odometer.
		for d := len(size) - 1; d >= 0; d-- {
			pos[d]++
			cur += stride[d]
			if pos[d] < size[d] {
				break
			}
			cur -= pos[d] * stride[d]
			pos[d] = 0
		}
	}
	return idx, nil
}
