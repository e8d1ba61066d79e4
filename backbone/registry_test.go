package backbone_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/densepred/dp/backbone"
	_ "github.com/densepred/dp/backbone/snnmlp"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// TestRegistrySweep puts every registered backbone, built with its
// defaults, through the same checks (timm's test_models): a forward and
// backward pass on a 2×3×128×128 batch gives finite outputs whose channels
// and sizes are the declared ones (⌈side/stride⌉), and the gradient reaches
// every trainable parameter. The pass runs in evaluation mode, so that
// stochastic depth cannot drop a branch for the whole batch.
func TestRegistrySweep(t *testing.T) {
	names := backbone.Registry.Names()
	if len(names) == 0 {
		t.Fatal("no backbone registered")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			n, err := config.Parse("sweep.yaml", []byte(fmt.Sprintf("backbone: {type: %s}\n", name)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := backbone.Build(n.Field("backbone"))
			if err != nil {
				t.Fatal(err)
			}
			const h, w = 128, 128
			x := tensor.New(2, 3, h, w)
			tensor.NewRNG(1).FillUniform(x, -2, 2)
			nn.SetTraining(b, false)
			tp := nn.NewTape(nil, tensor.NewRNG(2))
			outs := b.Forward(tp.Input(x))
			chans, strides := b.OutChannels(), b.OutStrides()
			if len(outs) != len(chans) || len(outs) != len(strides) {
				t.Fatalf("%d outputs, %d channel counts, %d strides", len(outs), len(chans), len(strides))
			}
			var loss *nn.Var
			for i, o := range outs {
				want := []int{2, chans[i], (h + strides[i] - 1) / strides[i], (w + strides[i] - 1) / strides[i]}
				if !tensor.SameShape(o.Shape(), want) {
					t.Errorf("output %d: shape %v, want %v", i, o.Shape(), want)
				}
				for _, v := range o.Data() {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %d is not finite", i)
					}
				}
				s := nn.SumAll(nn.Mul(o, o))
				if loss == nil {
					loss = s
				} else {
					loss = nn.Add(loss, s)
				}
			}
			tp.Backward(loss)
			for _, p := range nn.NamedParams(b) {
				if !p.Param.RequiresGrad() {
					continue
				}
				if p.Param.Grad == nil || tensor.MaxAbs(p.Param.Grad) == 0 {
					t.Errorf("no gradient reached %s", p.Name)
				}
			}
		})
	}
}
