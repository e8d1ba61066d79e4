// Package mask is the COCO run-length-encoded (RLE) mask API: the same
// encoding, polygon rasterization, merging, areas, boxes and IoUs as the COCO
// API's common/maskApi.c and pycocotools.mask, so areas and IoUs computed here
// equal the ones COCO-style evaluation reports.
//
// An RLE stores an H×W binary mask as run lengths over the pixels in
// column-major order (down the first column, then the second, ...), starting
// with a run of zeros that may be empty:
//
//	mask (H=3, W=2)   column-major pixels   Counts
//	0 1               0 0 1 1 1 0           [2 3 1]
//	0 1
//	1 0
//
// The counts sum to H·W. Bitmaps passed to Encode and returned by Decode are
// row-major (index y·W+x) like Go images and dp tensors; EncodeColMajor and
// DecodeColMajor take and return the COCO API's column-major layout.
//
// The compressed form (String, FrString) is the COCO "counts" string: each
// count, minus the count two places before it from the fourth on, written as
// a signed little-endian base-32 number, five bits per character, the sixth
// bit set while more characters follow, and 48 added to each character.
package mask
