package transforms

import (
	"errors"
	"fmt"
	"os"

	"github.com/densepred/dp/datasets"
)

// errorf returns an error prefixed with the package name.
func errorf(format string, args ...any) error {
	return fmt.Errorf("transforms: "+format, args...)
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &datasets.FormatError{Pkg: "datasets", File: path, Msg: "cannot read image", Err: err}
	}
	return data, nil
}

// needPixels reports an error when a geometric transform runs after
// Normalize (the 8-bit image is gone) or before LoadImage.
func needPixels(s *datasets.Sample, name string) error {
	if s.Image == nil {
		return errorf("%s: record %d (%s) has no 8-bit image; put it after LoadImage and before Normalize", name, s.Meta.Index, s.Meta.File)
	}
	return nil
}
