package config

// The registries dp declares, one line each, in the order `dp config
// registries` lists them. Each is created, with NewRegistry and one of these
// names, by the package that defines what it builds (backbone.Registry is
// NewRegistry[Backbone](config.Backbones)); a config's "type:" keys are
// looked up in them. Heads, whose Go types differ by slot, are created in
// typed parts with NewPartRegistry (the RPN, RoI and segmentation heads) and
// listed as one registry.
const (
	Models     = "models"     // whole models: detectors, segmentors, classifiers (config key model)
	Backbones  = "backbones"  // feature extractors that feed necks and heads (model.backbone)
	Necks      = "necks"      // multi-scale feature fusion between backbone and heads (model.neck)
	Heads      = "heads"      // RPN, RoI, YOLO and segmentation heads (model.*_head)
	Datasets   = "datasets"   // readers of COCO, VOC, ADE20K, ImageNet and synthetic data (*_dataloader.dataset)
	Transforms = "transforms" // data pipeline steps: load, resize, flip, normalise, pack (dataset.pipeline)
	Optimizers = "optimizers" // SGD, AdamW, LAMB (optim_wrapper.optimizer)
	Schedules  = "schedules"  // learning-rate and momentum schedules (param_scheduler)
	Hooks      = "hooks"      // runner hooks: logging, checkpoints, schedule, EMA, checks (default_hooks, custom_hooks)
	Metrics    = "metrics"    // evaluators: COCO AP, mIoU, VOC mAP, top-k (val_evaluator, test_evaluator)
)

// declared is the table behind the constants above: name, then the
// one-line description AllRegistries reports.
var declared = [...]struct{ name, doc string }{
	{Models, "whole models: detectors, segmentors, classifiers (config key model)"},
	{Backbones, "feature extractors that feed necks and heads (model.backbone)"},
	{Necks, "multi-scale feature fusion between backbone and heads (model.neck)"},
	{Heads, "RPN, RoI, YOLO and segmentation heads (model.*_head)"},
	{Datasets, "readers of COCO, VOC, ADE20K, ImageNet and synthetic data (*_dataloader.dataset)"},
	{Transforms, "data pipeline steps: load, resize, flip, normalise, pack (dataset.pipeline)"},
	{Optimizers, "SGD, AdamW, LAMB (optim_wrapper.optimizer)"},
	{Schedules, "learning-rate and momentum schedules (param_scheduler)"},
	{Hooks, "runner hooks: logging, checkpoints, schedule, EMA, checks (default_hooks, custom_hooks)"},
	{Metrics, "evaluators: COCO AP, mIoU, VOC mAP, top-k (val_evaluator, test_evaluator)"},
}
