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
