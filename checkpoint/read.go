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
	var head [9]byte
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

// isPyTorch reports whether a file starting with head is a PyTorch archive
// (zip) or legacy pickle rather than safetensors. A safetensors header length
// may begin with the pickle PROTO byte 0x80, so a file whose ninth byte opens
// a JSON object ('{', the start of every safetensors header) is never taken
// for a pickle.
func isPyTorch(head []byte) bool {
	if isZip(head) {
		return true
	}
	if len(head) == 9 && head[8] == '{' {
		return false
	}
	return len(head) > 0 && head[0] == pickleProto
}

func isZip(head []byte) bool {
	return bytes.HasPrefix(head, zipMagic) || bytes.HasPrefix(head, zipEmptyMagic)
}
