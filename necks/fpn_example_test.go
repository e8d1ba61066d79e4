package necks_test

import (
	"fmt"

	"github.com/densepred/dp/necks"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// An FPN over four backbone maps of a 64×96 image (strides 4 to 32), with
// the fifth level made by max pooling, as Mask R-CNN uses it.
func ExampleNewFPN() {
	o := necks.DefaultFPNOptions()
	o.InChannels = []int{8, 16, 32, 64}
	o.OutChannels = 16
	f, err := necks.NewFPN(o)
	if err != nil {
		panic(err)
	}
	tp := nn.NewInferenceTape(nil)
	var feats []*nn.Var
	for i, c := range o.InChannels {
		feats = append(feats, tp.Input(tensor.New(1, c, 16>>i, 24>>i)))
	}
	for i, y := range f.Forward(feats) {
		fmt.Println(y.Shape(), "stride", f.OutStrides()[i])
	}
	// Output:
	// [1 16 16 24] stride 4
	// [1 16 8 12] stride 8
	// [1 16 4 6] stride 16
	// [1 16 2 3] stride 32
	// [1 16 1 2] stride 64
}
