// Package tensor holds dp's n-dimensional array and its compute kernels.
//
// A Tensor is float32, contiguous and row-major; images are NCHW. Shapes are
// checked once at each exported kernel's boundary: a wrong shape is a
// programmer error and panics with a message from errors.go that names the
// shapes involved. Inner kernels trust their inputs.
//
// Kernels that have SIMD fast paths keep a pure-Go twin; building with the
// noasm tag forces the pure-Go path everywhere so both can be tested.
//
// Parallel kernels split work into whole output tiles, the same way on every
// run, and reduce in a fixed order inside a tile, so results are bit-identical
// for a given GOMAXPROCS-independent split (see Parallel).
package tensor
