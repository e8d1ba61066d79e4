// Package rpn is the region proposal network of two-stage detectors (Faster
// and Mask R-CNN), with mmdet 3.x's RPNHead semantics and defaults:
//
//   - Head: a shared 3×3 conv (rpn_conv) with ReLU, then per level a 1×1
//     objectness conv (rpn_cls, one sigmoid logit per anchor) and a 1×1
//     delta conv (rpn_reg, four deltas per anchor).
//   - Targets: anchors per level, inside-image flags, max-IoU assignment
//     (0.7 / 0.3 / 0.3 with low-quality matches), a random sample of 256
//     anchors half positive, delta-xywh targets with stds 1.
//   - Loss: sigmoid cross-entropy on the sampled anchors and L1 on the
//     positives' deltas, both divided by the number of sampled anchors
//     (mmdet's avg_factor).
//   - Proposals: per level the nms_pre highest scores, decoded and clipped
//     to the image, tiny boxes dropped, NMS per level (batched NMS with the
//     level as the class), max_per_img kept.
//
// Parameter names are mmdet's (rpn_conv.weight, rpn_cls.weight,
// rpn_reg.weight, and their biases), so mmdet checkpoints load by name.
//
// Reference: Ren et al., "Faster R-CNN: Towards Real-Time Object Detection
// with Region Proposal Networks", NeurIPS 2015, https://arxiv.org/abs/1506.01497;
// mmdet's mmdet/models/dense_heads/rpn_head.py and anchor_head.py
// (Apache-2.0).
package rpn
