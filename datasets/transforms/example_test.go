package transforms_test

import (
	"fmt"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/datasets/transforms"
	"github.com/densepred/dp/tensor"
)

// A 640×480 COCO image fits 1333×800 at factor 800/480: mmcv rounds
// 640·1.667 + 0.5 down to 1067.
func ExampleRescaleSize() {
	fmt.Println(transforms.RescaleSize(640, 480, [2]int{1333, 800}))
	// Output: 1067 800
}

// Building a transform from its registered name and decoded options, as a
// config does, and applying it to a sample.
func ExampleBuild() {
	opt, _ := transforms.Options("Resize")
	opt.(*transforms.ResizeOptions).Scale = [][2]int{{100, 60}}
	resize, _ := transforms.Build("Resize", opt)

	s := &datasets.Sample{
		Image: datasets.NewImage(40, 30),
		Boxes: [][4]float32{{2, 3, 12, 8}},
		Masks: []datasets.Mask{{Polygons: [][]float64{{2, 3, 12, 3, 12, 8, 2, 8}}}},
		Meta:  datasets.Meta{ScaleFactor: [2]float64{1, 1}},
	}
	resize.Apply(s, tensor.NewRNG(0))
	fmt.Println(s.Meta.ImgShape, s.Meta.ScaleFactor, s.Boxes[0], s.Masks[0].Polygons[0])
	// Output: [60 80] [2 2] [4 6 24 16] [4 6 24 6 24 16 4 16]
}
