package config

import (
	"fmt"
	"strings"
)

// Error is a problem with a config, located by file, line and key path.
//
// Every error that Load, Parse, Node.Override, Node.Decode and Registry.Build
// return for bad input is an *Error (possibly wrapping the cause), so callers
// can read the location with errors.As.
type Error struct {
	File string // config file the offending key came from; "--cfg-options ..." for overrides
	Line int    // 1-based line in File, 0 when unknown
	Path string // dotted key path from the root, e.g. "model.backbone.depth"; "" for the whole file
	Msg  string // what is wrong and, when known, how to fix it
	Err  error  // underlying cause, if any
}

// Error formats the error as "config: FILE:LINE: PATH: MSG: CAUSE", leaving
// out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Panic messages for programmer errors. They are constants so that tests and
// callers can match them.
const (
	panicDuplicateRegistry = "config: registry %q created twice: first at %s, again at %s"
	panicDuplicateName     = "config: %s: %q registered twice: first at %s, again at %s"
	panicDuplicatePart     = "config: registry %q: part %q created twice: first at %s, again at %s"
	panicEmptyName         = "config: %s: Register with an empty name"
	panicNilBuilder        = "config: %s: Register %q with a nil builder"
	panicDecodeTarget      = "config: Decode needs a non-nil pointer, got %T"
	panicUnsupportedType   = "config: cannot decode into Go type %s"
)
