// Package checkpoint reads and writes model weights: safetensors files
// (read and write) and PyTorch .pth/.pt files (read).
//
// Every reader returns a File, a flat map from parameter name to tensor, so
// callers need not care which format a checkpoint came in. Tensors are
// float32 (dp's only compute type): float16, bfloat16 and float64 values are
// converted on read. Integer and boolean tensors, such as BatchNorm's
// num_batches_tracked or an optimizer's step counter, are kept bit-exact in
// File.Raw and are also offered as float32 in File.Tensors.
//
// Read picks the format from the file's first bytes: a zip archive or a
// pickle stream is PyTorch, anything else is taken for safetensors.
//
// The package knows nothing of modules or layers: matching names and shapes
// against a model is the nn package's job (Diff helps it report what differs).
//
// Malformed input never panics: each problem is an error that names the file,
// the tensor and what was expected.
package checkpoint
