package coco

import "fmt"

// A FormatError reports a ground-truth or results file that does not follow
// the COCO format.
type FormatError struct {
	File   string // file name as given, or "" for in-memory data
	Record string // the record, e.g. "annotations[12] (id 345)" or "result 7"; "" for the whole file
	Msg    string // what is wrong and what was expected
}

func (e *FormatError) Error() string {
	s := "coco: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Record != "" {
		s += e.Record + ": "
	}
	return s + e.Msg
}

// An UnsupportedError reports valid input this package does not evaluate,
// such as keypoint results.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "coco: unsupported: " + string(e) }

func formatErr(file, record, format string, args ...any) error {
	return &FormatError{File: file, Record: record, Msg: fmt.Sprintf(format, args...)}
}

// Panic strings, kept here so tests can match them.
const (
	errNoEvaluate   = "coco: Accumulate called before Evaluate"
	errNoAccumulate = "coco: Summarize called before Accumulate"
)
