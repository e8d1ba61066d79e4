package roi

import (
	"fmt"
	"math"

	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/heads/rpn"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// BBoxHead is mmdet's Shared2FCBBoxHead. For 256-channel 7×7 RoI features
// and 80 classes, Forward maps [R, 256, 7, 7] to class logits [R, 81]
// (background last) and deltas [R, 320] (class c at columns 4c..4c+3).
type BBoxHead struct {
	nn.ModuleBase
	SharedFCs *nn.ModuleList // shared_fcs.0, shared_fcs.1
	FCCls     *nn.Linear     // fc_cls
	FCReg     *nn.Linear     // fc_reg

	Coder detops.DeltaXYWHCoder
	opts  BBoxHeadOptions
}

// NewBBoxHead builds the head, initialised as mmdet does: Xavier-uniform
// shared layers, normal fc_cls (std 0.01) and fc_reg (std 0.001), zero
// biases.
func NewBBoxHead(o BBoxHeadOptions) (*BBoxHead, error) {
	switch {
	case o.Type != "Shared2FCBBoxHead":
		return nil, fmt.Errorf("roi: bbox_head type %q (want Shared2FCBBoxHead)", o.Type)
	case o.InChannels < 1 || o.RoIFeatSize < 1 || o.FCOutChannels < 1:
		return nil, fmt.Errorf("roi: bbox_head in_channels %d, roi_feat_size %d, fc_out_channels %d (want >= 1)", o.InChannels, o.RoIFeatSize, o.FCOutChannels)
	case o.NumClasses < 1:
		return nil, fmt.Errorf("roi: bbox_head num_classes %d (want >= 1)", o.NumClasses)
	case o.BBoxCoder.Type != "DeltaXYWHBBoxCoder":
		return nil, fmt.Errorf("roi: bbox_head bbox_coder type %q (want DeltaXYWHBBoxCoder)", o.BBoxCoder.Type)
	case o.LossCls.Type != "CrossEntropyLoss" || o.LossCls.UseSigmoid:
		return nil, fmt.Errorf("roi: bbox_head loss_cls %s with use_sigmoid %v (want CrossEntropyLoss with use_sigmoid false)", o.LossCls.Type, o.LossCls.UseSigmoid)
	}
	if err := rpn.CheckRegLoss("roi", "bbox_head loss_bbox", o.LossBBox); err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(o.Seed)
	h := &BBoxHead{Coder: o.BBoxCoder.DeltaXYWHCoder, opts: o}
	in := o.InChannels * o.RoIFeatSize * o.RoIFeatSize
	fc0 := nn.NewLinear(in, o.FCOutChannels, rng, nn.LinearOptions{})
	fc1 := nn.NewLinear(o.FCOutChannels, o.FCOutChannels, rng, nn.LinearOptions{})
	for _, fc := range []*nn.Linear{fc0, fc1} {
		nn.XavierUniform(fc.Weight.Value, rng, 1)
		fc.Bias.Value.Zero()
	}
	h.SharedFCs = nn.NewModuleList(fc0, fc1)
	nreg := 4 * o.NumClasses
	if o.RegClassAgnostic {
		nreg = 4
	}
	h.FCCls = nn.NewLinear(o.FCOutChannels, o.NumClasses+1, rng, nn.LinearOptions{})
	h.FCReg = nn.NewLinear(o.FCOutChannels, nreg, rng, nn.LinearOptions{})
	rng.FillNormal(h.FCCls.Weight.Value, 0, 0.01)
	rng.FillNormal(h.FCReg.Weight.Value, 0, 0.001)
	h.FCCls.Bias.Value.Zero()
	h.FCReg.Bias.Value.Zero()
	h.RegisterModule("shared_fcs", h.SharedFCs)
	h.RegisterModule("fc_cls", h.FCCls)
	h.RegisterModule("fc_reg", h.FCReg)
	return h, nil
}

// NumClasses returns the number of foreground classes.
func (h *BBoxHead) NumClasses() int { return h.opts.NumClasses }

// Forward maps RoI features [R, C, S, S] to logits [R, C+1] and deltas.
func (h *BBoxHead) Forward(x *nn.Var) (cls, reg *nn.Var) {
	x = nn.Flatten(x, 1, -1)
	for _, m := range h.SharedFCs.Items {
		x = nn.ReLU(m.(*nn.Linear).Forward(x))
	}
	return h.FCCls.Forward(x), h.FCReg.Forward(x)
}

// BBoxTargets are the classification and regression targets of a batch's
// sampled RoIs, in RoI order: Labels (background = NumClasses),
// LabelWeights, and Deltas / DeltaWeights laid out like the regression
// output (the gt class's four columns of a positive RoI are set).
type BBoxTargets struct {
	Labels       []int
	LabelWeights []float32
	Deltas       *tensor.Tensor
	DeltaWeights *tensor.Tensor
}

// Targets computes the targets of the sampled RoIs of each image, as
// mmdet's BBoxHead.get_targets (concatenated over images).
func (h *BBoxHead) Targets(samples []Sampled, gts []GT, posWeight float64) BBoxTargets {
	nc := h.opts.NumClasses
	ncol := h.FCReg.Weight.Shape()[0]
	total := 0
	for _, s := range samples {
		total += len(s.Boxes)
	}
	t := BBoxTargets{Labels: make([]int, 0, total), LabelWeights: make([]float32, 0, total),
		Deltas: tensor.New(total, ncol), DeltaWeights: tensor.New(total, ncol)}
	pw := float32(1)
	if posWeight > 0 {
		pw = float32(posWeight)
	}
	row := 0
	for i, s := range samples {
		for k, b := range s.Boxes {
			if k >= s.NumPos {
				t.Labels = append(t.Labels, nc)
				t.LabelWeights = append(t.LabelWeights, 1)
				row++
				continue
			}
			g := s.PosGT[k]
			label := gts[i].Labels[g]
			t.Labels = append(t.Labels, label)
			t.LabelWeights = append(t.LabelWeights, pw)
			d := h.Coder.Encode(b, gts[i].Boxes[g])
			col := 4 * label
			if h.opts.RegClassAgnostic {
				col = 0
			}
			for c := 0; c < 4; c++ {
				t.Deltas.Data()[row*ncol+col+c] = d[c]
				t.DeltaWeights.Data()[row*ncol+col+c] = 1
			}
			row++
		}
	}
	return t
}

// avgEps is mmdet's guard on loss divisors (torch.finfo(float32).eps).
const avgEps = 1.1920928955078125e-07

// Loss returns the classification loss (softmax cross-entropy summed over
// the RoIs with their weights, divided by the number of RoIs with a
// positive weight) and the regression loss (summed over the positives'
// deltas, divided by the number of RoIs), times the loss weights, as
// mmdet's BBoxHead.loss.
func (h *BBoxHead) Loss(cls, reg *nn.Var, t BBoxTargets) (lossCls, lossBox *nn.Var) {
	tp := cls.Tape()
	n := len(t.Labels)
	ce := nn.CrossEntropy(cls, t.Labels, nn.CrossEntropyOptions{Reduction: nn.ReductionNone})
	ce = nn.Mul(ce, tp.Input(tensor.FromData(t.LabelWeights, n)))
	nw := 0
	for _, w := range t.LabelWeights {
		if w > 0 {
			nw++
		}
	}
	lossCls = nn.Scale(nn.SumAll(ce), float32(h.opts.LossCls.LossWeight/(math.Max(float64(nw), 1)+avgEps)))
	lossBox = nn.Scale(rpn.RegLoss(reg, t.Deltas, t.DeltaWeights, h.opts.LossBBox), float32(h.opts.LossBBox.LossWeight/(float64(n)+avgEps)))
	return lossCls, lossBox
}

// Accuracy returns the percentage of rows of cls [R, K] whose highest
// logit is at their label (the first maximum wins, as torch.topk), 0 for
// no rows.
func Accuracy(cls *nn.Var, labels []int) float64 {
	k := cls.Shape()[1]
	d := cls.Data()
	if len(labels) == 0 {
		return 0
	}
	correct := 0
	for i, y := range labels {
		row := d[i*k : (i+1)*k]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		if best == y {
			correct++
		}
	}
	return 100 * float64(correct) / float64(len(labels))
}

// Detections are one image's final boxes, scores and 0-based labels, in
// decreasing score order.
type Detections struct {
	Boxes  []detops.Box
	Scores []float32
	Labels []int
	// Masks are the instance masks as RLE of the original image, parallel
	// to Boxes; nil without a mask branch.
	Masks []mask.RLE
}

// Predict turns the head's outputs for each image's RoIs (counts[i] rows
// of cls and reg belong to image i, in order, with boxes rois[i]) into
// detections, as mmdet's BBoxHead._predict_by_feat_single with
// multiclass_nms: softmax scores, per-class decoding clipped to the
// unpadded image (imgShapes are (height, width)), then, when scale is not
// nil, the boxes divided by scale[i] = (w_scale, h_scale), then scores
// above o.ScoreThr, per-class NMS and the o.MaxPerImg best.
func (h *BBoxHead) Predict(cls, reg *nn.Var, rois [][]detops.Box, imgShapes [][2]int, scale [][2]float64, o TestOptions) []Detections {
	nc := h.opts.NumClasses
	ncol := h.FCReg.Weight.Shape()[0]
	probs := nn.Softmax(cls, 1).Data()
	rd := reg.Data()
	out := make([]Detections, len(rois))
	row := 0
	for i, bs := range rois {
		var boxes []detops.Box
		var scores []float32
		var labels []int
		H, W := float32(imgShapes[i][0]), float32(imgShapes[i][1])
		for _, b := range bs {
			p := probs[row*(nc+1) : (row+1)*(nc+1)]
			for c := 0; c < nc; c++ {
				if float64(p[c]) <= o.ScoreThr {
					continue
				}
				col := 4 * c
				if h.opts.RegClassAgnostic {
					col = 0
				}
				var d [4]float32
				copy(d[:], rd[row*ncol+col:row*ncol+col+4])
				box := h.Coder.Decode(b, d, W, H)
				if scale != nil {
					sw, sh := float32(1/scale[i][0]), float32(1/scale[i][1])
					box = detops.Box{box[0] * sw, box[1] * sh, box[2] * sw, box[3] * sh}
				}
				boxes = append(boxes, box)
				scores = append(scores, p[c])
				labels = append(labels, c)
			}
			row++
		}
		keep := detops.BatchedNMS(boxes, scores, labels, float32(o.NMS.IoUThreshold))
		if len(keep) > o.MaxPerImg {
			keep = keep[:o.MaxPerImg]
		}
		d := Detections{Boxes: make([]detops.Box, len(keep)), Scores: make([]float32, len(keep)), Labels: make([]int, len(keep))}
		for k, j := range keep {
			d.Boxes[k], d.Scores[k], d.Labels[k] = boxes[j], scores[j], labels[j]
		}
		out[i] = d
	}
	return out
}
