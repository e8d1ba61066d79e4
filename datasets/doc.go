// Package datasets holds what every dp dataset shares: the Sample that flows
// from a reader through the transforms into the loader, the decoded image
// type, image decoding, the two reader error kinds and the Loader that runs
// transforms in worker goroutines and collates padded batches.
//
// Readers live in subpackages, one per format: coco (COCO instances JSON),
// voc (Pascal VOC detection and segmentation), ade (ADE20K scene parsing),
// imagenet (class folders and Parquet shards). Transforms live in transforms,
// the synthetic dataset maker in synth and sample drawing in vis.
//
// Reader packages register their dataset types under mmdet/mmseg's names
// ("CocoDataset", "VOCDataset", "ADE20KDataset", ...) with typed options
// structs, so a config can name them: DatasetOptions gives the defaults to
// decode into, OpenDataset opens.
//
// # Images
//
// A decoded image is an Image: 8-bit RGB, interleaved H×W×3, row-major. It is
// what every geometric and photometric transform works on, because resizing
// and flipping 8-bit interleaved pixels touches a quarter of the bytes a
// float32 image would, and it is what mmcv's pipelines work on too (they only
// go to float at normalisation). Normalize turns the image into the model
// input, a C×H×W float32 tensor.Tensor in Sample.Input, and drops Image.
//
// # Boxes and masks
//
// Boxes are absolute (x1, y1, x2, y2) in pixels of the current image, without
// the legacy +1 (mmdet 3.x). Instance masks stay polygons or RLE until a
// transform needs pixels: resizing and flipping a polygon moves its vertices,
// while an RLE mask is decoded to a bitmap the first time it is moved.
package datasets
