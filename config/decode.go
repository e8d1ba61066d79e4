package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Unmarshaler is implemented by option types that read themselves from a
// config node, for values whose YAML shape varies (an int or a list of
// ints). Decode calls UnmarshalConfig on a pointer to the field when the key
// is present; an error that is not an *Error is located at the node.
type Unmarshaler interface {
	UnmarshalConfig(n Node) error
}

var (
	nodeType        = reflect.TypeFor[Node]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
)

// Decode fills the Go value that out points to from the node, strictly.
//
// Struct fields are matched by their yaml tag (`yaml:"out_indices"`), or by
// the lower-cased field name when untagged; `yaml:"-"` skips a field and
// `yaml:",inline"` on an embedded struct merges its keys into the parent's.
// Only keys present in the config are written, so defaults are set by
// filling out before calling Decode. A key with no field, or a value whose
// shape or type does not fit the field, is an *Error naming the file, line,
// key path and what was expected; for an unknown key it lists the allowed
// keys and the closest one. On error out is left unchanged.
//
// Supported field types: bool, all int, uint and float kinds (a float field
// accepts integers), string (which must be a YAML string: quote 123 to use it
// as one), pointers (null sets nil), slices and arrays (from lists; arrays
// need the exact length), maps with string keys, structs, any (decoded to
// map[string]any, []any and scalars), Node (the raw subtree, for
// components built later) and types implementing Unmarshaler. A slice or map
// in the config replaces the default whole. Decode of a Missing node does
// nothing. It panics if out is not a non-nil pointer or the target holds a
// type it cannot decode into.
func (n Node) Decode(out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf(panicDecodeTarget, out))
	}
	tmp := reflect.New(rv.Elem().Type()).Elem()
	tmp.Set(rv.Elem())
	if err := decode(n, tmp); err != nil {
		return err
	}
	rv.Elem().Set(tmp)
	return nil
}

// decode fills rv from n. It never writes through pointers, slices or maps
// already held by rv, so the caller's defaults are never changed.
func decode(n Node, rv reflect.Value) error {
	t := rv.Type()
	if t == nodeType {
		rv.Set(reflect.ValueOf(n))
		return nil
	}
	if n.v == nil {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		p := reflect.New(t)
		p.Elem().Set(rv)
		if err := p.Interface().(Unmarshaler).UnmarshalConfig(n); err != nil {
			if e, ok := err.(*Error); ok {
				return e
			}
			return &Error{File: n.File(), Line: n.Line(), Path: n.path, Err: err}
		}
		rv.Set(p.Elem())
		return nil
	}
	v := n.v
	switch t.Kind() {
	case reflect.Pointer:
		if v.kind == Null {
			rv.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if !rv.IsNil() {
			p.Elem().Set(rv.Elem())
		}
		if err := decode(n, p.Elem()); err != nil {
			return err
		}
		rv.Set(p)
		return nil
	case reflect.Interface:
		if t.NumMethod() != 0 {
			panic(fmt.Sprintf(panicUnsupportedType, t))
		}
		g, err := generic(n)
		if err != nil {
			return err
		}
		if g == nil {
			rv.SetZero()
		} else {
			rv.Set(reflect.ValueOf(g))
		}
		return nil
	case reflect.Struct:
		return decodeStruct(n, rv)
	case reflect.Slice:
		if v.kind == Null {
			rv.SetZero()
			return nil
		}
		if v.kind != List {
			return mistyped(n, "a list")
		}
		s := reflect.MakeSlice(t, len(v.items), len(v.items))
		for i := range v.items {
			if err := decode(n.Index(i), s.Index(i)); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.Array:
		want := "a list of " + plural(t.Len(), "item")
		if v.kind != List || len(v.items) != t.Len() {
			return mistyped(n, want)
		}
		a := reflect.New(t).Elem()
		for i := range v.items {
			if err := decode(n.Index(i), a.Index(i)); err != nil {
				return err
			}
		}
		rv.Set(a)
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf(panicUnsupportedType, t))
		}
		if v.kind == Null {
			rv.SetZero()
			return nil
		}
		if v.kind != Map {
			return mistyped(n, "a mapping")
		}
		m := reflect.MakeMapWithSize(t, len(v.entries))
		for _, e := range v.entries {
			ev := reflect.New(t.Elem()).Elem()
			if err := decode(n.Field(e.key), ev); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), ev)
		}
		rv.Set(m)
		return nil
	case reflect.Bool:
		var b bool
		if v.kind != Scalar || v.tag != "!!bool" || scalarDecode(v, &b) != nil {
			return mistyped(n, "a boolean")
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if v.kind != Scalar || v.tag != "!!int" || scalarDecode(v, &i) != nil {
			return mistyped(n, "an integer")
		}
		if rv.OverflowInt(i) {
			return mistyped(n, "an integer that fits in "+t.Kind().String())
		}
		rv.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		if v.kind != Scalar || v.tag != "!!int" || scalarDecode(v, &u) != nil {
			return mistyped(n, "a non-negative integer")
		}
		if rv.OverflowUint(u) {
			return mistyped(n, "a non-negative integer that fits in "+t.Kind().String())
		}
		rv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		if v.kind != Scalar || (v.tag != "!!int" && v.tag != "!!float") || scalarDecode(v, &f) != nil {
			return mistyped(n, "a number")
		}
		if rv.OverflowFloat(f) {
			return mistyped(n, "a number that fits in "+t.Kind().String())
		}
		rv.SetFloat(f)
		return nil
	case reflect.String:
		if v.kind != Scalar || v.tag != "!!str" {
			if v.kind == Scalar {
				return n.errorf("expected a string, found %s (quote it to make it a string)", v.describe())
			}
			return mistyped(n, "a string")
		}
		rv.SetString(v.text)
		return nil
	}
	panic(fmt.Sprintf(panicUnsupportedType, t))
}

func mistyped(n Node, want string) error {
	return n.errorf("expected %s, found %s", want, n.describe())
}

func scalarDecode(v *value, out any) error {
	return (&yaml.Node{Kind: yaml.ScalarNode, Tag: v.tag, Value: v.text}).Decode(out)
}

// field is one config key of a struct type.
type field struct {
	name  string
	index []int // for reflect.Value.FieldByIndex
}

// fieldsOf lists the config keys of struct type t, following inline
// embedded structs. It panics on a key declared twice.
func fieldsOf(t reflect.Type) []field {
	var out []field
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			index := append(prefix[:len(prefix):len(prefix)], i)
			if strings.Contains(opts, "inline") {
				if sf.Type.Kind() != reflect.Struct {
					panic(fmt.Sprintf(panicUnsupportedType, sf.Type) + " inline")
				}
				walk(sf.Type, index)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			for _, f := range out {
				if f.name == name {
					panic(fmt.Sprintf("config: struct %s declares key %q twice", t, name))
				}
			}
			out = append(out, field{name: name, index: index})
		}
	}
	walk(t, nil)
	return out
}

func decodeStruct(n Node, rv reflect.Value) error {
	v := n.v
	if v.kind != Map {
		return mistyped(n, "a mapping")
	}
	fields := fieldsOf(rv.Type())
	for _, e := range v.entries {
		var f *field
		for i := range fields {
			if fields[i].name == e.key {
				f = &fields[i]
				break
			}
		}
		if f == nil {
			return unknownKey(n, e, fields)
		}
		if err := decode(n.Field(e.key), rv.FieldByIndex(f.index)); err != nil {
			return err
		}
	}
	return nil
}

// unknownKey reports a key that the options struct does not have.
func unknownKey(n Node, e entry, fields []field) error {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "unknown key %q", e.key)
	if best := closest(e.key, names); best != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", best)
	}
	if r := e.retyped; r != nil {
		fmt.Fprintf(&b, "; it was inherited from %s, where type is %s, and %s changes type to %s: add \"_delete_: true\" beside the new type to drop the inherited keys",
			r.fromFile, r.fromType, r.toFile, r.toType)
	}
	if len(names) == 0 {
		b.WriteString("; no keys are allowed here")
	} else {
		b.WriteString("; allowed keys: " + strings.Join(names, ", "))
	}
	return &Error{File: e.file, Line: e.line, Path: joinPath(n.path, e.key), Msg: b.String()}
}

// generic converts a node to plain Go values: map[string]any, []any, nil,
// and for scalars what yaml.v3 decodes them to (int, float64, bool, string).
func generic(n Node) (any, error) {
	v := n.v
	switch v.kind {
	case Null:
		return nil, nil
	case Scalar:
		var x any
		if err := scalarDecode(v, &x); err != nil {
			return nil, &Error{File: n.File(), Line: n.Line(), Path: n.path, Err: err}
		}
		return x, nil
	case List:
		out := make([]any, len(v.items))
		for i := range v.items {
			x, err := generic(n.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	out := make(map[string]any, len(v.entries))
	for _, e := range v.entries {
		x, err := generic(n.Field(e.key))
		if err != nil {
			return nil, err
		}
		out[e.key] = x
	}
	return out, nil
}
