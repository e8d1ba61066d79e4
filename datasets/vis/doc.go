// Package vis draws samples as pictures, so a person can see what a model
// is fed: instance masks as translucent class colours, boxes with their
// class names, a segmentation map as a colour overlay.
//
// dp's "data browse" and "infer" commands render through DrawSample.
package vis
