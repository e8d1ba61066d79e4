package engine

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
)

// BuildMetrics builds the evaluator node n (val_evaluator or
// test_evaluator: one mapping or a list of them) from MetricRegistry.
// dsNode is the dataset's config node and ds the dataset the metrics will
// score (either may be the zero value / nil).
//
// CocoMetric gets two things from the dataset, as mmdet's does: a relative
// ann_file is taken relative to the dataset's data_root (mmdet configs
// write data_root + path), and the category id of each label comes from the
// dataset when it implements CatIDer, so results are written in its ids.
func BuildMetrics(n config.Node, dsNode config.Node, ds datasets.Dataset) ([]Metric, error) {
	var items []config.Node
	switch n.Kind() {
	case config.Map:
		items = []config.Node{n}
	case config.List:
		for i := 0; i < n.Len(); i++ {
			items = append(items, n.Index(i))
		}
	default:
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "expected a metric mapping with a \"type\" (or a list of them)"}
	}
	var out []Metric
	for _, it := range items {
		if it.Type() == "CocoMetric" {
			m, err := buildCocoMetric(it, dsNode, ds)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
			continue
		}
		m, err := MetricRegistry.Build(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func buildCocoMetric(n, dsNode config.Node, ds datasets.Dataset) (Metric, error) {
	var typ struct {
		Type string `yaml:"type"`
	}
	var opts CocoMetricOptions
	if err := decodeStrict(n, &typ, &opts); err != nil {
		return nil, err
	}
	if opts.AnnFile == "" {
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: joinKey(n.Path(), "ann_file"), Msg: "CocoMetric needs ann_file: the ground-truth instances JSON"}
	}
	opts.AnnFile = resolveAnnFile(opts.AnnFile, dataRoot(dsNode))
	if c, ok := ds.(CatIDer); ok {
		opts.CatIDs = c.CatIDs()
	}
	m, err := NewCocoMetric(opts)
	if err != nil {
		return nil, &config.Error{File: n.File(), Line: n.Line(), Path: n.Path(), Msg: "building metrics type \"CocoMetric\"", Err: err}
	}
	return m, nil
}

// dataRoot returns a dataset node's data_root, or "".
func dataRoot(ds config.Node) string {
	if s, ok := ds.Field("data_root").Scalar(); ok && ds.Field("data_root").Tag() == "!!str" {
		return s
	}
	return ""
}

// resolveAnnFile places a relative annotation file under root unless it
// already starts with root (a config that spelled the full path).
func resolveAnnFile(ann, root string) string {
	if ann == "" || root == "" || filepath.IsAbs(ann) {
		return ann
	}
	cr, ca := filepath.Clean(root), filepath.Clean(ann)
	if ca == cr || strings.HasPrefix(ca, cr+string(filepath.Separator)) {
		return ann
	}
	return filepath.Join(root, ann)
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeStrict decodes the mapping n into several structs at once, as if
// they were one struct with their keys inlined: each key of n must belong
// to exactly one of them, and an unknown key is an error listing the keys
// of all. parts are pointers to structs holding their defaults.
func decodeStrict(n config.Node, parts ...any) error {
	fields := make([]reflect.StructField, len(parts))
	for i, p := range parts {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: reflect.TypeOf(p).Elem(), Tag: `yaml:",inline"`}
	}
	v := reflect.New(reflect.StructOf(fields)).Elem()
	for i, p := range parts {
		v.Field(i).Set(reflect.ValueOf(p).Elem())
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return err
	}
	for i, p := range parts {
		reflect.ValueOf(p).Elem().Set(v.Field(i))
	}
	return nil
}
