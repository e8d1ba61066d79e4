package seg_test

import (
	"fmt"

	"github.com/densepred/dp/heads/seg"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// A UPerHead over four feature maps at strides 4, 8, 16 and 32 of a
// 128×96 image returns logits at stride 4; its loss compares them, resized,
// with the full-size label map.
func ExampleUPerHead() {
	o := seg.DefaultUPerHeadOptions()
	o.InChannels = seg.Ints{Values: []int{8, 16, 32, 64}}
	o.InIndex = seg.Ints{Values: []int{0, 1, 2, 3}}
	o.Channels, o.NumClasses = 16, 5
	head, err := seg.NewUPerHead(o)
	if err != nil {
		panic(err)
	}
	tp := nn.NewTape(nil, tensor.NewRNG(0))
	var feats []*nn.Var
	for i, c := range []int{8, 16, 32, 64} {
		feats = append(feats, tp.Input(tensor.New(2, c, 96>>(i+2), 128>>(i+2))))
	}
	logits := head.Forward(feats)
	loss, parts := head.Loss(logits, make([]uint8, 2*96*128), 96, 128)
	fmt.Println(logits.Shape(), loss.Shape(), len(parts))
	fmt.Println(nn.StateKeys(head)[:3])
	// Output:
	// [2 5 24 32] [] 2
	// [conv_seg.weight conv_seg.bias psp_modules.0.1.conv.weight]
}
