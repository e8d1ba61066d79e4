package config

import (
	"sort"
	"strings"
)

// closeMatches returns the names within a small edit distance of s, closest
// first (ties by name); when one differs from s only in case, just those.
// Case is ignored and swapping two neighbouring
// letters counts as one edit, so "resnet" finds "ResNet" and "SNNMPL" finds
// "SNNMLP".
func closeMatches(s string, names []string) []string {
	limit := max(1, len(s)/3)
	type match struct {
		name string
		d    int
	}
	var ms []match
	for _, name := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(name)); d <= limit {
			ms = append(ms, match{name, d})
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].d != ms[j].d {
			return ms[i].d < ms[j].d
		}
		return ms[i].name < ms[j].name
	})
	var out []string
	for _, m := range ms {
		if len(ms) > 0 && ms[0].d == 0 && m.d > 0 {
			break // a name differing only in case is the answer
		}
		out = append(out, m.name)
	}
	return out
}

// closest returns the closest of names to s, or "" if none is close.
func closest(s string, names []string) string {
	if m := closeMatches(s, names); len(m) > 0 {
		return m[0]
	}
	return ""
}

// editDistance returns the optimal-string-alignment distance between a and
// b: the fewest insertions, deletions, substitutions and transpositions of
// adjacent bytes that turn a into b, no substring edited twice.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows suffice.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
