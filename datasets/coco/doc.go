// Package coco reads COCO instance annotations (instances_*.json) as
// mmdet's CocoDataset does.
//
// The file format (cocodataset.org/#format-data, "Object Detection"):
// images[{id, file_name, width, height}], categories[{id, name}] and
// annotations[{id, image_id, category_id, bbox [x, y, w, h], area, iscrowd,
// segmentation}], where segmentation is a list of polygons (flat x, y lists;
// one object may have several parts) or an RLE object {size [h, w], counts}
// with counts a list (uncompressed, the crowd regions of the ground-truth
// files) or a string (compressed).
//
// Parsing follows mmdet 3.x CocoDataset.parse_data_info: annotations with a
// true "ignore" are skipped; boxes with no overlap with the image, area <= 0,
// w < 1 or h < 1 are dropped (and counted in the log); boxes become
// (x, y, x+w, y+h); crowd annotations are kept with Ignore set; categories
// get contiguous labels in the order of the categories list (pycocotools
// getCatIds); polygon parts of fewer than three points are dropped and an
// annotation left without parts is kept with Ignore set (mmdet's
// LoadAnnotations). Unlike mmdet, which silently drops them, a category id
// missing from categories and a polygon with an odd number of coordinates
// are errors naming the annotation.
package coco
