// Package coco evaluates object detection (bbox) and instance segmentation
// (segm) results on COCO-format ground truth exactly as pycocotools'
// COCOeval does, quirks included, so the numbers equal the ones papers
// report, in a fraction of pycocotools' time (BenchmarkCOCOEvalVal5kBBox and
// BenchmarkCOCOEvalVal5kSegm time a COCO-val-sized set).
//
// The phases are pycocotools': Evaluate matches the detections of every
// (image, category) pair to the ground truth at every IoU threshold and area
// range, Accumulate turns the matches into precision/recall curves, and
// Summarize reduces them to the 12 standard numbers:
//
//	gt, _ := coco.LoadDataset("instances_val2017.json")
//	dt, _ := gt.LoadResults("results.bbox.json")
//	e := coco.NewEval(gt, dt, coco.DefaultParams(coco.BBox))
//	if err := e.Evaluate(); err != nil { ... }
//	e.Accumulate()
//	stats := e.Summarize()   // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
//	e.WriteSummary(os.Stdout)
//
// Behaviour copied from pycocotools on purpose (each is commented where it is
// implemented):
//   - a ground truth's "ignore" field has no effect: COCOeval._prepare
//     overwrites it with "iscrowd";
//   - area ranges test the ground truth's "area" field (the segment area),
//     also in bbox evaluation, and a detection's area: w·h of its box for box
//     results, the mask area for mask-only results;
//   - detections are ordered by score with a stable sort (numpy mergesort),
//     ties keeping file order, and cut to the largest maxDets per image;
//   - against a crowd ground truth the IoU is the intersection over the
//     detection's area, and a crowd may match any number of detections;
//   - a detection matched to a ground truth whose id is 0 counts as unmatched
//     (pycocotools stores the matched id and tests it for truth);
//   - precision is interpolated at 101 recall points from a curve made
//     non-increasing from the right; -1 marks settings without ground truth,
//     and summary means (numpy's pairwise sum) skip them;
//   - stats[0] always uses maxDets = 100, whatever Params.MaxDets holds;
//   - the kind of a results file is decided by its first record, as
//     COCO.loadRes does: if it has a non-empty "bbox", every record's area is
//     w·h of its box, even when it also carries a mask.
//
// Where pycocotools fails, this package goes on: an empty results list
// evaluates to zero recall instead of raising, and results may give masks as
// polygons or uncompressed RLE as well as compressed RLE.
package coco
