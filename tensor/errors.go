package tensor

// Panic strings for programmer errors, kept in one place so tests can match them.
const (
	errShapeMismatch = "tensor: shape mismatch"
	errBadShape      = "tensor: negative dimension"
	errDataLen       = "tensor: data length does not match shape"
	errReshape       = "tensor: reshape changes the number of elements"
	errBadLd         = "tensor: bad leading dimension"
	errShortBuf      = "tensor: buffer too short"
	errBadIndex      = "tensor: index out of range"
)
