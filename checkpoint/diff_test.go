package checkpoint

import (
	"reflect"
	"testing"

	"github.com/densepred/dp/tensor"
)

func TestDiff(t *testing.T) {
	have := map[string]*tensor.Tensor{
		"conv.weight": tensor.New(4, 3, 3, 3),
		"conv.bias":   tensor.New(4),
		"fc.weight":   tensor.New(10, 4),
		"head.bias":   tensor.New(2),
	}
	cases := []struct {
		name       string
		want       map[string][]int
		missing    []string
		unexpected []string
		mismatched []ShapeMismatch
	}{
		{
			name: "exact",
			want: map[string][]int{"conv.weight": {4, 3, 3, 3}, "conv.bias": {4}, "fc.weight": {10, 4}, "head.bias": {2}},
		},
		{
			name: "all kinds",
			want: map[string][]int{
				"conv.weight": {4, 3, 3, 3}, "conv.bias": {8}, "fc.weight": {4, 10},
				"bn.running_mean": {4}, "bn.weight": {4},
			},
			missing:    []string{"bn.running_mean", "bn.weight"},
			unexpected: []string{"head.bias"},
			mismatched: []ShapeMismatch{
				{Name: "conv.bias", Want: []int{8}, Have: []int{4}},
				{Name: "fc.weight", Want: []int{4, 10}, Have: []int{10, 4}},
			},
		},
		{
			name:       "empty model",
			want:       map[string][]int{},
			unexpected: []string{"conv.bias", "conv.weight", "fc.weight", "head.bias"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			missing, unexpected, mismatched := Diff(c.want, have)
			if !reflect.DeepEqual(missing, c.missing) {
				t.Errorf("missing = %v, want %v", missing, c.missing)
			}
			if !reflect.DeepEqual(unexpected, c.unexpected) {
				t.Errorf("unexpected = %v, want %v", unexpected, c.unexpected)
			}
			if !reflect.DeepEqual(mismatched, c.mismatched) {
				t.Errorf("mismatched = %v, want %v", mismatched, c.mismatched)
			}
		})
	}
}
