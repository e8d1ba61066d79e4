package rpn_test

import (
	"testing"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/rpn"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// BenchmarkTargetsLossProposals measures the RPN's work outside the convs
// for two 800×1333 images (padded to 800×1344; five levels, 268k anchors
// per image, 10 gt boxes each): targets, both losses with their backward
// pass, and training proposals (2000 per level, 1000 kept).
func BenchmarkTargetsLossProposals(b *testing.B) {
	o := rpn.DefaultHeadOptions()
	o.InChannels = 1
	h, err := rpn.New(o)
	if err != nil {
		b.Fatal(err)
	}
	rng := tensor.NewRNG(1)
	sizes := [][2]int{{200, 336}, {100, 168}, {50, 84}, {25, 42}, {13, 21}}
	var clsT, regT []*tensor.Tensor
	for _, s := range sizes {
		c, r := tensor.New(2, 3, s[0], s[1]), tensor.New(2, 12, s[0], s[1])
		rng.FillNormal(c, 0, 2)
		rng.FillNormal(r, 0, 0.2)
		clsT, regT = append(clsT, c), append(regT, r)
	}
	gts := make([]rpn.GT, 2)
	for i := range gts {
		for k := 0; k < 10; k++ {
			x, y := float32(rng.Uniform(0, 1200)), float32(rng.Uniform(0, 700))
			w, hh := float32(rng.Uniform(16, 300)), float32(rng.Uniform(16, 300))
			gts[i].Boxes = append(gts[i].Boxes, detops.Box{x, y, min(x+w, 1333), min(y+hh, 800)})
		}
	}
	shapes := [][2]int{{800, 1333}, {800, 1333}}
	train := rpn.DefaultTrainOptions()
	prop := rpn.DefaultTrainProposalOptions()
	pool := tensor.NewPool()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tp := nn.NewTape(pool, tensor.NewRNG(uint64(i)))
		var cls, reg []*nn.Var
		for l := range clsT {
			cls, reg = append(cls, tp.Leaf(clsT[l])), append(reg, tp.Leaf(regT[l]))
		}
		t := h.Targets(cls, shapes, gts, train, tp.RNG())
		lc, lb := h.Loss(cls, reg, t)
		tp.Backward(nn.Add(lc, lb))
		h.Proposals(cls, reg, shapes, prop)
		tp.Release()
	}
}
