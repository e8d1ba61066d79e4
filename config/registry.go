package config

import (
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Builder makes a component from its config node. The node is a mapping
// without its "type" key, located in the config so that errors can name the
// file and key path; a builder normally decodes it into an options struct
// with Node.Decode.
type Builder[T any] func(n Node) (T, error)

// Registry maps type names to the builders of components of type T, so a
// config's "type:" key selects the implementation.
//
// A package registers its components from init (Register panics on a name
// registered twice); a program opts in to a package's components with a
// blank import, as with database/sql drivers. Registration is expected to
// happen during initialisation, building afterwards; all methods are safe
// for concurrent use.
type Registry[T any] struct {
	name string
	// part names the slice of its kind a part registry holds ("RPN
	// heads"); "" for a whole registry. kind is shared by the parts of
	// one kind, nil for a whole registry.
	part string
	kind *kindParts

	mu      sync.RWMutex
	entries map[string]registered[T] // guarded by mu
}

// kindParts ties together the part registries of one kind (NewPartRegistry):
// they are listed as one registry and share one namespace of type names.
type kindParts struct {
	mu    sync.Mutex // serialises registration across the parts
	parts []partOf   // in creation order; appended under allRegistries' lock
}

// partOf is what a part registry tells its siblings.
type partOf interface {
	lister
	partName() string
	whereOf(name string) (string, bool)
}

func (k *kindParts) registrations() []Registration {
	allRegistries.Lock()
	parts := append([]partOf(nil), k.parts...)
	allRegistries.Unlock()
	var out []Registration
	for _, p := range parts {
		out = append(out, p.registrations()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type registered[T any] struct {
	build Builder[T]
	where string // file:line of the Register call
}

// Registration is one name of a registry and where it was registered.
type Registration struct {
	Name  string // the type name configs use
	Where string // file:line of the call that registered it
}

// RegistryInfo describes one registry for listings such as
// `dp config registries`.
type RegistryInfo struct {
	Name    string         // the registry's name, e.g. "backbones"
	Doc     string         // one-line description; "" if not declared in this package
	Linked  bool           // whether a package linked into the program created the registry
	Entries []Registration // sorted by name
}

// lister is what the table of all registries needs from a Registry[T].
type lister interface {
	registrations() []Registration
}

// allRegistries is the table of every registry created in the program,
// by name.
var allRegistries = struct {
	sync.Mutex
	byName map[string]lister // guarded by the mutex
	where  map[string]string // creation site by name; guarded by the mutex
}{byName: map[string]lister{}, where: map[string]string{}}

// NewRegistry creates the registry called name and adds it to the table
// that AllRegistries reports. Use one of the names declared in
// registries.go for dp's own kinds. It panics if a registry of that name
// already exists, naming both creators.
func NewRegistry[T any](name string) *Registry[T] {
	return newRegistry[T](name, "", caller(2))
}

// NewPartRegistry creates one part of the registry called name: a
// registry of its own Go type T that is listed by AllRegistries together
// with the other parts of name, as one registry, and shares their
// namespace of type names (registering a name in two parts panics). part
// says what this part holds ("RPN heads").
//
// Parts let one kind of component hold several Go interfaces while
// every slot stays typed: dp's heads registry has an RPN part, an RoI part
// and a segmentation part, and Build on the RPN part of a type registered
// in another part is an error naming the part it belongs to and the
// types allowed here. It panics if name is a whole registry, or if the
// kind already has a part called part.
func NewPartRegistry[T any](name, part string) *Registry[T] {
	return newRegistry[T](name, part, caller(2))
}

func newRegistry[T any](name, part, where string) *Registry[T] {
	r := &Registry[T]{name: name, part: part, entries: map[string]registered[T]{}}
	allRegistries.Lock()
	defer allRegistries.Unlock()
	if part != "" {
		if k, ok := allRegistries.byName[name].(*kindParts); ok {
			for _, p := range k.parts {
				if p.partName() == part {
					panic(fmt.Sprintf(panicDuplicatePart, name, part, allRegistries.where[name+"\x00"+part], where))
				}
			}
			r.kind = k
			k.parts = append(k.parts, r)
			allRegistries.where[name+"\x00"+part] = where
			return r
		}
	}
	if first, dup := allRegistries.where[name]; dup {
		panic(fmt.Sprintf(panicDuplicateRegistry, name, first, where))
	}
	if part != "" {
		r.kind = &kindParts{parts: []partOf{r}}
		allRegistries.byName[name] = r.kind
		allRegistries.where[name+"\x00"+part] = where
	} else {
		allRegistries.byName[name] = r
	}
	allRegistries.where[name] = where
	return r
}

func (r *Registry[T]) partName() string { return r.part }

func (r *Registry[T]) whereOf(name string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	return e.where, ok
}

// label is what the registry's names are called in messages: the part's
// description, or the registry's name.
func (r *Registry[T]) label() string {
	if r.part != "" {
		return r.part
	}
	return r.name
}

// sibling returns the description of the other part of r's kind that
// registers name, if any.
func (r *Registry[T]) sibling(name string) (string, bool) {
	p, _, ok := r.siblingWith(name)
	if !ok {
		return "", false
	}
	return p.partName(), true
}

// siblingWith returns the other part of r's kind that registers name and
// where it did, if any.
func (r *Registry[T]) siblingWith(name string) (partOf, string, bool) {
	if r.kind == nil {
		return nil, "", false
	}
	allRegistries.Lock()
	parts := append([]partOf(nil), r.kind.parts...)
	allRegistries.Unlock()
	for _, p := range parts {
		if p == partOf(r) {
			continue
		}
		if where, ok := p.whereOf(name); ok {
			return p, where, true
		}
	}
	return nil, "", false
}

// Name returns the registry's name.
func (r *Registry[T]) Name() string { return r.name }

// Register adds a builder under name. It panics if name is empty, build is
// nil, or name is already registered; the panic names both registrants'
// file:line.
func (r *Registry[T]) Register(name string, build Builder[T]) {
	r.register(name, build, caller(2))
}

// RegisterOptions registers a component whose constructor takes an options
// struct: Build decodes the config strictly into a copy of defaults (so the
// config overwrites only the keys it sets, and an unknown or mistyped key is
// an error) and passes the result to build. Each build gets its own deep
// copy of defaults (slices, maps and pointers included; unexported fields
// are copied shallowly), so a constructor may keep or change what it is
// given. It panics as Register does.
//
//	config.RegisterOptions(backbone.Registry, "ResNet", resnet.DefaultOptions(), resnet.New)
func RegisterOptions[T, O any](r *Registry[T], name string, defaults O, build func(O) (T, error)) {
	var b Builder[T]
	if build != nil {
		b = func(n Node) (T, error) {
			opts := deepCopy(defaults)
			if err := n.Decode(&opts); err != nil {
				var zero T
				return zero, err
			}
			return build(opts)
		}
	}
	r.register(name, b, caller(2))
}

func (r *Registry[T]) register(name string, build Builder[T], where string) {
	if name == "" {
		panic(fmt.Sprintf(panicEmptyName, r.name))
	}
	if build == nil {
		panic(fmt.Sprintf(panicNilBuilder, r.name, name))
	}
	if r.kind != nil {
		r.kind.mu.Lock()
		defer r.kind.mu.Unlock()
		if _, first, dup := r.siblingWith(name); dup {
			panic(fmt.Sprintf(panicDuplicateName, r.name, name, first, where))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if first, dup := r.entries[name]; dup {
		panic(fmt.Sprintf(panicDuplicateName, r.name, name, first.where, where))
	}
	r.entries[name] = registered[T]{build: build, where: where}
}

// caller returns "file:line" of the function skip frames above caller's
// caller.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown location"
	}
	return file + ":" + strconv.Itoa(line)
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries))
	for name := range r.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Has reports whether name is registered.
func (r *Registry[T]) Has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.entries[name]
	return ok
}

func (r *Registry[T]) registrations() []Registration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Registration, 0, len(r.entries))
	for name, e := range r.entries {
		out = append(out, Registration{Name: name, Where: e.where})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Build makes the component that the mapping n describes: it looks up n's
// "type" and calls that builder with the rest of the mapping. Every failure
// is an *Error located at n: n missing or not a mapping, no "type", a type
// that is not registered (the message lists close matches and says that an
// unimported package is the other likely cause), and errors from the
// builder, which are wrapped with the type unless they are already *Error.
func (r *Registry[T]) Build(n Node) (T, error) {
	return r.BuildWithDefaults(n, nil)
}

// BuildWithDefaults is Build after adding each key of defaults that n does
// not set (the config wins), as mmengine's build_from_cfg uses default_args:
// a parent passes what it knows, such as a neck's input channels.
func (r *Registry[T]) BuildWithDefaults(n Node, defaults map[string]any) (T, error) {
	var zero T
	switch n.Kind() {
	case Missing:
		return zero, n.errorf("missing: expected a mapping with a \"type\" key naming one of the %s%s", r.label(), r.registeredList())
	case Map:
	default:
		return zero, n.errorf("expected a mapping with a \"type\" key, found %s", n.describe())
	}
	n, err := n.WithDefaults(defaults)
	if err != nil {
		return zero, err
	}
	t := n.Field("type")
	switch {
	case !t.Exists():
		return zero, n.errorf("missing \"type\" key: set it to one of the %s%s", r.label(), r.registeredList())
	case t.Kind() != Scalar || t.Tag() != "!!str":
		return zero, mistyped(t, "a string naming one of the "+r.label())
	}
	name := t.v.text
	r.mu.RLock()
	e, ok := r.entries[name]
	r.mu.RUnlock()
	if !ok {
		return zero, t.errorf("%s", r.unknown(name))
	}
	c, err := e.build(n.without("type"))
	if err != nil {
		if ce, ok := err.(*Error); ok {
			return zero, ce
		}
		return zero, &Error{File: n.File(), Line: n.Line(), Path: n.path, Msg: fmt.Sprintf("building %s type %q", r.name, name), Err: err}
	}
	return c, nil
}

// registeredList returns " (A, B, C)" or ", but none is registered".
func (r *Registry[T]) registeredList() string {
	names := r.Names()
	if len(names) == 0 {
		return ", but none is registered in this program"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// CheckType reports whether the "type" of the mapping n, if it has one,
// names a type of r, with the error Build would give otherwise. It is for
// slots whose options are decoded in place (onto defaults the slot's owner
// chooses) rather than built.
func (r *Registry[T]) CheckType(n Node) error {
	t := n.Field("type")
	if !t.Exists() {
		return nil
	}
	if t.Kind() != Scalar || t.Tag() != "!!str" {
		return mistyped(t, "a string naming one of the "+r.label())
	}
	if !r.Has(t.v.text) {
		return t.errorf("%s", r.unknown(t.v.text))
	}
	return nil
}

// unknown explains an unregistered type name and how to fix it.
func (r *Registry[T]) unknown(name string) string {
	names := r.Names()
	if other, ok := r.sibling(name); ok {
		return fmt.Sprintf("%s type %q is one of the %s and cannot be used here; allowed here (%s): %s",
			r.name, name, other, r.part, strings.Join(names, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "registry %q has no type %q", r.name, name)
	if m := closeMatches(name, names); len(m) > 0 {
		if len(m) > 3 {
			m = m[:3]
		}
		q := make([]string, len(m))
		for i, s := range m {
			q[i] = strconv.Quote(s)
		}
		fmt.Fprintf(&b, " (did you mean %s?); if not a typo,", strings.Join(q, " or "))
	} else {
		b.WriteString(";")
	}
	b.WriteString(" the package that registers it may not be imported: add a blank import of it (import _ \"path/to/pkg\") to the main package")
	if len(names) == 0 {
		fmt.Fprintf(&b, "; no %s are registered in this program", r.label())
	} else {
		fmt.Fprintf(&b, "; registered %s: %s", r.label(), strings.Join(names, ", "))
	}
	return b.String()
}

// AllRegistries lists every registry: first the kinds declared in
// registries.go, in that order (Linked is false for a kind that no package
// linked into the program created), then any other registry by name.
func AllRegistries() []RegistryInfo {
	allRegistries.Lock()
	byName := make(map[string]lister, len(allRegistries.byName))
	for k, v := range allRegistries.byName {
		byName[k] = v
	}
	allRegistries.Unlock()

	var out []RegistryInfo
	seen := map[string]bool{}
	for _, d := range declared {
		info := RegistryInfo{Name: d.name, Doc: d.doc}
		if l, ok := byName[d.name]; ok {
			info.Linked = true
			info.Entries = l.registrations()
		}
		out = append(out, info)
		seen[d.name] = true
	}
	var others []string
	for name := range byName {
		if !seen[name] {
			others = append(others, name)
		}
	}
	sort.Strings(others)
	for _, name := range others {
		out = append(out, RegistryInfo{Name: name, Linked: true, Entries: byName[name].registrations()})
	}
	return out
}

// deepCopy returns a copy of v that shares no slice, map or pointer with it
// through exported fields. Nodes are immutable and are shared.
func deepCopy[O any](v O) O {
	var out O
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.ValueOf(&out).Elem()
	dst.Set(cloneValue(src))
	return out
}

func cloneValue(v reflect.Value) reflect.Value {
	t := v.Type()
	if t == nodeType {
		return v
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(cloneValue(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(cloneValue(v.Index(i)))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(t, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), cloneValue(iter.Value()))
		}
		return m
	case reflect.Array:
		a := reflect.New(t).Elem()
		for i := 0; i < v.Len(); i++ {
			a.Index(i).Set(cloneValue(v.Index(i)))
		}
		return a
	case reflect.Struct:
		s := reflect.New(t).Elem()
		s.Set(v)
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				s.Field(i).Set(cloneValue(v.Field(i)))
			}
		}
		return s
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(t).Elem()
		c.Set(cloneValue(v.Elem()))
		return c
	}
	return v
}
