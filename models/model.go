// Package models assembles backbones, necks and heads into trainable models:
// detectors (Mask R-CNN, Faster R-CNN), segmentors (EncoderDecoder) and
// classifiers (ImageClassifier), behind one interface the engine drives.
package models

import (
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/nn"
)

// Model is what the engine trains, tests and runs inference with.
//
// Loss and Predict are called from one goroutine at a time. Loss runs the
// training forward pass on a recording tape (the model is in training mode)
// and returns the scalar total loss plus each named component's value for
// logging ("loss_rpn_cls", "loss_bbox", ...). Predict runs on an inference
// tape with the model in evaluation mode and returns one Result per sample
// of the batch, in the batch's order, in the coordinates of the original
// image (scale factors and flips undone).
type Model interface {
	nn.Module
	Loss(tp *nn.Tape, b *datasets.Batch) (loss *nn.Var, parts map[string]float64, err error)
	Predict(tp *nn.Tape, b *datasets.Batch) ([]Result, error)
}

// Result is a model's prediction for one image. Which fields are set depends
// on the task.
type Result struct {
	// Detection: boxes (x1, y1, x2, y2) in original-image pixels, scores and
	// 0-based labels, sorted by decreasing score; instance masks as RLE of
	// the original image size when the model segments instances.
	Boxes  [][4]float32
	Scores []float32
	Labels []int
	Masks  []mask.RLE

	// Semantic segmentation: the class per pixel of the original image.
	SegMap *datasets.Plane

	// Classification: one logit per class.
	Logits []float32
}

// Registry holds the model types configs name under model.type.
var Registry = config.NewRegistry[Model](config.Models)
