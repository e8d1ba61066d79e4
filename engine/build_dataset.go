package engine

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
)

// datasetRegistry mirrors the dataset types of package datasets (which
// cannot import config) as the config.Datasets registry, so that datasets
// are built and listed like every other component.
var datasetRegistry = config.NewRegistry[datasets.Dataset](config.Datasets)

// syncDatasets registers every dataset type not yet mirrored, including
// those a reader package registered after this package's init.
func syncDatasets() {
	for _, name := range datasets.DatasetNames() {
		if datasetRegistry.Has(name) {
			continue
		}
		datasetRegistry.Register(name, func(n config.Node) (datasets.Dataset, error) { return openDataset(name, n) })
	}
}

func init() { syncDatasets() }

// BuildDataset opens the dataset a dataloader's dataset node describes
// (its pipeline key is BuildPipeline's). The reader's own options are
// decoded strictly; beside them the node may use mmengine's BaseDataset
// keys, which are mapped onto the reader's options when it has no key of
// that name itself:
//
//   - data_root is joined in front of a relative ann_file and of the
//     data_prefix directories;
//   - data_prefix: {img | img_path: DIR, seg | seg_map_path: DIR} sets
//     img_dir and ann_dir;
//   - filter_cfg: {filter_empty_gt, min_size, bbox_min_size} sets the
//     reader's keys of those names;
//   - metainfo: {classes: [...]} sets classes;
//   - backend_args, lazy_init and serialize_data are accepted and ignored.
func BuildDataset(n config.Node) (datasets.Dataset, error) {
	syncDatasets()
	return datasetRegistry.Build(n)
}

// baseDatasetKeys are the mmengine BaseDataset keys BuildDataset maps.
var baseDatasetKeys = []reflect.StructField{
	{Name: "Pipeline", Type: reflect.TypeFor[config.Node](), Tag: `yaml:"pipeline"`},
	{Name: "DataRoot", Type: reflect.TypeFor[string](), Tag: `yaml:"data_root"`},
	{Name: "DataPrefix", Type: reflect.TypeFor[map[string]string](), Tag: `yaml:"data_prefix"`},
	{Name: "FilterCfg", Type: reflect.TypeFor[config.Node](), Tag: `yaml:"filter_cfg"`},
	{Name: "Metainfo", Type: reflect.TypeFor[config.Node](), Tag: `yaml:"metainfo"`},
	{Name: "BackendArgs", Type: reflect.TypeFor[config.Node](), Tag: `yaml:"backend_args"`},
	{Name: "LazyInit", Type: reflect.TypeFor[bool](), Tag: `yaml:"lazy_init"`},
	{Name: "SerializeData", Type: reflect.TypeFor[bool](), Tag: `yaml:"serialize_data"`},
}

// yamlField returns the field of struct value v whose yaml key is key.
func yamlField(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			if fv, ok := yamlField(v.Field(i), key); ok {
				return fv, true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key && f.IsExported() {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// openDataset decodes n (without "type") into the options of the dataset
// type name, mapping the BaseDataset keys the reader lacks, and opens it.
func openDataset(name string, n config.Node) (datasets.Dataset, error) {
	opt, err := datasets.DatasetOptions(name)
	if err != nil {
		return nil, err
	}
	ov := reflect.ValueOf(opt).Elem()
	var fields []reflect.StructField
	for _, f := range baseDatasetKeys {
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if _, own := yamlField(ov, key); !own {
			fields = append(fields, f)
		}
	}
	extra := reflect.New(reflect.StructOf(fields))
	if err := decodeStrict(n, extra.Interface(), opt); err != nil {
		return nil, err
	}
	ev := extra.Elem()
	get := func(name string) reflect.Value { return ev.FieldByName(name) }
	root := ""
	if f := get("DataRoot"); f.IsValid() {
		root = f.String()
	}
	setPath := func(key, path string, where config.Node) error {
		f, ok := yamlField(ov, key)
		if !ok || f.Kind() != reflect.String {
			return &config.Error{File: where.File(), Line: where.Line(), Path: where.Path(), Msg: fmt.Sprintf("dataset type %s has no %s to set", name, key)}
		}
		if root != "" && path != "" && !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		f.SetString(path)
		return nil
	}
	if f := get("DataPrefix"); f.IsValid() {
		prefixes := f.Interface().(map[string]string)
		for _, k := range sortedKeys(prefixes) {
			where := n.Get("data_prefix." + k)
			switch k {
			case "img", "img_path":
				err = setPath("img_dir", prefixes[k], where)
			case "seg", "seg_map_path":
				err = setPath("ann_dir", prefixes[k], where)
			default:
				err = &config.Error{File: where.File(), Line: where.Line(), Path: where.Path(), Msg: fmt.Sprintf("unknown data_prefix key %q; allowed: img (or img_path), seg (or seg_map_path)", k)}
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if root != "" {
		if f, ok := yamlField(ov, "img_dir"); ok && f.Kind() == reflect.String && f.String() == "" {
			f.SetString(root) // mmengine: an absent image prefix is data_root itself
		}
		if f, ok := yamlField(ov, "ann_file"); ok && f.Kind() == reflect.String {
			f.SetString(resolveAnnFile(f.String(), root))
		}
	}
	if f := get("FilterCfg"); f.IsValid() {
		fc := f.Interface().(config.Node)
		for _, k := range fc.Keys() {
			sub := fc.Field(k)
			dst, ok := yamlField(ov, k)
			if !ok || (k != "filter_empty_gt" && k != "min_size" && k != "bbox_min_size") {
				return nil, &config.Error{File: sub.File(), Line: sub.Line(), Path: sub.Path(), Msg: fmt.Sprintf("filter_cfg key %q is not supported by dataset type %s", k, name)}
			}
			if err := sub.Decode(dst.Addr().Interface()); err != nil {
				return nil, err
			}
		}
	}
	if f := get("Metainfo"); f.IsValid() {
		mi := f.Interface().(config.Node)
		for _, k := range mi.Keys() {
			sub := mi.Field(k)
			dst, ok := yamlField(ov, "classes")
			if k != "classes" || !ok {
				return nil, &config.Error{File: sub.File(), Line: sub.Line(), Path: sub.Path(), Msg: fmt.Sprintf("metainfo key %q is not supported by dataset type %s (only classes)", k, name)}
			}
			if err := sub.Decode(dst.Addr().Interface()); err != nil {
				return nil, err
			}
		}
	}
	return datasets.OpenDataset(name, opt)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
