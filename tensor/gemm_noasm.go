//go:build noasm || !amd64

package tensor

// archGemmVariants returns the assembly SGEMM kernels of this architecture:
// none in builds without assembly, which use the generic kernel only.
func archGemmVariants() []*gemmVariant { return nil }
