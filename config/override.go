package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// optionsFile is the file recorded for values set by --cfg-options.
const optionsFile = "--cfg-options"

// Override returns a copy of the config with options applied in order, each
// "key.path=value" as given to --cfg-options; n is not changed.
//
// The key path is dotted; a segment that meets a list is an index into it
// (train_dataloader.dataset.pipeline.0.scale=[1333,800]), and keys missing
// from a mapping (or under a null) are created. The value is parsed as YAML,
// so it is typed: 3 is an integer, 1e-4 a float, true a boolean, null a
// null, [1,2] a list and {a: 1} a mapping; an empty value (k=) is null;
// quote a value to keep it a string (k='"3"'). A value replaces what was
// there, mappings included. Setting a mapping's "type" to a new name keeps
// its other keys, as in a file, and a key the new type does not accept then
// suggests "_delete_".
func (n Node) Override(options ...string) (Node, error) {
	root := n.v
	if root == nil {
		root = &value{kind: Map, file: optionsFile}
	}
	for _, opt := range options {
		src := optionsFile + " " + opt
		key, text, ok := strings.Cut(opt, "=")
		if !ok || key == "" {
			return n, &Error{File: src, Msg: "expected KEY=VALUE, e.g. optim_wrapper.optimizer.lr=0.01"}
		}
		segs := strings.Split(key, ".")
		for _, s := range segs {
			if s == "" {
				return n, &Error{File: src, Path: key, Msg: "empty segment in key path"}
			}
		}
		val, err := optionValue(text, src, key)
		if err != nil {
			return n, err
		}
		root, err = set(root, segs, 0, val, optionsFile, src)
		if err != nil {
			return n, err
		}
	}
	n.v = root
	return n, nil
}

// programFile is the file recorded for values set with Node.Set.
const programFile = "(set by the program)"

// Set returns a copy of the config with the value at a dotted path (as in
// Override: list indices allowed, missing mapping keys created) replaced by
// the Go value v, encoded as YAML encodes it; n is not changed. Programs use
// it to record what came from flags rather than files, such as work_dir.
func (n Node) Set(path string, v any) (Node, error) {
	var y yaml.Node
	if err := y.Encode(v); err != nil {
		return n, &Error{File: programFile, Path: path, Msg: "cannot encode the value", Err: err}
	}
	val, err := fromYAML(&y, programFile, path)
	if err != nil {
		return n, err
	}
	setLines(val, 0)
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return n, &Error{File: programFile, Path: path, Msg: "empty segment in key path"}
		}
	}
	root := n.v
	if root == nil {
		root = &value{kind: Map, file: programFile}
	}
	root, err = set(root, segs, 0, val, programFile, programFile)
	if err != nil {
		return n, err
	}
	n.v = root
	return n, nil
}

// optionValue parses the value of one --cfg-options entry.
func optionValue(text, src, key string) (*value, error) {
	var y yaml.Node
	if err := yaml.Unmarshal([]byte(text), &y); err != nil {
		return nil, &Error{File: src, Path: key, Msg: "value is not valid YAML (quote it to pass a string)", Err: err}
	}
	if y.Kind == 0 || len(y.Content) == 0 {
		return &value{kind: Null, file: optionsFile}, nil
	}
	if c := y.Content[0]; (c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode) && c.Style&yaml.FlowStyle == 0 {
		return nil, &Error{File: src, Path: key, Msg: "value must be a scalar, [a,b] or {k: v}; quote it to pass a string"}
	}
	v, err := fromYAML(&y, optionsFile, key)
	if err != nil {
		return nil, err
	}
	setLines(v, 0)
	return v, nil
}

// set returns a copy of cur with the value at segs[i:] replaced by val,
// copying only the mappings and lists along the path. cur may be nil. Keys
// it sets record file; errors are located at src.
func set(cur *value, segs []string, i int, val *value, file, src string) (*value, error) {
	if i == len(segs) {
		return val, nil
	}
	seg := segs[i]
	last := i == len(segs)-1
	if cur == nil || cur.kind == Null {
		cur = &value{kind: Map, file: file}
	}
	switch cur.kind {
	case Map:
		out := *cur
		out.entries = append([]entry(nil), cur.entries...)
		j := out.lookup(seg)
		var child *value
		if j >= 0 {
			child = out.entries[j].val
		}
		nv, err := set(child, segs, i+1, val, file, src)
		if err != nil {
			return nil, err
		}
		switch {
		case j < 0:
			out.entries = append(out.entries, entry{key: seg, file: file, val: nv})
		case last:
			out.entries[j] = entry{key: seg, file: file, val: nv}
		default:
			out.entries[j].val = nv
		}
		if last && seg == "type" {
			markRetyped(&out, cur, stringField(&out, "type"), file)
		}
		return &out, nil
	case List:
		idx, err := strconv.Atoi(seg)
		if err != nil {
			return nil, &Error{File: src, Path: strings.Join(segs[:i+1], "."),
				Msg: fmt.Sprintf("%s is %s: the next segment must be an index, found %q", pathOrRoot(segs[:i]), cur.describe(), seg)}
		}
		if idx < 0 || idx >= len(cur.items) {
			return nil, &Error{File: src, Path: strings.Join(segs[:i+1], "."),
				Msg: fmt.Sprintf("index %d is out of range for %s", idx, cur.describe())}
		}
		out := *cur
		out.items = append([]*value(nil), cur.items...)
		nv, err := set(cur.items[idx], segs, i+1, val, file, src)
		if err != nil {
			return nil, err
		}
		out.items[idx] = nv
		return &out, nil
	}
	return nil, &Error{File: src, Path: strings.Join(segs[:i+1], "."),
		Msg: fmt.Sprintf("cannot set %q inside %s, which is %s", seg, pathOrRoot(segs[:i]), cur.describe())}
}

// markRetyped marks the keys of out (other than "type") as inherited across
// a type change when the new type differs from old's.
func markRetyped(out, old *value, newType, file string) {
	oldType := stringField(old, "type")
	if oldType == "" || newType == "" || oldType == newType {
		return
	}
	for i, e := range out.entries {
		if e.key != "type" && e.retyped == nil {
			out.entries[i].retyped = &retype{fromType: oldType, fromFile: e.file, toType: newType, toFile: file}
		}
	}
}

func pathOrRoot(segs []string) string {
	if len(segs) == 0 {
		return "the root"
	}
	return strings.Join(segs, ".")
}
