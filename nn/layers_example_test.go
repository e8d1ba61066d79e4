package nn_test

import (
	"fmt"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// resnetStem is the convolution and BatchNorm of a ResNet stem, registered
// under torchvision's names conv1 and bn1.
type resnetStem struct {
	nn.ModuleBase
	Conv *nn.Conv2d
	BN   *nn.BatchNorm2d
}

func Example_layers() {
	rng := tensor.NewRNG(0)
	m := &resnetStem{}
	m.Conv = nn.NewConv2d(3, 64, [2]int{7, 7}, rng, nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}, NoBias: true})
	m.BN = nn.NewBatchNorm2d(64, nn.BatchNorm2dOptions{})
	m.RegisterModule("conv1", m.Conv)
	m.RegisterModule("bn1", m.BN)
	nn.SetTraining(m, true)

	tp := nn.NewTape(nil, nil)
	x := tp.Input(tensor.New(2, 3, 224, 224))
	y := m.BN.Forward(m.Conv.Forward(x))
	y = nn.MaxPool2d(y, nn.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
	fmt.Println(y.Shape())
	sd := nn.StateDict(m)
	for _, k := range nn.StateKeys(m) {
		fmt.Println(k, sd[k].Shape())
	}
	// Output:
	// [2 64 56 56]
	// conv1.weight [64 3 7 7]
	// bn1.weight [64]
	// bn1.bias [64]
	// bn1.running_mean [64]
	// bn1.running_var [64]
	// bn1.num_batches_tracked []
}
