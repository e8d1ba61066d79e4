package checkpoint

import (
	"slices"
	"strings"

	"github.com/densepred/dp/tensor"
)

// ShapeMismatch is a name present on both sides of Diff with different
// shapes.
type ShapeMismatch struct {
	Name       string
	Want, Have []int
}

// Diff compares the shapes a model expects (want, by parameter name) with
// the tensors a checkpoint holds (have). It returns, each sorted by name,
// the names only in want (missing from the checkpoint), the names only in
// have (unexpected), and the names in both whose shapes differ. All three
// are empty when the checkpoint fits the model exactly; a strict load
// requires that, a non-strict one reports them, as PyTorch's
// load_state_dict does.
func Diff(want map[string][]int, have map[string]*tensor.Tensor) (missing, unexpected []string, mismatched []ShapeMismatch) {
	for name, shape := range want {
		t, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case !slices.Equal(t.Shape(), shape):
			mismatched = append(mismatched, ShapeMismatch{Name: name, Want: shape, Have: t.Shape()})
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	slices.SortFunc(mismatched, func(a, b ShapeMismatch) int { return strings.Compare(a.Name, b.Name) })
	return missing, unexpected, mismatched
}
