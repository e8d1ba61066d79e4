// Package gorgonia converts between dp's tensors and Gorgonia's
// (gorgonia.org/tensor), so programs that hold data as *tensor.Dense can
// hand it to dp and take results back.
//
// Conversions copy: neither side ever aliases the other's memory, because
// Gorgonia's views share backing arrays and dp's pool reuses buffers. Only
// float32 is accepted, dp's one compute type.
//
// This is the only dp package that imports Gorgonia; importing it adds
// Gorgonia's dependencies (about 55 modules) to a binary, so dp's own
// packages never do.
//
// Gorgonia tensor v0.9.24 panics at start-up on Go ≥ 1.26 unless
// go4.org/unsafe/assume-no-moving-gc is at v0.0.0-20231121144256-b99613f794b6
// or later; dp's go.mod pins that version.
package gorgonia
