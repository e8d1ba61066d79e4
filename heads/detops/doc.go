// Package detops holds the box operations two-stage detectors are built
// from, with mmdet's (3.x) and torchvision's semantics: anchor generation,
// the delta-xywh box coder, IoU, the max-IoU assigner, the random sampler,
// NMS and batched (class-aware) NMS, multi-level RoI assignment and RoIAlign
// with its gradient.
//
// Boxes are [x1, y1, x2, y2] in absolute pixels with no "+1" in widths
// (mmdet ≥ 2.0 and torchvision), stored as []Box or flat [n*4]float32.
package detops
