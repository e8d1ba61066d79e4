package roi

import (
	"fmt"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/tensor"
)

// GT is one image's ground truth for the RoI head: boxes with 0-based
// labels, instance masks parallel to them (nil for Faster R-CNN), and
// ignore regions (crowds) for the assigner.
type GT struct {
	Boxes  []detops.Box
	Labels []int
	Masks  []InstanceMask
	Ignore []detops.Box
}

// Sampled is one image's training RoIs: Boxes holds the positives first
// (NumPos of them), then the negatives; PosGT[k] is the gt index of
// positive k.
type Sampled struct {
	Boxes  []detops.Box
	NumPos int
	PosGT  []int
}

// SampleRoIs assigns proposals to gt and samples the RoIs that train the
// second stage, as mmdet's StandardRoIHead.loss: max-IoU assignment on the
// proposals, then (with add_gt_as_proposals) the gt boxes put in front as
// positives of themselves, then a random sample.
func SampleRoIs(proposals []detops.Box, gt GT, o TrainOptions, rng *tensor.RNG) Sampled {
	a := detops.AssignMaxIoU(proposals, gt.Boxes, gt.Ignore, o.Assigner.MaxIoUOptions)
	priors, assigned := proposals, a.GT
	if o.Sampler.AddGTAsProposals && len(gt.Boxes) > 0 {
		priors = append(append([]detops.Box(nil), gt.Boxes...), proposals...)
		assigned = make([]int, 0, len(priors))
		for i := range gt.Boxes {
			assigned = append(assigned, i+1)
		}
		assigned = append(assigned, a.GT...)
	}
	pos, neg := detops.SampleRandom(assigned, o.Sampler.SamplerOptions, rng)
	return MakeSampled(priors, assigned, pos, neg)
}

// MakeSampled builds a Sampled from priors, their assignment (1-based gt
// index, 0 negative) and the chosen positive and negative indices.
func MakeSampled(priors []detops.Box, assigned []int, pos, neg []int) Sampled {
	s := Sampled{NumPos: len(pos), Boxes: make([]detops.Box, 0, len(pos)+len(neg)), PosGT: make([]int, len(pos))}
	for k, i := range pos {
		if assigned[i] < 1 {
			panic(fmt.Sprintf("roi: MakeSampled: positive %d is assigned %d", i, assigned[i]))
		}
		s.Boxes = append(s.Boxes, priors[i])
		s.PosGT[k] = assigned[i] - 1
	}
	for _, i := range neg {
		s.Boxes = append(s.Boxes, priors[i])
	}
	return s
}

// RoIs flattens per-image boxes into RoIs tagged with their image index
// (mmdet's bbox2roi); first limits each image to its first first[i] boxes
// when not nil.
func RoIs(boxes [][]detops.Box, first []int) []detops.RoI {
	var out []detops.RoI
	for i, bs := range boxes {
		if first != nil {
			bs = bs[:first[i]]
		}
		for _, b := range bs {
			out = append(out, detops.RoI{Batch: i, Box: b})
		}
	}
	return out
}
