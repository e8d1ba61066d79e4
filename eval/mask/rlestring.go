package mask

import (
	"fmt"
	"strings"
)

// String returns the compressed COCO "counts" string of r (maskApi.c
// rleToString): each count, minus the count two places earlier from the
// fourth count on, as a signed base-32 number, least significant five bits
// first, 0x20 marking that more characters follow, offset by '0'.
func (r RLE) String() string {
	var sb strings.Builder
	sb.Grow(len(r.Counts) * 2)
	for i, c := range r.Counts {
		x := int64(c)
		if i > 2 {
			x -= int64(r.Counts[i-2])
		}
		for more := true; more; {
			ch := byte(x & 0x1f)
			x >>= 5
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			sb.WriteByte(ch + 48)
		}
	}
	return sb.String()
}

// FrString parses a compressed COCO "counts" string of an h×w mask
// (maskApi.c rleFrString). It returns an error if a character is outside
// '0'..'o', the string ends inside a count, a count falls outside the range
// of uint32, or the counts do not sum to h·w.
func FrString(s string, h, w int) (RLE, error) {
	// Check the characters and size the counts exactly: every count ends
	// at a character without the continuation bit.
	n := 0
	for p := 0; p < len(s); p++ {
		c := s[p]
		if c < 48 || c > 111 {
			return RLE{}, fmt.Errorf("mask: RLE counts string has byte %q at offset %d, want '0'..'o'", c, p)
		}
		if (c-48)&0x20 == 0 {
			n++
		}
	}
	counts := make([]uint32, 0, n)
	var sum uint64
	for p := 0; p < len(s); {
		start := p
		c := int64(s[p] - 48)
		p++
		x := c & 0x1f
		if c&0x20 != 0 {
			// More characters follow, five bits each, least significant first.
			for k := 1; ; k++ {
				if p == len(s) {
					return RLE{}, fmt.Errorf("mask: RLE counts string ends inside count %d (byte %d)", len(counts), start)
				}
				if k > 12 {
					return RLE{}, fmt.Errorf("mask: RLE count %d at byte %d is too long", len(counts), start)
				}
				c = int64(s[p] - 48)
				p++
				x |= (c & 0x1f) << (5 * k)
				if c&0x20 == 0 {
					if c&0x10 != 0 {
						x |= -1 << (5 * (k + 1))
					}
					break
				}
			}
		} else if c&0x10 != 0 {
			x |= -1 << 5 // a negative one-character value
		}
		if m := len(counts); m > 2 {
			x += int64(counts[m-2])
		}
		if x < 0 || x > 1<<32-1 {
			return RLE{}, fmt.Errorf("mask: RLE count %d at byte %d is %d, outside 0..2^32-1", len(counts), start, x)
		}
		counts = append(counts, uint32(x))
		sum += uint64(x)
	}
	if len(counts) == 0 {
		return RLE{}, fmt.Errorf("mask: RLE has no counts")
	}
	if sum != uint64(h)*uint64(w) || h < 0 || w < 0 {
		return RLE{}, RLE{H: h, W: w, Counts: counts}.Validate()
	}
	return RLE{H: h, W: w, Counts: counts}, nil
}
