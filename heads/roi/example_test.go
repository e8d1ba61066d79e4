package roi_test

import (
	"fmt"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/roi"
)

// A 28×28 mask prediction that is 1 on its left half, pasted into a 10×8
// image at the box (2, 1)–(8, 7): the left half of the box is set.
func ExamplePasteMask() {
	prob := make([]float32, 28*28)
	for y := 0; y < 28; y++ {
		for x := 0; x < 14; x++ {
			prob[y*28+x] = 1
		}
	}
	bits := roi.PasteMask(prob, 28, detops.Box{2, 1, 8, 7}, 8, 10, 0.5)
	for y := 0; y < 8; y++ {
		fmt.Println(bits[y*10 : (y+1)*10])
	}
	// Output:
	// [0 0 0 0 0 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 1 1 1 0 0 0 0 0]
	// [0 0 0 0 0 0 0 0 0 0]
}
