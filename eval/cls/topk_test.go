package cls

import (
	"slices"
	"strings"
	"testing"
)

func TestTopK(t *testing.T) {
	acc := NewTopK(1, 2, 3)
	err := acc.AddBatch([]float32{
		0.1, 0.7, 0.2, // label 1: rank 0
		0.5, 0.3, 0.2, // label 2: rank 2
		0.4, 0.4, 0.2, // label 1 ties class 0, which has the lower index: rank 1
		0.3, 0.3, 0.3, // label 0: every tie is at a higher index: rank 0
	}, []int{1, 2, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	// top-1: samples 0 and 3; top-2: 0, 2, 3; top-3: all.
	if got, want := acc.Accuracy(), []float64{0.5, 0.75, 1}; !slices.Equal(got, want) {
		t.Errorf("Accuracy = %v, want %v", got, want)
	}
	if acc.Count() != 4 {
		t.Errorf("Count = %d, want 4", acc.Count())
	}
	if err := acc.Add([]float32{1, 2}, 2); err == nil || !strings.HasPrefix(err.Error(), "cls: ") {
		t.Errorf("out-of-range label: error %v", err)
	}
	if err := acc.AddBatch([]float32{1, 2, 3}, []int{0, 1}); err == nil {
		t.Errorf("ragged batch: no error")
	}
	if got := NewTopK(1).Accuracy(); got[0] != 0 {
		t.Errorf("empty accuracy = %v, want 0", got)
	}
}
