package roi

import (
	"fmt"

	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Head is mmdet's StandardRoIHead: a box branch and, for Mask R-CNN, a mask
// branch, each with its own RoI extractor. Its children are registered as
// "bbox_head" and "mask_head" (the extractors have no parameters).
type Head struct {
	nn.ModuleBase
	BBoxExtractor *Extractor
	BBox          *BBoxHead
	MaskExtractor *Extractor // nil without masks
	Mask          *MaskHead  // nil without masks
}

// New builds the RoI head over neck maps of the given strides and channel
// count, filling in_channels, out_channels, roi_feat_size and the
// extractors' strides where the options leave them 0 or empty.
func New(o HeadOptions, strides []int, channels int) (*Head, error) {
	if o.Type != "StandardRoIHead" {
		return nil, fmt.Errorf("roi: roi_head type %q (want StandardRoIHead)", o.Type)
	}
	if (o.MaskHead == nil) != (o.MaskRoIExtractor == nil) {
		return nil, fmt.Errorf("roi: roi_head needs both mask_roi_extractor and mask_head, or neither")
	}
	h := &Head{}
	var err error
	if h.BBoxExtractor, err = NewExtractor(o.BBoxRoIExtractor, strides, channels, "bbox_roi_extractor"); err != nil {
		return nil, err
	}
	bo := o.BBoxHead
	if bo.InChannels == 0 {
		bo.InChannels = h.BBoxExtractor.Channels()
	}
	if bo.RoIFeatSize == 0 {
		bo.RoIFeatSize = h.BBoxExtractor.OutputSize()
	}
	if bo.InChannels != h.BBoxExtractor.Channels() || bo.RoIFeatSize != h.BBoxExtractor.OutputSize() {
		return nil, fmt.Errorf("roi: bbox_head in_channels %d and roi_feat_size %d, but the extractor gives %d×%d×%d",
			bo.InChannels, bo.RoIFeatSize, h.BBoxExtractor.Channels(), h.BBoxExtractor.OutputSize(), h.BBoxExtractor.OutputSize())
	}
	if h.BBox, err = NewBBoxHead(bo); err != nil {
		return nil, err
	}
	h.RegisterModule("bbox_head", h.BBox)
	if o.MaskHead == nil {
		return h, nil
	}
	if h.MaskExtractor, err = NewExtractor(*o.MaskRoIExtractor, strides, channels, "mask_roi_extractor"); err != nil {
		return nil, err
	}
	mo := *o.MaskHead
	if mo.InChannels == 0 {
		mo.InChannels = h.MaskExtractor.Channels()
	}
	if mo.InChannels != h.MaskExtractor.Channels() {
		return nil, fmt.Errorf("roi: mask_head in_channels %d, but the extractor gives %d", mo.InChannels, h.MaskExtractor.Channels())
	}
	if !mo.ClassAgnostic && mo.NumClasses != bo.NumClasses {
		return nil, fmt.Errorf("roi: mask_head num_classes %d differs from bbox_head's %d", mo.NumClasses, bo.NumClasses)
	}
	if h.Mask, err = NewMaskHead(mo); err != nil {
		return nil, err
	}
	h.RegisterModule("mask_head", h.Mask)
	return h, nil
}

// Losses are the RoI head's loss terms (Mask nil without masks) and, for
// logging, the classification accuracy of the sampled RoIs in percent
// (mmdet's "acc").
type Losses struct {
	Cls, BBox, Mask *nn.Var
	Acc             float64
}

// Loss samples RoIs from each image's proposals and returns the box
// branch's losses and, with masks, the mask loss; padW and padH bound the
// boxes when mask targets are cropped (the batch's padded size).
func (h *Head) Loss(feats []*nn.Var, proposals [][]detops.Box, gts []GT, padW, padH int, o TrainOptions, rng *tensor.RNG) Losses {
	if len(proposals) != len(gts) {
		panic(fmt.Sprintf("roi: Loss: %d proposal lists for %d images", len(proposals), len(gts)))
	}
	samples := make([]Sampled, len(gts))
	boxes := make([][]detops.Box, len(gts))
	numPos := make([]int, len(gts))
	for i := range gts {
		samples[i] = SampleRoIs(proposals[i], gts[i], o, rng)
		boxes[i], numPos[i] = samples[i].Boxes, samples[i].NumPos
	}
	x := h.BBoxExtractor.Extract(feats, RoIs(boxes, nil))
	cls, reg := h.BBox.Forward(x)
	var l Losses
	t := h.BBox.Targets(samples, gts, o.PosWeight)
	l.Cls, l.BBox = h.BBox.Loss(cls, reg, t)
	l.Acc = Accuracy(cls, t.Labels)
	if h.Mask == nil {
		return l
	}
	pos := RoIs(boxes, numPos)
	if len(pos) == 0 {
		l.Mask = nn.Scale(nn.SumAll(cls), 0)
		return l
	}
	logits := h.Mask.Forward(h.MaskExtractor.Extract(feats, pos))
	size := logits.Shape()[2]
	if o.MaskSize != 0 && o.MaskSize != size {
		panic(fmt.Sprintf("roi: mask_size %d, but the mask head predicts %d×%d", o.MaskSize, size, size))
	}
	targets := tensor.New(len(pos), size, size)
	var labels []int
	off := 0
	for i, s := range samples {
		t := MaskTargets(s.Boxes[:s.NumPos], s.PosGT, gts[i].Masks, padW, padH, size)
		copy(targets.Data()[off:], t.Data())
		off += t.Len()
		for _, g := range s.PosGT {
			labels = append(labels, gts[i].Labels[g])
		}
	}
	l.Mask = h.Mask.Loss(logits, targets, labels)
	return l
}

// ImageMeta is what prediction needs to know of an image: its size in the
// network input (unpadded) and originally, both (height, width), and the
// scale (w_scale, h_scale) from the original to the input.
type ImageMeta struct {
	ImgShape    [2]int
	OriShape    [2]int
	ScaleFactor [2]float64
}

// Predict returns each image's detections in original-image coordinates
// and, with masks, their masks as RLE of the original size, as mmdet's
// StandardRoIHead.predict with rescale: for Faster R-CNN the boxes are
// rescaled before NMS; for Mask R-CNN NMS runs in input coordinates, the
// masks are predicted on those boxes, then boxes are rescaled and the
// masks pasted at the original size.
func (h *Head) Predict(feats []*nn.Var, proposals [][]detops.Box, metas []ImageMeta, o TestOptions) []Detections {
	shapes := make([][2]int, len(metas))
	scales := make([][2]float64, len(metas))
	for i, m := range metas {
		shapes[i], scales[i] = m.ImgShape, m.ScaleFactor
	}
	rois := RoIs(proposals, nil)
	if len(rois) == 0 {
		return make([]Detections, len(metas))
	}
	cls, reg := h.BBox.Forward(h.BBoxExtractor.Extract(feats, rois))
	if h.Mask == nil {
		return h.BBox.Predict(cls, reg, proposals, shapes, scales, o)
	}
	dets := h.BBox.Predict(cls, reg, proposals, shapes, nil, o)
	boxes := make([][]detops.Box, len(dets))
	var labels []int
	for i, d := range dets {
		boxes[i] = d.Boxes
		labels = append(labels, d.Labels...)
	}
	mrois := RoIs(boxes, nil)
	var probs []float32
	size := 0
	if len(mrois) > 0 {
		logits := h.Mask.Forward(h.MaskExtractor.Extract(feats, mrois))
		size = logits.Shape()[2]
		probs = nn.Sigmoid(selectChannels(logits, h.Mask.channels(labels))).Data()
	}
	row := 0
	for i := range dets {
		d := &dets[i]
		oh, ow := metas[i].OriShape[0], metas[i].OriShape[1]
		sw, sh := float32(scales[i][0]), float32(scales[i][1])
		d.Masks = make([]mask.RLE, len(d.Boxes))
		for k, b := range d.Boxes {
			b = detops.Box{b[0] / sw, b[1] / sh, b[2] / sw, b[3] / sh}
			d.Boxes[k] = b
			p := probs[row*size*size : (row+1)*size*size]
			d.Masks[k] = PasteMaskRLE(p, size, b, oh, ow, float32(o.MaskThrBinary))
			row++
		}
	}
	return dets
}
