package nn

// Panic strings for programmer errors, kept in one place so tests can match them.
const (
	errShape         = "nn: shape mismatch"
	errGradShape     = "nn: gradient shape mismatch"
	errNotScalar     = "nn: Backward needs a scalar loss"
	errNoTape        = "nn: Backward on a value that was not recorded"
	errBroadcast     = "nn: shapes do not broadcast"
	errDuplicateName = "nn: name registered twice"
	errArg           = "nn: bad argument"
	errAxis          = "nn: axis out of range"
	errLabel         = "nn: target label out of range"
)
