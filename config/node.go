package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kind is the shape of a config value.
type Kind int

// The kinds of config values.
const (
	Missing Kind = iota // the key is not in the config
	Null                // an explicit null ("key:", "key: null", "key: ~")
	Scalar              // a string, number or boolean
	Map                 // a mapping, keys in the order written
	List                // a sequence
)

// String returns the kind's name as errors print it.
func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Null:
		return "null"
	case Scalar:
		return "scalar"
	case Map:
		return "mapping"
	case List:
		return "list"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// value is one node of a loaded config tree.
//
// Values are never changed once built: merging and overriding make new values
// along the changed path and share the rest, so a base file's tree is never
// mutated by a child that inherits from it.
type value struct {
	kind    Kind     // Null, Scalar, Map or List; never Missing
	tag     string   // Scalar only: the resolved YAML short tag (!!str, !!int, !!float, !!bool, ...)
	text    string   // Scalar only: the scalar as written, without quotes
	entries []entry  // Map only: in order, keys unique
	items   []*value // List only
	file    string   // file the value was read from
	line    int      // 1-based line of the value in file, 0 if unknown
}

// entry is one key of a mapping.
type entry struct {
	key  string
	file string // file that set the key
	line int    // line of the key in file
	val  *value // never nil
	// retyped is set when the key was inherited into a mapping whose "type"
	// a child changed without "_delete_: true"; decoding errors then suggest
	// "_delete_". Nil otherwise.
	retyped *retype
}

// retype records a change of a mapping's "type" by an inheriting file.
type retype struct {
	fromType, fromFile string // the base's type and the file the key came from
	toType, toFile     string // the new type and the file that changed it
}

// lookup returns the index of key in a mapping's entries, or -1.
func (v *value) lookup(key string) int {
	for i := range v.entries {
		if v.entries[i].key == key {
			return i
		}
	}
	return -1
}

// describe says what a value is, for "found ..." in error messages.
func (v *value) describe() string {
	if v == nil {
		return "nothing"
	}
	switch v.kind {
	case Null:
		return "null"
	case Map:
		return "a mapping"
	case List:
		return "a list of " + plural(len(v.items), "item")
	}
	switch v.tag {
	case "!!int":
		return "integer " + v.text
	case "!!float":
		return "float " + v.text
	case "!!bool":
		return "boolean " + v.text
	case "!!str":
		return "string " + strconv.Quote(v.text)
	}
	return strings.TrimPrefix(v.tag, "!!") + " " + strconv.Quote(v.text)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// Node is a read-only view of one value of a loaded config, together with its
// key path from the root. The zero Node is Missing.
//
// Nodes are cheap values: navigating copies no data. A Node for a key that
// is not in the config has Kind Missing but still knows its path and the file
// of its nearest present ancestor, so errors about it can say where it was
// expected. Nodes are safe for concurrent use.
type Node struct {
	v    *value
	path string
	// file and line locate the nearest present ancestor when v is nil.
	file string
	line int
}

// Kind returns the shape of the value; Missing if the key is absent.
func (n Node) Kind() Kind {
	if n.v == nil {
		return Missing
	}
	return n.v.kind
}

// Exists reports whether the key is present in the config (an explicit null
// counts as present).
func (n Node) Exists() bool { return n.v != nil }

// Path returns the dotted key path from the root ("model.backbone",
// "train_dataloader.dataset.pipeline.0"); "" for the root.
func (n Node) Path() string { return n.path }

// File returns the config file the value came from, or for a Missing node
// the file of its nearest present ancestor.
func (n Node) File() string {
	if n.v == nil {
		return n.file
	}
	return n.v.file
}

// Line returns the 1-based line of the value in File, 0 if unknown.
func (n Node) Line() int {
	if n.v == nil {
		return n.line
	}
	return n.v.line
}

// Tag returns the resolved YAML tag of a scalar ("!!str", "!!int",
// "!!float", "!!bool"), "!!null" for a null and "" otherwise.
func (n Node) Tag() string {
	switch n.Kind() {
	case Scalar:
		return n.v.tag
	case Null:
		return "!!null"
	}
	return ""
}

// Scalar returns the text of a scalar as written (without quotes) and
// whether the node is a scalar.
func (n Node) Scalar() (string, bool) {
	if n.Kind() != Scalar {
		return "", false
	}
	return n.v.text, true
}

// Type returns the "type" of a mapping when it is a string scalar, else "".
func (n Node) Type() string {
	t := n.Field("type")
	if t.Kind() != Scalar || t.v.tag != "!!str" {
		return ""
	}
	return t.v.text
}

// Keys returns a mapping's keys in order; nil for other kinds.
func (n Node) Keys() []string {
	if n.Kind() != Map {
		return nil
	}
	keys := make([]string, len(n.v.entries))
	for i, e := range n.v.entries {
		keys[i] = e.key
	}
	return keys
}

// Len returns the number of items of a list or keys of a mapping, else 0.
func (n Node) Len() int {
	switch n.Kind() {
	case List:
		return len(n.v.items)
	case Map:
		return len(n.v.entries)
	}
	return 0
}

// Field returns the value of key in a mapping; a Missing node if n is not a
// mapping or has no such key.
func (n Node) Field(key string) Node {
	child := Node{path: joinPath(n.path, key), file: n.File(), line: n.Line()}
	if n.Kind() != Map {
		return child
	}
	if i := n.v.lookup(key); i >= 0 {
		child.v = n.v.entries[i].val
	}
	return child
}

// Index returns item i of a list; a Missing node if n is not a list or i is
// out of range.
func (n Node) Index(i int) Node {
	child := Node{path: joinPath(n.path, strconv.Itoa(i)), file: n.File(), line: n.Line()}
	if n.Kind() == List && i >= 0 && i < len(n.v.items) {
		child.v = n.v.items[i]
	}
	return child
}

// Get follows a dotted path of keys and list indices ("model.backbone",
// "train_dataloader.dataset.pipeline.0.type") and returns the node there;
// a Missing node if any step is absent. Get("") returns n.
func (n Node) Get(path string) Node {
	if path == "" {
		return n
	}
	for _, seg := range strings.Split(path, ".") {
		n = n.child(seg)
	}
	return n
}

// child returns the node one path segment below n: a key of a mapping or
// an index of a list.
func (n Node) child(seg string) Node {
	if n.Kind() == List {
		if i, err := strconv.Atoi(seg); err == nil {
			return n.Index(i)
		}
		return Node{path: joinPath(n.path, seg), file: n.File(), line: n.Line()}
	}
	return n.Field(seg)
}

// Lookup is Get that also reports whether the path exists.
func (n Node) Lookup(path string) (Node, bool) {
	m := n.Get(path)
	return m, m.Exists()
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// without returns a copy of a mapping node without key; other nodes are
// returned unchanged.
func (n Node) without(key string) Node {
	if n.Kind() != Map {
		return n
	}
	i := n.v.lookup(key)
	if i < 0 {
		return n
	}
	nv := *n.v
	nv.entries = append(append([]entry(nil), n.v.entries[:i]...), n.v.entries[i+1:]...)
	n.v = &nv
	return n
}

// WithDefaults returns a mapping node in which every key of defaults that
// the node does not set is added with the default's value, as mmengine's
// build_from_cfg fills default_args: the config wins. Added keys come after
// the node's own, in sorted order, and are located at the mapping itself.
// The node itself is not changed.
func (n Node) WithDefaults(defaults map[string]any) (Node, error) {
	if len(defaults) == 0 {
		return n, nil
	}
	if n.Kind() != Map {
		return n, n.errorf("expected a mapping, found %s", n.describe())
	}
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		if n.v.lookup(k) < 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return n, nil
	}
	sort.Strings(keys)
	nv := *n.v
	nv.entries = append([]entry(nil), n.v.entries...)
	for _, k := range keys {
		var y yaml.Node
		if err := y.Encode(defaults[k]); err != nil {
			return n, &Error{File: n.File(), Line: n.Line(), Path: joinPath(n.path, k), Msg: "cannot use default value", Err: err}
		}
		v, err := fromYAML(&y, n.File(), joinPath(n.path, k))
		if err != nil {
			return n, err
		}
		setLines(v, n.Line())
		nv.entries = append(nv.entries, entry{key: k, file: n.File(), line: n.Line(), val: v})
	}
	n.v = &nv
	return n, nil
}

// setLines replaces the line of every value in a freshly built tree.
func setLines(v *value, line int) {
	v.line = line
	for i := range v.entries {
		v.entries[i].line = line
		setLines(v.entries[i].val, line)
	}
	for _, it := range v.items {
		setLines(it, line)
	}
}

func (n Node) describe() string {
	if n.v == nil {
		return "nothing"
	}
	return n.v.describe()
}

// errorf returns an *Error located at n.
func (n Node) errorf(format string, args ...any) *Error {
	return &Error{File: n.File(), Line: n.Line(), Path: n.path, Msg: fmt.Sprintf(format, args...)}
}

// Dump returns the node as YAML text, keys in order, two-space indents and
// lists of scalars in flow style ([1, 2, 3]). Dumping a loaded config and
// parsing the text again gives an equal tree. A Missing node dumps as "".
func (n Node) Dump() []byte {
	if n.v == nil {
		return nil
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(toYAML(n.v)); err != nil {
		// toYAML builds only well-formed nodes from valid UTF-8 text.
		panic("config: dumping a loaded config: " + err.Error())
	}
	enc.Close()
	return []byte(b.String())
}

// Hash returns the hex SHA-256 of Dump: a fingerprint of the merged config
// for checkpoint metadata, equal for equal trees whatever files they came
// from.
func (n Node) Hash() string {
	sum := sha256.Sum256(n.Dump())
	return hex.EncodeToString(sum[:])
}

// toYAML converts a value to a yaml.v3 node for encoding.
func toYAML(v *value) *yaml.Node {
	switch v.kind {
	case Null:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case Scalar:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: v.tag, Value: v.text}
	case Map:
		y := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, e := range v.entries {
			y.Content = append(y.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.key}, toYAML(e.val))
		}
		return y
	}
	y := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	flow := len(v.items) > 0
	for _, it := range v.items {
		if it.kind == Map || it.kind == List || strings.Contains(it.text, "\n") {
			flow = false
		}
		y.Content = append(y.Content, toYAML(it))
	}
	if flow {
		y.Style = yaml.FlowStyle
	}
	return y
}
