package config

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"depth", "depth", 0},
		{"dpeth", "depth", 1},  // transposition
		{"deph", "depth", 1},   // deletion
		{"deptth", "depth", 1}, // insertion
		{"dapth", "depth", 1},  // substitution
		{"ca", "abc", 3},       // optimal string alignment, not full Damerau (2)
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestCloseMatches(t *testing.T) {
	names := []string{"FPN", "FCN", "ResNet", "ResNeXt", "SNNMLP", "UPerHead"}
	tests := []struct {
		s    string
		want []string
	}{
		{"resnet", []string{"ResNet"}},            // case only: nothing else
		{"ResNxt", []string{"ResNeXt", "ResNet"}}, // ties by name
		{"SNNMPL", []string{"SNNMLP"}},
		{"FPM", []string{"FPN"}},
		{"UperHaed", []string{"UPerHead"}},
		{"Swin", nil},
	}
	for _, tt := range tests {
		if got := closeMatches(tt.s, names); !equalStrings(got, tt.want) {
			t.Errorf("closeMatches(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
