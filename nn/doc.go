// Package nn is dp's autograd and layer library.
//
// # Autograd
//
// A Tape records one forward pass. Every operation (a verb: Add, Conv2d,
// GroupNorm, ...) takes *Var inputs and returns a new *Var; when any input was
// produced on a recording Tape and any input requires a gradient, the
// operation appends a node holding its backward closure. Tape.Backward walks
// the nodes in reverse and accumulates gradients into each Var's Grad.
// Parameters (NewParam) live outside any tape: their Grad persists across
// steps until an optimizer zeroes it. Intermediate values and gradients are
// taken from the tape's buffer pool and given back by Tape.Release, so a
// training step that repeats its shapes allocates almost nothing once warm.
//
// A nil *Tape, or one made by NewInferenceTape, records nothing: operations
// then only compute (inference mode).
//
// The contract: a Tape and the Vars it produced are used by one goroutine at
// a time; values produced on a tape are valid until Release; clone a value
// (tensor.Tensor.Clone) that must outlive it.
//
// # Modules
//
// Layers (nouns: Conv2d, GroupNorm, Linear) embed ModuleBase and register
// their parameters, buffers and children under PyTorch's attribute names, so
// a module's state-dict keys equal the reference model's
// (`layers.0.blocks.1.lif_module.lif1.tau`).
package nn
