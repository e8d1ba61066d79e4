// Package transforms holds dp's data pipeline steps, registered by name with
// typed options, as mmdet's and mmseg's TRANSFORMS registry holds theirs.
//
// Every transform changes a datasets.Sample in place and keeps its parts
// consistent: the image, the boxes, the instance masks (polygons move with
// their vertices, RLE and bitmap masks are resampled) and the segmentation
// map. Geometric steps follow mmcv's conventions: sizes round as
// int(w*scale+0.5) (mmcv.rescale_size), images resample with OpenCV's
// bilinear filter (INTER_LINEAR, half-pixel centres, 11-bit fixed point)
// and label maps and bitmap masks with OpenCV's nearest neighbour, boxes
// scale by the actual (new/old) size ratio and are clipped to the image.
// The classification crops (RandomResizedCrop, CenterCrop) follow timm and
// resample with PIL-style antialiased bicubic (disintegration/imaging's
// CatmullRom).
//
// # Options and the registry
//
// Each transform has an exported options struct with yaml tags (the config
// keys) and a Default...Options function giving mmdet/mmseg's defaults.
// The config package decodes a pipeline entry by asking Options(name) for
// a pointer to the defaults, decoding the YAML node into it, and passing it
// to Build.
package transforms
