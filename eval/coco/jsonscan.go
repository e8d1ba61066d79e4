package coco

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a small JSON reader for COCO files. encoding/json spends most
// of its time on the polygons and RLE strings of these files (it scans every
// value twice and decodes through reflection); this reads each byte once
// into the typed records. On the benchmark's 14 MB ground truth it is
// several times faster. It is not a validator of everything JSON allows: it
// accepts exactly the JSON grammar for the values it reads and skips the
// others with a full syntax check.
type scanner struct {
	data []byte
	pos  int

	// lazyPolygons makes segmentation keep polygon lists as text.
	lazyPolygons bool
}

// syntaxError describes a malformed file at the current position.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (byte %d)", e.msg, e.offset) }

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: s.pos}
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\n', '\r', '\t':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) describe() string {
	switch c := s.peek(); {
	case c == 0:
		return "the end of the file"
	case c == '{':
		return "an object"
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		return fmt.Sprintf("%q", c)
	}
}

// null consumes a null and reports whether there was one.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.data)-s.pos >= 4 && string(s.data[s.pos:s.pos+4]) == "null" {
		s.pos += 4
		return true
	}
	return false
}

// object calls field for each key of an object; field must consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if s.peek() != '{' {
		return s.errorf("want an object, got %s", s.describe())
	}
	s.pos++
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.errorf("want a key string, got %s", s.describe())
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.errorf("want ':' after key %q", key)
		}
		s.pos++
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or '}' in object, got %s", s.describe())
		}
	}
}

// array calls elem for each element of a list; elem must consume it.
func (s *scanner) array(elem func(i int) error) error {
	if s.peek() != '[' {
		return s.errorf("want a list, got %s", s.describe())
	}
	s.pos++
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or ']' in list, got %s", s.describe())
		}
	}
}

// rawString reads a string and returns its bytes between the quotes,
// escapes undone; the result may alias the input.
func (s *scanner) rawString() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errorf("want a string, got %s", s.describe())
	}
	start := s.pos
	s.pos++
	escaped := false
	for {
		// Jump to the next quote, then look back for escapes in between.
		q := bytes.IndexByte(s.data[s.pos:], '"')
		if q < 0 {
			s.pos = len(s.data)
			return nil, s.errorf("unterminated string")
		}
		seg := s.data[s.pos : s.pos+q]
		if bytes.IndexByte(seg, '\\') < 0 {
			s.pos += q + 1
			break
		}
		// Walk the segment: the quote may itself be escaped.
		p := s.pos
		for p < s.pos+q {
			if s.data[p] == '\\' {
				escaped = true
				p += 2
			} else {
				p++
			}
		}
		if p == s.pos+q {
			s.pos = p + 1
			break
		}
		// The quote was escaped: continue after it.
		s.pos = p
	}
	lit := s.data[start+1 : s.pos-1]
	for _, c := range lit {
		if c < 0x20 {
			return nil, s.errorf("control character in string")
		}
	}
	if escaped {
		return s.unescape(start)
	}
	return lit, nil
}

func (s *scanner) str() (string, error) {
	b, err := s.rawString()
	return string(b), err
}

// numberBytes reads the bytes of a JSON number.
func (s *scanner) numberBytes() ([]byte, error) {
	s.ws()
	start := s.pos
	p := s.pos
	d := s.data
	if p < len(d) && d[p] == '-' {
		p++
	}
	digits := func() int {
		n := 0
		for p < len(d) && d[p] >= '0' && d[p] <= '9' {
			p++
			n++
		}
		return n
	}
	if digits() == 0 {
		return nil, s.errorf("want a number, got %s", s.describe())
	}
	if p < len(d) && d[p] == '.' {
		p++
		if digits() == 0 {
			s.pos = p
			return nil, s.errorf("want digits after the decimal point")
		}
	}
	if p < len(d) && (d[p] == 'e' || d[p] == 'E') {
		p++
		if p < len(d) && (d[p] == '+' || d[p] == '-') {
			p++
		}
		if digits() == 0 {
			s.pos = p
			return nil, s.errorf("want digits in the exponent")
		}
	}
	s.pos = p
	return d[start:p], nil
}

// float reads a number as float64, correctly rounded as Python's float().
func (s *scanner) float() (float64, error) {
	b, err := s.numberBytes()
	if err != nil {
		return 0, err
	}
	if v, ok := fastFloat(b); ok {
		return v, nil
	}
	// ParseFloat does not keep its argument, so a view of the input is safe.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		return 0, s.errorf("number %s: %v", b, err)
	}
	return v, nil
}

// int reads an integer (a number without fraction; 3.0 is accepted as 3).
func (s *scanner) int() (int64, error) {
	b, err := s.numberBytes()
	if err != nil {
		return 0, err
	}
	str := unsafe.String(unsafe.SliceData(b), len(b))
	if v, err := strconv.ParseInt(str, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, s.errorf("want an integer, got %s", b)
	}
	return int64(f), nil
}

// floats reads a list of numbers, appending to dst.
func (s *scanner) floats(dst []float64) ([]float64, error) {
	err := s.array(func(int) error {
		v, err := s.float()
		dst = append(dst, v)
		return err
	})
	return dst, err
}

// skip consumes any JSON value, checking its syntax.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		return s.array(func(int) error { return s.skip() })
	case '"':
		_, err := s.rawString()
		return err
	case 't', 'f', 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
				s.pos += len(lit)
				return nil
			}
		}
		return s.errorf("invalid literal")
	default:
		_, err := s.numberBytes()
		return err
	}
}

// end checks that only white space follows.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.errorf("unexpected %s after the top-level value", s.describe())
	}
	return nil
}

// flag reads 0/1, false/true or null.
func (s *scanner) flag() (bool, error) {
	switch s.peek() {
	case 't', 'f', 'n':
		b := s.data[s.pos] == 't'
		return b, s.skip()
	}
	v, err := s.float()
	return v != 0, err
}

// segmentation reads a COCO segmentation value.
func (s *scanner) segmentation() (Segmentation, error) {
	switch s.peek() {
	case 'n':
		s.null()
		return Segmentation{}, nil
	case '[':
		if s.lazyPolygons {
			// Keep the text; the numbers are parsed when the mask is needed.
			start := s.pos
			if s.skipNumberLists() {
				return Segmentation{Kind: SegPolygons, raw: s.data[start:s.pos:s.pos]}, nil
			}
			s.pos = start
		}
		polys, err := s.polygons()
		return Segmentation{Kind: SegPolygons, Polygons: polys}, err
	case '{':
		var seg Segmentation
		var size []float64
		err := s.object(func(key []byte) error {
			switch string(key) {
			case "size":
				var err error
				size, err = s.floats(size[:0])
				return err
			case "counts":
				if s.peek() == '"' {
					// A view of the input, which is never modified and
					// outlives the annotations: no copy of the largest
					// strings of a results file.
					b, err := s.rawString()
					seg.Kind, seg.CountsString = SegCompressedRLE, unsafe.String(unsafe.SliceData(b), len(b))
					return err
				}
				seg.Kind = SegRLE
				return s.array(func(int) error {
					v, err := s.int()
					if err == nil && (v < 0 || v > 1<<32-1) {
						err = s.errorf("RLE count %d is outside 0..2^32-1", v)
					}
					seg.Counts = append(seg.Counts, uint32(v))
					return err
				})
			}
			return s.skip()
		})
		if err != nil {
			return seg, err
		}
		if len(size) != 2 || size[0] != float64(int(size[0])) || size[1] != float64(int(size[1])) || size[0] < 0 || size[1] < 0 {
			return seg, s.errorf("RLE size is %v, want [height, width]", size)
		}
		if seg.Kind == SegNone {
			return seg, s.errorf("RLE has no counts")
		}
		seg.Size = [2]int{int(size[0]), int(size[1])}
		return seg, nil
	}
	return Segmentation{}, s.errorf("segmentation: want a list of polygons or an RLE object, got %s", s.describe())
}

// polygons reads a list of lists of numbers.
func (s *scanner) polygons() ([][]float64, error) {
	polys := [][]float64{}
	err := s.array(func(i int) error {
		p, err := s.floats(make([]float64, 0, 32))
		if err != nil {
			return fmt.Errorf("polygon %d: %w", i, err)
		}
		polys = append(polys, p)
		return nil
	})
	return polys, err
}

// skipNumberLists moves past a list of lists made of the characters numbers
// are written with, checking the brackets; it reports false, leaving the
// position undefined, at anything else. The numbers' syntax is checked when
// polygons parses them.
func (s *scanner) skipNumberLists() bool {
	depth := 0
	d := s.data
	for p := s.pos; p < len(d); p++ {
		switch numberListByte[d[p]] {
		case 0:
			return false
		case '[':
			depth++
			if depth > 2 {
				return false
			}
		case ']':
			depth--
			if depth == 0 {
				s.pos = p + 1
				return true
			}
		}
	}
	return false
}

// numberListByte maps the bytes of a list of lists of numbers to 1, the
// brackets to themselves, and every other byte to 0.
var numberListByte = func() (t [256]byte) {
	for _, c := range []byte(", \n\r\t.-+eE0123456789") {
		t[c] = 1
	}
	t['['], t[']'] = '[', ']'
	return t
}()

// unescape returns the contents of the string literal that starts at
// start and ends before s.pos, escapes undone (compressed RLE strings
// contain '\\' often). A lone or invalid surrogate becomes U+FFFD, as
// encoding/json makes it.
func (s *scanner) unescape(start int) ([]byte, error) {
	lit := s.data[start+1 : s.pos-1]
	out := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch lit[i] {
		case '"', '\\', '/':
			out = append(out, lit[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			// Go's encoder writes '<', '>' and '&' (all RLE characters) as
			// \u003c, \u003e and \u0026.
			r, n := s.hex4(lit[i+1:])
			if n == 0 {
				s.pos = start + 1 + i
				return nil, s.errorf("invalid \\u escape in string")
			}
			i += n
			if utf16.IsSurrogate(r) {
				r2, n2 := rune(-1), 0
				if i+2 < len(lit) && lit[i+1] == '\\' && lit[i+2] == 'u' {
					r2, n2 = s.hex4(lit[i+3:])
				}
				if r = utf16.DecodeRune(r, r2); r != utf8.RuneError && n2 > 0 {
					i += 2 + n2
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.pos = start + 1 + i
			return nil, s.errorf("invalid escape \\%c in string", lit[i])
		}
	}
	return out, nil
}

// hex4 reads the four hex digits of a \u escape, returning the rune and 4,
// or 0 digits read if they are not there.
func (s *scanner) hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}

// pow10 holds the powers of ten that are exact in float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat parses the common coordinates of COCO files, such as "-123.45":
// when the digits form an integer below 2^53 and there are at most 22
// decimals, mantissa / 10^decimals divides two exact doubles, which IEEE
// rounds correctly (Clinger's fast path), so the result equals ParseFloat's.
// It reports false for anything else (exponents, long mantissas).
func fastFloat(b []byte) (float64, bool) {
	i := 0
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		i++
	}
	var mant uint64
	digits, frac := 0, 0
	seenDot := false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if seenDot {
				frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 || frac > 22 {
		return 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}
