package datasets

import (
	"errors"
	"fmt"
	"strings"
)

// A FormatError reports an input file that breaks its format: malformed JSON
// or XML, a polygon with an odd number of coordinates, a truncated image.
type FormatError struct {
	Pkg    string // reporting package, e.g. "coco"
	File   string // the file at fault
	Record string // the record inside File, e.g. "annotations[12] (id 345)"; empty for the whole file
	Msg    string // what is wrong, saying what was expected
	Err    error  // underlying error, if any
}

func (e *FormatError) Error() string { return formatMsg(e.Pkg, e.File, e.Record, e.Msg, e.Err) }

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// An UnsupportedError reports a valid file that uses a feature dp does not
// handle, such as a 16-bit segmentation map.
type UnsupportedError struct {
	Pkg    string // reporting package
	File   string // the file at fault
	Record string // the record inside File; empty for the whole file
	Msg    string // the feature that is not supported
	Err    error  // underlying error, if any
}

func (e *UnsupportedError) Error() string {
	return formatMsg(e.Pkg, e.File, e.Record, "unsupported: "+e.Msg, e.Err)
}

// Unwrap returns the underlying error.
func (e *UnsupportedError) Unwrap() error { return e.Err }

func formatMsg(pkg, file, record, msg string, err error) string {
	var b strings.Builder
	b.WriteString(pkg)
	b.WriteString(": ")
	if file != "" {
		b.WriteString(file)
		b.WriteString(": ")
	}
	if record != "" {
		b.WriteString(record)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	if err != nil {
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Errorf returns a FormatError from pkg about file and record with a
// formatted message.
func Errorf(pkg, file, record, format string, args ...any) *FormatError {
	return &FormatError{Pkg: pkg, File: file, Record: record, Msg: fmt.Sprintf(format, args...)}
}

// ErrSkipSample is returned by a transform that cannot produce a usable
// sample from its input, as mmdet's transforms return None (RandomCrop
// without a box left in the crop). The loader drops such samples quietly,
// whatever SkipInvalid says.
var ErrSkipSample = errors.New("datasets: sample skipped by transform")
