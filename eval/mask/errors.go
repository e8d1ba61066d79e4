package mask

// Panic strings, kept here so tests can match them.
const (
	errBitmapSize = "mask: bitmap length is not height×width"
)
