package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// readPickle copies one pickle from r, up to and including its STOP
// opcode, checking every length-prefixed argument against the limit bytes
// left in the input before anything is read or allocated. gopickle
// allocates a length-prefixed argument in full before reading it, so a
// single corrupt length could otherwise ask for terabytes; readPickle's
// output is safe to hand it.
//
// Opcodes and argument layouts follow CPython's Lib/pickletools.py.
func readPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var out []byte
	read := func(n uint64) error {
		if n > uint64(limit)-uint64(len(out)) {
			return fmt.Errorf("pickle: argument of %d bytes at offset %d runs past the end of the input", n, len(out))
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		_, err := io.ReadFull(r, out[start:])
		return err
	}
	readLine := func() error {
		for {
			if int64(len(out)) >= limit {
				return errors.New("pickle: unterminated line argument")
			}
			c, err := r.ReadByte()
			if err != nil {
				return err
			}
			out = append(out, c)
			if c == '\n' {
				return nil
			}
		}
	}
	for {
		if int64(len(out)) >= limit {
			return nil, errors.New("pickle: no STOP opcode before the end of the input")
		}
		op, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("pickle: %w", err)
		}
		out = append(out, op)
		pos := len(out)
		switch op {
		case '.': // STOP
			return out, nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
			// no argument
		case 'K', 'q', 'h', 0x80, 0x82: // 1-byte argument
			err = read(1)
		case 'M', 0x83: // 2-byte argument
			err = read(2)
		case 'J', 'r', 'j', 0x84: // 4-byte argument
			err = read(4)
		case 'G': // BINFLOAT: 8-byte argument
			err = read(8)
		case 0x95: // FRAME: 8-byte length of the opcodes that follow
			if err = read(8); err == nil {
				if n := le.Uint64(out[pos:]); n > uint64(limit)-uint64(len(out)) {
					err = fmt.Errorf("pickle: frame of %d bytes at offset %d runs past the end of the input", n, pos-1)
				}
			}
		case 'U', 'C', 0x8c, 0x8a: // 1-byte length, then data
			if err = read(1); err == nil {
				err = read(uint64(out[pos]))
			}
		case 'T', 'X', 'B', 0x8b: // 4-byte length, then data
			if err = read(4); err == nil {
				err = read(uint64(le.Uint32(out[pos:])))
			}
		case 0x8d, 0x8e, 0x96: // 8-byte length, then data
			if err = read(8); err == nil {
				err = read(le.Uint64(out[pos:]))
			}
		case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p': // one line
			err = readLine()
		case 'c', 'i': // two lines: module and name
			if err = readLine(); err == nil {
				err = readLine()
			}
		default:
			return nil, fmt.Errorf("pickle: unknown opcode %#x at offset %d", op, pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}
