package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/densepred/dp/tensor"
)

// The safetensors layout (https://github.com/huggingface/safetensors):
//
//	u64 little-endian N | N bytes of JSON header | data
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets"},
// offsets being [begin, end) byte positions relative to the start of data;
// the optional "__metadata__" key maps to a string-to-string object.
const (
	stHeaderLenSize = 8
	stMetadataKey   = "__metadata__"
	// stMaxHeader bounds the JSON header, as the reference implementation
	// does, so a corrupt length cannot make us allocate gigabytes.
	stMaxHeader = 100 << 20
	// stAlign is the alignment of the data section written by
	// WriteSafetensors: the header is padded with spaces to a multiple of it.
	stAlign = 8
)

// stEntry is one tensor's header record.
type stEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// ReadSafetensors reads a safetensors file. Floating-point tensors are
// converted to float32; integer and boolean ones are kept in File.Raw as
// well. File.Names is sorted.
func ReadSafetensors(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return decodeSafetensors(path, f, st.Size())
}

// decodeSafetensors parses a safetensors image of the given size from r;
// name is used in errors only.
func decodeSafetensors(name string, r io.ReaderAt, size int64) (*File, error) {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: "+format, append([]any{name}, args...)...)
	}
	if size < stHeaderLenSize {
		return nil, errf("truncated: %d bytes, want at least %d for the header length", size, stHeaderLenSize)
	}
	var lenBuf [stHeaderLenSize]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, errf("reading header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > uint64(size-stHeaderLenSize) {
		return nil, errf("header length %d runs past the end of the file (%d bytes after the length)", n, size-stHeaderLenSize)
	}
	if n > stMaxHeader {
		return nil, errf("header length %d exceeds the limit of %d bytes", n, stMaxHeader)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, stHeaderLenSize); err != nil {
		return nil, errf("reading %d-byte header: %v", n, err)
	}
	dataStart := int64(stHeaderLenSize) + int64(n)
	dataLen := size - dataStart

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, errf("bad JSON header: %v", err)
	}
	if raw == nil {
		return nil, errf("bad JSON header: want an object, got null")
	}
	out := newFile()
	if m, ok := raw[stMetadataKey]; ok {
		if err := json.Unmarshal(m, &out.Metadata); err != nil {
			return nil, errf("%s: want an object of strings: %v", stMetadataKey, err)
		}
		if out.Metadata == nil {
			out.Metadata = map[string]string{}
		}
		delete(raw, stMetadataKey)
	}

	entries := make(map[string]stEntry, len(raw))
	for tn, msg := range raw {
		var e stEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, errf("tensor %q: bad header entry: %v", tn, err)
		}
		if err := checkEntry(e, dataLen); err != nil {
			return nil, errf("tensor %q: %v", tn, err)
		}
		entries[tn] = e
		out.Names = append(out.Names, tn)
	}
	slices.Sort(out.Names)

	// No two tensors may share bytes.
	byOffset := slices.Clone(out.Names)
	slices.SortFunc(byOffset, func(a, b string) int {
		ea, eb := entries[a], entries[b]
		if c := compareInt64(ea.DataOffsets[0], eb.DataOffsets[0]); c != 0 {
			return c
		}
		return compareInt64(ea.DataOffsets[1], eb.DataOffsets[1])
	})
	for i := 1; i < len(byOffset); i++ {
		prev, cur := entries[byOffset[i-1]], entries[byOffset[i]]
		if cur.DataOffsets[0] < prev.DataOffsets[1] {
			return nil, errf("tensor %q: data_offsets %v overlap those of %q %v",
				byOffset[i], cur.DataOffsets, byOffset[i-1], prev.DataOffsets)
		}
	}

	for _, tn := range out.Names {
		e := entries[tn]
		b := make([]byte, e.DataOffsets[1]-e.DataOffsets[0])
		if _, err := r.ReadAt(b, dataStart+e.DataOffsets[0]); err != nil {
			return nil, errf("tensor %q: reading %d bytes: %v", tn, len(b), err)
		}
		out.add(tn, e.DType, e.Shape, b)
	}
	return out, nil
}

// checkEntry validates one header entry against a data section of dataLen
// bytes.
func checkEntry(e stEntry, dataLen int64) error {
	size, ok := e.DType.Size()
	if !ok {
		return fmt.Errorf("unknown dtype %q (want one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", e.DType)
	}
	if e.Shape == nil {
		return fmt.Errorf("missing shape")
	}
	if len(e.DataOffsets) != 2 {
		return fmt.Errorf("data_offsets %v: want [begin, end]", e.DataOffsets)
	}
	want := int64(size)
	for _, d := range e.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", e.Shape)
		}
		if d != 0 && want > math.MaxInt32*int64(size)/int64(d) {
			// More than 2^31 elements: beyond any real checkpoint tensor and
			// beyond what a float32 slice index should be asked for.
			return fmt.Errorf("shape %v is too large", e.Shape)
		}
		want *= int64(d)
	}
	b, end := e.DataOffsets[0], e.DataOffsets[1]
	if b < 0 || end < b || end > dataLen {
		return fmt.Errorf("data_offsets [%d, %d] out of range: the data section holds %d bytes", b, end, dataLen)
	}
	if end-b != want {
		return fmt.Errorf("data_offsets [%d, %d] hold %d bytes, want %d for shape %v of %s",
			b, end, end-b, want, e.Shape, e.DType)
	}
	return nil
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// WriteSafetensors writes tensors as float32 (F32) safetensors with the
// given metadata (which may be nil). Names are laid out in sorted order and
// the header is padded with spaces so the data starts 8-byte aligned, so the
// same input always gives the same bytes. The file is written to a
// temporary file in the same directory, synced and renamed over path, so
// path never holds a partial checkpoint.
func WriteSafetensors(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return writeSafetensors(path, tensors, nil, metadata)
}

// WriteFile writes f as safetensors, like WriteSafetensors, except that a
// tensor also present in f.Raw is written in its raw dtype and bytes, so
// reading the result gives back f exactly: integer buffers such as
// num_batches_tracked or an optimizer's step stay integers.
func WriteFile(path string, f *File) error {
	return writeSafetensors(path, f.Tensors, f.Raw, f.Metadata)
}

func writeSafetensors(path string, tensors map[string]*tensor.Tensor, raw map[string]RawTensor, metadata map[string]string) error {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: "+format, append([]any{path}, args...)...)
	}
	names := make([]string, 0, len(tensors)+len(raw))
	for name, t := range tensors {
		if t == nil {
			return errf("tensor %q is nil", name)
		}
		names = append(names, name)
	}
	for name, r := range raw {
		size, ok := r.DType.Size()
		if !ok {
			return errf("raw tensor %q: unknown dtype %q", name, r.DType)
		}
		if want := size * tensor.Numel(r.Shape); len(r.Data) != want {
			return errf("raw tensor %q: %d bytes, want %d for shape %v of %s", name, len(r.Data), want, r.Shape, r.DType)
		}
		if _, dup := tensors[name]; !dup {
			names = append(names, name)
		}
	}
	if slices.Contains(names, stMetadataKey) {
		return errf("tensor name %q is reserved", stMetadataKey)
	}
	slices.Sort(names)

	header := make(map[string]any, len(names)+1)
	var off int64
	for _, name := range names {
		e := stEntry{DType: F32}
		var n int64
		if r, ok := raw[name]; ok {
			e.DType, e.Shape, n = r.DType, r.Shape, int64(len(r.Data))
		} else {
			t := tensors[name]
			e.Shape, n = t.Shape(), int64(4*t.Len())
		}
		e.Shape = append([]int{}, e.Shape...) // [] rather than null for scalars
		e.DataOffsets = []int64{off, off + n}
		header[name] = e
		off += n
	}
	if len(metadata) > 0 {
		header[stMetadataKey] = metadata
	}
	hdr, err := json.Marshal(header) // encoding/json sorts map keys
	if err != nil {
		return errf("encoding header: %w", err)
	}
	for (stHeaderLenSize+len(hdr))%stAlign != 0 {
		hdr = append(hdr, ' ')
	}

	return writeAtomic(path, func(w io.Writer) error {
		var lenBuf [stHeaderLenSize]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		var buf [4096]byte
		for _, name := range names {
			if r, ok := raw[name]; ok {
				if _, err := w.Write(r.Data); err != nil {
					return err
				}
				continue
			}
			data := tensors[name].Data()
			for len(data) > 0 {
				k := min(len(data), len(buf)/4)
				for i, v := range data[:k] {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
				}
				if _, err := w.Write(buf[:4*k]); err != nil {
					return err
				}
				data = data[k:]
			}
		}
		return nil
	})
}

// writeAtomic writes a file through fill into a temporary sibling of path,
// syncs it and renames it to path. On failure the temporary file is removed
// and path is left untouched.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("checkpoint: writing %s: %w", path, err)
		}
	}()
	// CreateTemp makes the file private; a checkpoint is an ordinary file.
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable. Some file systems cannot sync a
	// directory; the data is already safe, so that is not an error.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
