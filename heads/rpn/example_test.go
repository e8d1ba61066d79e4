package rpn_test

import (
	"fmt"

	"github.com/densepred/dp/heads/rpn"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// An RPN head on two FPN levels of a 64×96 input: objectness and deltas per
// level, then proposals in image coordinates.
func Example() {
	o := rpn.DefaultHeadOptions()
	o.InChannels, o.FeatChannels = 8, 8
	o.AnchorGenerator.Strides = []int{8, 16}
	h, err := rpn.New(o)
	if err != nil {
		panic(err)
	}
	tp := nn.NewInferenceTape(nil)
	feats := []*nn.Var{tp.Input(tensor.New(1, 8, 8, 12)), tp.Input(tensor.New(1, 8, 4, 6))}
	cls, reg := h.Forward(feats)
	fmt.Println(cls[0].Shape(), reg[0].Shape(), cls[1].Shape(), reg[1].Shape())
	props := h.Proposals(cls, reg, [][2]int{{64, 96}}, rpn.DefaultTestProposalOptions())
	fmt.Println(len(props[0].Boxes) > 0, props[0].Scores[0])
	// Output:
	// [1 3 8 12] [1 12 8 12] [1 3 4 6] [1 12 4 6]
	// true 0.5
}
