// Package seg reads semantic segmentation datasets laid out as mmseg's
// BaseSegDataset expects: images in one directory, label maps with the same
// names in another, optionally a split file listing the names.
//
// Two layouts have presets:
//
//   - ADE20K (SceneParsing ADEChallengeData2016): images/{training,validation}
//     /ADE_*.jpg and annotations/{training,validation}/ADE_*.png, 8-bit
//     grayscale maps where 0 is "other" and 1..150 the classes; with
//     reduce_zero_label (mmseg's default for ADE) 0 becomes 255 (ignored) and
//     the classes 0..149.
//   - Pascal VOC 2012 segmentation: JPEGImages/*.jpg, SegmentationClass/*.png
//     palette PNGs whose indices are the classes (0 background .. 20) and
//     255 the object borders, split files ImageSets/Segmentation/*.txt.
//
// Label maps are read by the LoadAnnotations transform (with_seg) from
// Meta.SegFile, as indices, never as palette colours.
package seg
