package checkpoint

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Magic bytes that identify PyTorch files: the zip local-file and
// end-of-archive signatures (torch.save since 1.6) and pickle's PROTO
// opcode that starts a legacy file.
var (
	zipMagic      = []byte("PK\x03\x04")
	zipEmptyMagic = []byte("PK\x05\x06")
)

const pickleProto = 0x80

// Read reads a checkpoint in any supported format. The format is decided by
// the file's first bytes, not its name: a zip archive or a pickle stream is
// read by ReadPyTorch, anything else by ReadSafetensors (whose first 8
// bytes are a header length and can take any value).
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var head [4]byte
	n, err := io.ReadFull(f, head[:])
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if isPyTorch(head[:n]) {
		return ReadPyTorch(path)
	}
	return ReadSafetensors(path)
}

func isPyTorch(head []byte) bool {
	return isZip(head) || len(head) > 0 && head[0] == pickleProto
}

func isZip(head []byte) bool {
	return bytes.HasPrefix(head, zipMagic) || bytes.HasPrefix(head, zipEmptyMagic)
}
