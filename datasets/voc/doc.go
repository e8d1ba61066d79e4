// Package voc reads Pascal VOC detection annotations as mmdet's VOCDataset
// (XMLDataset) does.
//
// Layout (VOCdevkit): VOC2007/ and VOC2012/, each with Annotations/<id>.xml,
// JPEGImages/<id>.jpg and ImageSets/Main/{train,val,trainval,test}.txt, one
// image id per line. Each XML file holds <size><width><height>, and per
// object <name>, <difficult> and <bndbox> with 1-based inclusive pixel
// coordinates <xmin><ymin><xmax><ymax> (VOC devkit doc, section 2.1).
//
// As mmdet (mmdet/datasets/xml_style.py): coordinates are read as
// int(float(v)) − 1, so the box is 0-based; objects whose name is not a
// class are skipped; difficult objects and, with BBoxMinSize, boxes smaller
// than it are kept with Ignore set. Several split files (VOC2007 + VOC2012
// trainval) make one dataset, in order, like mmdet's ConcatDataset.
//
// Segmentation (SegmentationClass palette PNGs) is read by package seg.
package voc
