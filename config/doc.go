// Package config loads dp's YAML configs and builds components from them.
//
// A config is a YAML mapping shaped like the object tree it describes: a
// model with its backbone, neck and heads, each a mapping whose "type" key
// names a registered component, then data, schedule and runtime settings.
// Loading follows mmengine's rules, so configs read the same as mmdet's:
//
//   - "_base_: file.yaml" or "_base_: [a.yaml, b.yaml]" merges other files
//     first (paths are relative to the including file, bases may have bases);
//     two bases of one file may not define the same top-level key.
//   - A mapping in the child merges into the inherited mapping key by key,
//     recursively, and the child wins; lists and scalars are replaced whole.
//   - "_delete_: true" in a child mapping replaces the inherited mapping
//     instead of merging into it (for swapping a backbone or an optimizer).
//   - Overrides given on the command line as --cfg-options a.b.c=v patch the
//     merged tree; integer segments index lists (pipeline.0.type=Resize) and
//     values are YAML scalars or flow collections (lr=1e-4, k=[1,2], k=null).
//
// The merged tree is a [Node]: immutable, ordered as written (so [Node.Dump]
// prints keys in the order a reader expects), and every value remembers the
// file and line it came from. [Node.Decode] fills a Go options struct
// strictly: defaults live in the struct, the config only overwrites what it
// sets, and an unknown or mistyped key is an [*Error] naming the file, the
// line, the key path and what was expected.
//
// A [Registry] maps type names to builders, as database/sql maps driver
// names to drivers: the package that implements a component registers it
// from init, and a program opts in with a blank import. [Registry.Build]
// reads "type", decodes the rest strictly and calls the builder; an unknown
// type names the registry, lists close matches and suggests the missing
// import. The registry kinds dp uses are declared in registries.go.
package config
