//go:build noasm || !amd64

package tensor

// useGELUAVX2 is false in builds without assembly.
var useGELUAVX2 = false

func geluBlock(x, y []float32)              { geluGeneric(x, y) }
func geluBackwardBlock(x, dy, dx []float32) { geluBackwardGeneric(x, dy, dx) }
