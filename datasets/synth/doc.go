// Package synth writes small synthetic datasets in real formats: coloured
// shapes on textured backgrounds, each class a distinct shape and colour, so
// a model can learn them in minutes on a CPU. They are what `make demo`
// trains on and what dp's tests read end to end.
//
// Tasks and layouts:
//
//   - det, format coco: annotations/instances_{train,val}.json and PNG images
//     in train/ and val/, polygon masks, and in some images a crowd region (a
//     cluster of small shapes) annotated once as uncompressed RLE with
//     iscrowd 1, as COCO's ground truth does.
//   - det, format voc: VOC2007/{Annotations,JPEGImages,ImageSets/Main}, crowd
//     regions as difficult objects.
//   - seg: ADEChallengeData2016/{images,annotations}/{training,validation},
//     JPEG images and 8-bit grayscale label maps in ADE20K's convention: 0
//     is "other" (unused here), k+1 is class k of SegClasses, so that read
//     with reduce_zero_label (the ADE20K preset) the labels are SegClasses'
//     indices and background is a class.
//   - cls: train/<class>/*.png and val/<class>/*.png, one shape per image.
//
// At Size 256 objects measure 24 to 96 pixels and an image holds one to
// four of them; sizes scale with Size. The output depends only on the
// options: every image is drawn from its own generator seeded by the seed,
// the split and the image index.
package synth
