package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reserved keys.
const (
	baseKey   = "_base_"   // top level: file or list of files to inherit from
	deleteKey = "_delete_" // in a mapping: true replaces the inherited mapping
)

// Load reads the config file at path, merges its _base_ files (recursively,
// paths relative to the including file) and then applies cfgOptions, each
// "a.b.c=value" as given to --cfg-options (see Node.Override).
//
// Bases are merged in the order listed and must not define the same
// top-level key; the file's own keys then merge into them: mappings
// recursively with the file winning, other values replaced whole, and a
// mapping with "_delete_: true" replacing the inherited one. No "_base_" or
// "_delete_" key is left in the result. Errors are *Error values naming the
// file and line.
func Load(path string, cfgOptions ...string) (Node, error) {
	v, err := loadFile(path, nil)
	if err != nil {
		return Node{}, err
	}
	return Node{v: v}.Override(cfgOptions...)
}

// Parse is Load for a config held in memory: data is the YAML text of a
// config named file. Its _base_ files, if any, are read from disk relative
// to file's directory.
func Parse(file string, data []byte) (Node, error) {
	v, err := parseFile(file, data, nil)
	if err != nil {
		return Node{}, err
	}
	return Node{v: v}, nil
}

// WorkDirFor returns the default work directory of a config,
// work_dirs/<file name without extension>, as mmdet's tools/train.py derives
// it when neither --work-dir nor the config sets one.
func WorkDirFor(configPath string) string {
	base := filepath.Base(configPath)
	return filepath.Join("work_dirs", strings.TrimSuffix(base, filepath.Ext(base)))
}

// loadFile reads and merges one config file. stack holds the files that
// include it, outermost first, to detect cycles.
func loadFile(path string, stack []string) (*value, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Err: err}
	}
	return parseFile(path, data, stack)
}

func parseFile(file string, data []byte, stack []string) (*value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Err: err}
	}
	root := &value{kind: Map, file: file, line: 1}
	if doc.Kind != 0 {
		v, err := fromYAML(&doc, file, "")
		if err != nil {
			return nil, err
		}
		switch v.kind {
		case Map:
			root = v
		case Null:
		default:
			return nil, &Error{File: file, Line: v.line, Msg: "expected a mapping at the top level, found " + v.describe()}
		}
	}

	i := root.lookup(baseKey)
	if i < 0 {
		return clean(root, "")
	}
	baseEntry := root.entries[i]
	child := *root
	child.entries = append(append([]entry(nil), root.entries[:i]...), root.entries[i+1:]...)

	var names []string
	switch bv := baseEntry.val; bv.kind {
	case Scalar:
		names = []string{bv.text}
	case List:
		for _, it := range bv.items {
			if it.kind != Scalar {
				return nil, &Error{File: file, Line: it.line, Path: baseKey, Msg: "expected a file name, found " + it.describe()}
			}
			names = append(names, it.text)
		}
	default:
		return nil, &Error{File: file, Line: baseEntry.line, Path: baseKey, Msg: "expected a file name or a list of file names, found " + bv.describe()}
	}

	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	stack = append(stack[:len(stack):len(stack)], abs)
	bases := &value{kind: Map, file: file, line: baseEntry.line}
	from := map[string]string{} // top-level key -> base file that defined it
	for _, name := range names {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), name)
		}
		if cycle := findCycle(stack, path); cycle != "" {
			return nil, &Error{File: file, Line: baseEntry.line, Path: baseKey, Msg: "inheritance cycle: " + cycle}
		}
		b, err := loadFile(path, stack)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.File == "" {
				// The base could not be read: say which file asked for it.
				e.File, e.Line, e.Path = file, baseEntry.line, baseKey
			}
			return nil, err
		}
		for _, be := range b.entries {
			if first, dup := from[be.key]; dup {
				return nil, &Error{File: file, Line: baseEntry.line, Path: baseKey,
					Msg: fmt.Sprintf("key %q is defined by both %s and %s; a key may come from one base only", be.key, first, path)}
			}
			from[be.key] = path
			bases.entries = append(bases.entries, be)
		}
	}
	return merge(bases, &child, "", baseEntry.line)
}

// findCycle returns "a.yaml -> b.yaml -> a.yaml" if path is already on the
// include stack, else "".
func findCycle(stack []string, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for i, s := range stack {
		if s == abs {
			var names []string
			for _, t := range stack[i:] {
				names = append(names, relName(t))
			}
			return strings.Join(append(names, relName(abs)), " -> ")
		}
	}
	return ""
}

// relName shortens an absolute path to one relative to the working
// directory when that is possible.
func relName(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return abs
}

// merge merges the mapping child into base (which may be nil) and returns a
// new value; neither input is changed. keyLine is the line of the key that
// holds child, for errors.
func merge(base, child *value, path string, keyLine int) (*value, error) {
	del, err := deleteFlag(child, path)
	if err != nil {
		return nil, err
	}
	if base == nil || base.kind == Null || del {
		return clean(child, path)
	}
	if base.kind != Map {
		return nil, &Error{File: child.file, Line: keyLine, Path: path,
			Msg: fmt.Sprintf("a mapping here cannot merge into %s inherited from %s; add \"_delete_: true\" to replace it", base.describe(), base.file)}
	}

	out := &value{kind: Map, file: child.file, line: child.line, entries: append([]entry(nil), base.entries...)}
	restated := map[string]bool{}
	for _, ce := range child.entries {
		if ce.key == deleteKey {
			continue
		}
		restated[ce.key] = true
		i := out.lookup(ce.key)
		var nv *value
		if ce.val.kind == Map && i >= 0 {
			nv, err = merge(out.entries[i].val, ce.val, joinPath(path, ce.key), ce.line)
		} else {
			nv, err = clean(ce.val, joinPath(path, ce.key))
		}
		if err != nil {
			return nil, err
		}
		ne := entry{key: ce.key, file: ce.file, line: ce.line, val: nv}
		if i >= 0 {
			out.entries[i] = ne
		} else {
			out.entries = append(out.entries, ne)
		}
	}

	// A changed "type" keeps the keys the child did not restate; mark them
	// so that a key the new type does not know suggests "_delete_".
	baseType, childType := stringField(base, "type"), stringField(child, "type")
	if baseType != "" && childType != "" && baseType != childType {
		toFile := child.entries[child.lookup("type")].file
		for i, e := range out.entries {
			if !restated[e.key] {
				out.entries[i].retyped = &retype{fromType: baseType, fromFile: e.file, toType: childType, toFile: toFile}
			}
		}
	}
	return out, nil
}

// stringField returns the text of a mapping's string scalar key, or "".
func stringField(v *value, key string) string {
	if v == nil || v.kind != Map {
		return ""
	}
	i := v.lookup(key)
	if i < 0 || v.entries[i].val.kind != Scalar {
		return ""
	}
	return v.entries[i].val.text
}

// deleteFlag reads a mapping's "_delete_" key.
func deleteFlag(v *value, path string) (bool, error) {
	i := v.lookup(deleteKey)
	if i < 0 {
		return false, nil
	}
	e := v.entries[i]
	if e.val.kind != Scalar || e.val.tag != "!!bool" {
		return false, &Error{File: e.file, Line: e.line, Path: joinPath(path, deleteKey), Msg: "expected true or false, found " + e.val.describe()}
	}
	var b bool
	if err := (&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: e.val.text}).Decode(&b); err != nil {
		return false, &Error{File: e.file, Line: e.line, Path: joinPath(path, deleteKey), Err: err}
	}
	return b, nil
}

// clean returns v with every "_delete_" key removed, checking that each is a
// boolean. Subtrees without one are shared, not copied.
func clean(v *value, path string) (*value, error) {
	switch v.kind {
	case Map:
		if _, err := deleteFlag(v, path); err != nil {
			return nil, err
		}
		out := *v
		out.entries = make([]entry, 0, len(v.entries))
		for _, e := range v.entries {
			if e.key == deleteKey {
				continue
			}
			c, err := clean(e.val, joinPath(path, e.key))
			if err != nil {
				return nil, err
			}
			e.val = c
			out.entries = append(out.entries, e)
		}
		return &out, nil
	case List:
		out := *v
		out.items = make([]*value, len(v.items))
		for i, it := range v.items {
			c, err := clean(it, joinPath(path, fmt.Sprint(i)))
			if err != nil {
				return nil, err
			}
			out.items[i] = c
		}
		return &out, nil
	}
	return v, nil
}

// fromYAML converts a parsed yaml.v3 node into a value, resolving aliases
// and merge keys ("<<") and rejecting duplicate keys.
func fromYAML(y *yaml.Node, file, path string) (*value, error) {
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &value{kind: Null, file: file, line: y.Line}, nil
		}
		return fromYAML(y.Content[0], file, path)
	case yaml.AliasNode:
		return fromYAML(y.Alias, file, path)
	case yaml.ScalarNode:
		tag := y.ShortTag()
		if tag == "!!null" {
			return &value{kind: Null, file: file, line: y.Line}, nil
		}
		return &value{kind: Scalar, tag: tag, text: y.Value, file: file, line: y.Line}, nil
	case yaml.SequenceNode:
		v := &value{kind: List, file: file, line: y.Line}
		for i, c := range y.Content {
			it, err := fromYAML(c, file, joinPath(path, fmt.Sprint(i)))
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, it)
		}
		return v, nil
	case yaml.MappingNode:
		return mappingFromYAML(y, file, path)
	}
	return nil, &Error{File: file, Line: y.Line, Path: path, Msg: "unsupported YAML node"}
}

func mappingFromYAML(y *yaml.Node, file, path string) (*value, error) {
	v := &value{kind: Map, file: file, line: y.Line}
	var merges []*yaml.Node
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, val := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &Error{File: file, Line: k.Line, Path: path, Msg: "mapping keys must be scalars"}
		}
		if j := v.lookup(k.Value); j >= 0 {
			return nil, &Error{File: file, Line: k.Line, Path: joinPath(path, k.Value),
				Msg: fmt.Sprintf("key %q is defined twice in one mapping (first at line %d)", k.Value, v.entries[j].line)}
		}
		cv, err := fromYAML(val, file, joinPath(path, k.Value))
		if err != nil {
			return nil, err
		}
		v.entries = append(v.entries, entry{key: k.Value, file: file, line: k.Line, val: cv})
	}
	// YAML merge keys: keys written out in the mapping win over merged ones,
	// and earlier merged mappings win over later ones.
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			mv, err := fromYAML(s, file, path)
			if err != nil {
				return nil, err
			}
			if mv.kind != Map {
				return nil, &Error{File: file, Line: s.Line, Path: path, Msg: "a merge key (<<) needs a mapping, found " + mv.describe()}
			}
			for _, e := range mv.entries {
				if v.lookup(e.key) < 0 {
					v.entries = append(v.entries, e)
				}
			}
		}
	}
	return v, nil
}
