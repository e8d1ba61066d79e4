// Package voc computes Pascal VOC detection mAP as mmdetection's eval_map
// (mmdet/evaluation/functional/mean_ap.py, tpfp_default) computes it for
// VOCMetric:
//
//   - per class, every detection of an image takes the ground truth with the
//     highest IoU (the first on ties), difficult ones included; at IoU ≥ 0.5
//     it is a true positive if that ground truth is not difficult and not yet
//     taken, a false positive if it is taken, and neither if it is
//     difficult; below 0.5 it is a false positive;
//   - boxes are [x1, y1, x2, y2] and, as VOCMetric asks (the VOC devkit's
//     convention), widths and heights count pixels inclusively: x2 - x1 + 1.
//     Options.LegacyCoordinates = false drops the +1;
//   - IoUs and precisions are computed in float32 as mmdet does; recall in
//     float64;
//   - AP is either the VOC2007 11-point interpolation (mean over recall
//     r = 0, 0.1, ..., 1 of the highest precision at recall ≥ r) or the
//     VOC2010+ area under the precision envelope;
//   - mAP is the float32 mean over the classes that have ground truth.
//
// One difference remains: mmdet sorts detections with numpy's unstable
// quicksort, so detections with equal scores may be taken in another order
// there; here equal scores keep their input order.
package voc
