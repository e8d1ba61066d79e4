// Package imagenet reads image-classification datasets in the two layouts
// ImageNet is shipped in, and converts the first into the second.
//
// The class-folder layout (torchvision ImageFolder, timm, mmpretrain
// without ann_file): one directory per class under the split directory,
// train/n01440764/*.JPEG ...; the class index is the position of the
// folder name in sorted order, or its line in a class map file (timm's
// class_map), or the label given per file by an annotation file of
// "relative/path label" lines (mmpretrain meta/train.txt).
//
// The Parquet layout published by dataset hubs: shards such as
// train-00000-of-00004.parquet whose rows hold image: {bytes, path} (the
// encoded file and its name) and label (int64). Shards are read with
// github.com/parquet-go/parquet-go; WriteParquet writes the folder layout
// in this form.
package imagenet
