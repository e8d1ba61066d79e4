package rpn

import (
	"fmt"
	"math"

	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// GT is one image's ground truth as the RPN sees it: class-free boxes, and
// regions (crowds) whose anchors the assigner may ignore.
type GT struct {
	Boxes  []detops.Box
	Ignore []detops.Box
}

// Sample is one image's sampled anchors: indices into the image's anchors
// concatenated over levels (level-major, then mmdet's position-major,
// anchor-minor order), and for each positive the index of its gt box.
type Sample struct {
	Pos   []int
	PosGT []int
	Neg   []int
}

// Targets are a batch's training targets laid out as the head's outputs,
// one tensor per level: Labels and LabelWeights [N, A, H, W] (label 1 for a
// positive anchor, weight 1 for a sampled one), BoxTargets and BoxWeights
// [N, 4A, H, W] (encoded deltas and weight 1 for positives). AvgFactor is
// mmdet's divisor: over the images, max(#pos, 1) + max(#neg, 1).
type Targets struct {
	Labels, LabelWeights   []*tensor.Tensor
	BoxTargets, BoxWeights []*tensor.Tensor
	AvgFactor              float64
}

// ImageAnchors returns the anchors of one image over all levels of the
// given (H, W) sizes, concatenated in level order, and whether each may be
// a training target: its position lies inside the unpadded image of
// imgShape (height, width), and with allowedBorder >= 0 the anchor crosses
// the border by at most that many pixels (mmdet's anchor_inside_flags).
func (h *Head) ImageAnchors(sizes [][2]int, imgShape [2]int, allowedBorder float64) ([]detops.Box, []bool) {
	var anchors []detops.Box
	var valid []bool
	for l, s := range sizes {
		anchors = append(anchors, h.Anchors.GridAnchors(l, s[0], s[1])...)
		valid = append(valid, h.Anchors.ValidFlags(l, s[0], s[1], imgShape[0], imgShape[1])...)
	}
	if allowedBorder >= 0 {
		b := float32(allowedBorder)
		ih, iw := float32(imgShape[0]), float32(imgShape[1])
		for i, a := range anchors {
			valid[i] = valid[i] && a[0] >= -b && a[1] >= -b && a[2] < iw+b && a[3] < ih+b
		}
	}
	return anchors, valid
}

// SampleAnchors assigns the valid anchors to gt with the max-IoU assigner
// and draws the random sample that trains the RPN, as mmdet's
// AnchorHead._get_targets_single.
func SampleAnchors(anchors []detops.Box, valid []bool, gt GT, o TrainOptions, rng *tensor.RNG) Sample {
	idx := make([]int, 0, len(anchors))
	inside := make([]detops.Box, 0, len(anchors))
	for i, v := range valid {
		if v {
			idx = append(idx, i)
			inside = append(inside, anchors[i])
		}
	}
	a := detops.AssignMaxIoU(inside, gt.Boxes, gt.Ignore, o.Assigner.MaxIoUOptions)
	pos, neg := detops.SampleRandom(a.GT, o.Sampler.SamplerOptions, rng)
	s := Sample{Pos: make([]int, len(pos)), PosGT: make([]int, len(pos)), Neg: make([]int, len(neg))}
	for k, j := range pos {
		s.Pos[k], s.PosGT[k] = idx[j], a.GT[j]-1
	}
	for k, j := range neg {
		s.Neg[k] = idx[j]
	}
	return s
}

// BuildTargets lays the samples of a batch out as Targets for maps of the
// given level sizes; anchors[i] and gts[i] are image i's anchors (as
// ImageAnchors returns them) and ground truth. The tensors come from tp's
// pool and are given back with it (a nil tp allocates).
func (h *Head) BuildTargets(tp *nn.Tape, sizes [][2]int, anchors [][]detops.Box, samples []Sample, gts []GT, posWeight float64) Targets {
	n, na := len(samples), h.Anchors.NumBaseAnchors()
	var t Targets
	offsets := make([]int, len(sizes)+1)
	for l, s := range sizes {
		t.Labels = append(t.Labels, tp.NewTensor(n, na, s[0], s[1]))
		t.LabelWeights = append(t.LabelWeights, tp.NewTensor(n, na, s[0], s[1]))
		t.BoxTargets = append(t.BoxTargets, tp.NewTensor(n, 4*na, s[0], s[1]))
		t.BoxWeights = append(t.BoxWeights, tp.NewTensor(n, 4*na, s[0], s[1]))
		offsets[l+1] = offsets[l] + s[0]*s[1]*na
	}
	// locate maps an image's anchor index to its level and the offsets of
	// its label and first delta in that level's tensors.
	locate := func(img, k int) (l, lab, box, stride int) {
		for l = 0; k >= offsets[l+1]; l++ {
		}
		k -= offsets[l]
		hw := sizes[l][0] * sizes[l][1]
		p, a := k/na, k%na
		return l, (img*na+a)*hw + p, (img*4*na+4*a)*hw + p, hw
	}
	pw := float32(1)
	if posWeight > 0 {
		pw = float32(posWeight)
	}
	for i, s := range samples {
		for k, j := range s.Pos {
			l, lab, box, hw := locate(i, j)
			t.Labels[l].Data()[lab] = 1
			t.LabelWeights[l].Data()[lab] = pw
			d := h.Coder.Encode(anchors[i][j], gts[i].Boxes[s.PosGT[k]])
			for c := 0; c < 4; c++ {
				t.BoxTargets[l].Data()[box+c*hw] = d[c]
				t.BoxWeights[l].Data()[box+c*hw] = 1
			}
		}
		for _, j := range s.Neg {
			l, lab, _, _ := locate(i, j)
			t.LabelWeights[l].Data()[lab] = 1
		}
		t.AvgFactor += float64(max(len(s.Pos), 1) + max(len(s.Neg), 1))
	}
	return t
}

// Targets computes the training targets of a batch: anchors, assignment
// and sampling per image (imgShapes are the unpadded (height, width)). The
// tensors belong to the outputs' tape.
func (h *Head) Targets(cls []*nn.Var, imgShapes [][2]int, gts []GT, o TrainOptions, rng *tensor.RNG) Targets {
	sizes := h.levelSizes(cls)
	if len(imgShapes) != len(gts) || (len(cls) > 0 && cls[0].Shape()[0] != len(gts)) {
		panic(fmt.Sprintf("rpn: Targets: %d image shapes and %d ground truths for a batch of %v", len(imgShapes), len(gts), cls[0].Shape()))
	}
	anchors := make([][]detops.Box, len(gts))
	samples := make([]Sample, len(gts))
	for i := range gts {
		var valid []bool
		anchors[i], valid = h.ImageAnchors(sizes, imgShapes[i], o.AllowedBorder)
		samples[i] = SampleAnchors(anchors[i], valid, gts[i], o, rng)
	}
	return h.BuildTargets(cls[0].Tape(), sizes, anchors, samples, gts, o.PosWeight)
}

// avgEps is mmdet's guard on the divisor (torch.finfo(float32).eps).
const avgEps = 1.1920928955078125e-07

// Loss returns the objectness loss (sigmoid cross-entropy over the sampled
// anchors) and the regression loss (over the positives' deltas), each
// summed over levels and anchors and divided by t.AvgFactor, times the
// configured loss weights, as mmdet's AnchorHead.loss_by_feat.
func (h *Head) Loss(cls, reg []*nn.Var, t Targets) (lossCls, lossBox *nn.Var) {
	if len(cls) != len(t.Labels) || len(reg) != len(t.BoxTargets) {
		panic(fmt.Sprintf("rpn: Loss: %d and %d levels for targets of %d", len(cls), len(reg), len(t.Labels)))
	}
	tp := cls[0].Tape()
	var lc, lb []*nn.Var
	for l := range cls {
		lc = append(lc, nn.BinaryCrossEntropyWithLogits(cls[l], tp.Input(t.Labels[l]),
			nn.BCEOptions{Weight: t.LabelWeights[l], Reduction: nn.ReductionSum}))
		lb = append(lb, RegLoss(reg[l], t.BoxTargets[l], t.BoxWeights[l], h.opts.LossBBox))
	}
	div := t.AvgFactor + avgEps
	lossCls = nn.Scale(nn.AddN(lc...), float32(h.opts.LossCls.LossWeight/div))
	lossBox = nn.Scale(nn.AddN(lb...), float32(h.opts.LossBBox.LossWeight/div))
	return lossCls, lossBox
}

// RegLoss returns Σ w·ℓ(pred - target) for the L1 or smooth-L1 loss o
// names, where the weights w are 0 or 1 and target is 0 wherever w is.
// The loss weight is not applied.
func RegLoss(pred *nn.Var, target, weight *tensor.Tensor, o LossOptions) *nn.Var {
	tp := pred.Tape()
	masked := nn.Mul(pred, tp.Input(weight))
	beta := 0.0
	if o.Type == "SmoothL1Loss" {
		beta = o.Beta
	}
	return nn.SmoothL1Loss(masked, tp.Input(target), beta, nn.ReductionSum)
}

// sigmoid32 is the logistic function rounded to float32.
func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
