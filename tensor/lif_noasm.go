//go:build noasm || !amd64

package tensor

// useLIFAVX2 is false in builds without assembly.
var useLIFAVX2 = false

func lifRow(y, c, x []float32, tau, vth float32, first bool) int { return 0 }

func lifGroups4(y, x []float32, tau, vth float32) int { return 0 }

func lifMem(u, up, x []float32, tau, vth float32) int { return 0 }

func lifBackStepVec(du, gx, u, up, gy []float32, accTau, accVth []float64, tau, vth float32) int {
	return 0
}

func lifBackGroups4(gx, x, gy []float32, accTau, accVth []float64, tau, vth float32) int { return 0 }
