package transforms

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/densepred/dp/datasets"
)

type entry struct {
	defaults func() any                                // returns a pointer to a fresh options struct with defaults
	build    func(opt any) (datasets.Transform, error) // takes that pointer
}

// registry maps a transform name to its constructor. It is filled by init
// functions in this package and by Register, and read-only afterwards.
var registry = map[string]entry{}

// Register adds a transform type: defaults returns a pointer to its options
// struct filled with defaults, build makes the transform from such a
// pointer. It panics if name is already registered, as database/sql's
// Register does, since two packages claiming a name is a programming error.
func Register(name string, defaults func() any, build func(opt any) (datasets.Transform, error)) {
	if _, dup := registry[name]; dup {
		panic("transforms: Register called twice for " + name)
	}
	registry[name] = entry{defaults, build}
}

// register is Register for a typed options struct O.
func register[O any](name string, def func() O, build func(O) (datasets.Transform, error)) {
	Register(name, func() any { o := def(); return &o }, func(opt any) (datasets.Transform, error) {
		switch o := opt.(type) {
		case *O:
			return build(*o)
		case O:
			return build(o)
		}
		var zero O
		return nil, fmt.Errorf("transforms: %s: options are %T, want %T", name, opt, &zero)
	})
}

// Names returns the registered transform names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Options returns a pointer to a new options struct of the named transform,
// filled with its defaults, for a decoder to fill in.
func Options(name string) (any, error) {
	e, ok := registry[name]
	if !ok {
		return nil, unknown(name)
	}
	return e.defaults(), nil
}

// Build makes the named transform from opt, a pointer returned by Options
// (or an options struct value). A nil opt means the defaults.
func Build(name string, opt any) (datasets.Transform, error) {
	e, ok := registry[name]
	if !ok {
		return nil, unknown(name)
	}
	if opt == nil || (reflect.ValueOf(opt).Kind() == reflect.Pointer && reflect.ValueOf(opt).IsNil()) {
		opt = e.defaults()
	}
	return e.build(opt)
}

func unknown(name string) error {
	return fmt.Errorf("transforms: unknown transform %q; registered: %s (a custom transform must be registered with transforms.Register before the config is built)",
		name, strings.Join(Names(), ", "))
}
