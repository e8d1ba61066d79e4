package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadSafetensorsWithPickleLikeLength is a regression test: a header of
// 128 bytes makes a safetensors file start with 0x80, pickle's PROTO opcode;
// Read must still take it for safetensors.
func TestReadSafetensorsWithPickleLikeLength(t *testing.T) {
	hdr := `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	hdr += strings.Repeat(" ", 128-len(hdr))
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	b = binary.LittleEndian.AppendUint32(b, 0x3f800000) // 1.0
	path := filepath.Join(t.TempDir(), "ckpt")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if b[0] != pickleProto {
		t.Fatalf("test file starts with %#x, want %#x", b[0], pickleProto)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := f.Tensors["w"].Data(); len(v) != 1 || v[0] != 1 {
		t.Errorf("w = %v, want [1]", v)
	}
}
