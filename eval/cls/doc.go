// Package cls computes top-k classification accuracy (mmpretrain's Accuracy
// with topk=(1, 5)), accumulated sample by sample so it streams.
package cls
