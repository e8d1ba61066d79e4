package models

import (
	"fmt"
	"strings"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/nn"
)

// InitLoad is what one module's init checkpoint (a backbone's
// init.checkpoint) did to a whole model, in the model's own key names: which
// keys it set, which it left as initialised (the backbone's out-norms, the
// neck and the heads, when ImageNet weights start a detector), and which of
// its keys nothing took (a classification checkpoint's head).
type InitLoad struct {
	Path       string   // the checkpoint file
	Module     string   // key prefix of the module that loaded it ("backbone."; "" for the root)
	Loaded     []string // model keys set from the checkpoint, in state-dict order
	Missing    []string // model keys the checkpoint did not set, in state-dict order
	Unexpected []string // checkpoint keys (its own names) that no key of the module took, sorted
}

// InitLoads returns, for each module of m that loaded an init checkpoint
// when it was built (backbone.InitReporter), what that load did to m.
func InitLoads(m nn.Module) []InitLoad {
	var out []InitLoad
	keys := nn.StateKeys(m)
	nn.WalkModules(m, func(prefix string, mod nn.Module) {
		ir, ok := mod.(backbone.InitReporter)
		if !ok {
			return
		}
		path, rep := ir.InitCheckpoint()
		if path == "" {
			return
		}
		l := InitLoad{Path: path, Module: prefix, Unexpected: rep.Unexpected}
		set := make(map[string]bool, len(rep.Loaded))
		for _, k := range rep.Loaded {
			set[prefix+k] = true
			l.Loaded = append(l.Loaded, prefix+k)
		}
		for _, k := range keys {
			if !set[k] {
				l.Missing = append(l.Missing, k)
			}
		}
		out = append(out, l)
	})
	return out
}

// String summarises the load in three lines, keys grouped by module with
// their counts: the missing keys under the loading module by its direct
// children ("backbone.norm0 (2)"), the others and the unexpected keys by
// their first name ("neck (16)", "head (2)").
func (l InitLoad) String() string {
	name := strings.TrimSuffix(l.Module, ".")
	if name == "" {
		name = "the model"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "init checkpoint %s loaded into %s: %d keys set\n", l.Path, name, len(l.Loaded))
	fmt.Fprintf(&b, "  kept as initialised (%d keys): %s\n", len(l.Missing), groupKeys(l.Missing, l.Module))
	fmt.Fprintf(&b, "  unused from the checkpoint (%d keys): %s", len(l.Unexpected), groupKeys(l.Unexpected, ""))
	return b.String()
}

// groupKeys lists keys by group, in order of first appearance, with counts:
// a key under prefix groups by prefix plus its next name, any other key by
// its first name. It returns "none" for no keys.
func groupKeys(keys []string, prefix string) string {
	if len(keys) == 0 {
		return "none"
	}
	var order []string
	count := map[string]int{}
	for _, k := range keys {
		g, rest := "", k
		if prefix != "" && strings.HasPrefix(k, prefix) {
			g, rest = prefix, k[len(prefix):]
		}
		first, _, _ := strings.Cut(rest, ".")
		g += first
		if count[g] == 0 {
			order = append(order, g)
		}
		count[g]++
	}
	parts := make([]string, len(order))
	for i, g := range order {
		parts[i] = fmt.Sprintf("%s (%d)", g, count[g])
	}
	return strings.Join(parts, ", ")
}
