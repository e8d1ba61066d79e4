package datasets

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

type datasetEntry struct {
	defaults func() any                     // pointer to a fresh options struct with defaults
	open     func(opt any) (Dataset, error) // takes that pointer
}

// datasetRegistry maps a dataset type name (mmdet/mmseg's, such as
// "CocoDataset") to its reader. Reader packages fill it from init; it is
// read-only afterwards.
var datasetRegistry = map[string]datasetEntry{}

// RegisterDataset adds a dataset type: defaults returns a pointer to its
// options struct filled with defaults, open opens a dataset from such a
// pointer. It panics if name is already registered.
func RegisterDataset(name string, defaults func() any, open func(opt any) (Dataset, error)) {
	if _, dup := datasetRegistry[name]; dup {
		panic("datasets: RegisterDataset called twice for " + name)
	}
	datasetRegistry[name] = datasetEntry{defaults, open}
}

// RegisterDatasetType is RegisterDataset for a typed options struct O.
func RegisterDatasetType[O any, D Dataset](name string, def func() O, open func(O) (D, error)) {
	RegisterDataset(name, func() any { o := def(); return &o }, func(opt any) (Dataset, error) {
		var o O
		switch v := opt.(type) {
		case *O:
			o = *v
		case O:
			o = v
		default:
			return nil, fmt.Errorf("datasets: %s: options are %T, want %T", name, opt, &o)
		}
		d, err := open(o)
		if err != nil {
			return nil, err
		}
		return d, nil
	})
}

// DatasetNames returns the registered dataset types, sorted.
func DatasetNames() []string {
	names := make([]string, 0, len(datasetRegistry))
	for n := range datasetRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DatasetOptions returns a pointer to a new options struct of the named
// dataset type, filled with its defaults, for a config decoder to fill in.
func DatasetOptions(name string) (any, error) {
	e, ok := datasetRegistry[name]
	if !ok {
		return nil, unknownDataset(name)
	}
	return e.defaults(), nil
}

// OpenDataset opens the named dataset type with opt, a pointer returned by
// DatasetOptions (nil means the defaults).
func OpenDataset(name string, opt any) (Dataset, error) {
	e, ok := datasetRegistry[name]
	if !ok {
		return nil, unknownDataset(name)
	}
	if opt == nil || (reflect.ValueOf(opt).Kind() == reflect.Pointer && reflect.ValueOf(opt).IsNil()) {
		opt = e.defaults()
	}
	return e.open(opt)
}

func unknownDataset(name string) error {
	return fmt.Errorf("datasets: unknown dataset type %q; registered: %s (a reader package registers its types when imported)",
		name, strings.Join(DatasetNames(), ", "))
}
