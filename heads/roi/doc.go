// Package roi holds the second stage of Faster and Mask R-CNN with mmdet
// 3.x's StandardRoIHead semantics and defaults:
//
//   - Extractor (SingleRoIExtractor): each RoI is mapped to an FPN level by
//     its scale (finest_scale 56) and pooled with RoIAlign (7×7 for boxes,
//     14×14 for masks, adaptive sampling, aligned).
//   - BBoxHead (Shared2FCBBoxHead): flatten, two 1024-wide fully connected
//     layers with ReLU (shared_fcs), then fc_cls (C+1 logits, background
//     last) and fc_reg (4 deltas per class, stds [0.1, 0.1, 0.2, 0.2]);
//     softmax cross-entropy over the sampled RoIs and L1 on the positives'
//     deltas of their class, both divided by the number of sampled RoIs.
//   - MaskHead (FCNMaskHead): four 3×3 convs (256, ReLU), a 2× deconv with
//     ReLU (upsample), and a 1×1 conv to one 28×28 mask per class
//     (conv_logits); per-pixel sigmoid cross-entropy on the gt class's
//     channel against the gt mask cropped to the RoI and resized to 28×28.
//   - Sampling: max-IoU assignment (0.5 / 0.5 / 0.5), gt boxes added as
//     proposals, 512 RoIs of which at most a quarter positive.
//   - Test: softmax scores, per-class decoding and clipping, score
//     threshold 0.05, per-class NMS 0.5, 100 detections; each mask is the
//     sigmoid of its class's channel pasted into the image by bilinear
//     sampling (mmdet's _do_paste_mask) and thresholded at 0.5.
//
// Parameter names are mmdet's (bbox_head.shared_fcs.0.weight,
// bbox_head.fc_cls.weight, mask_head.convs.0.conv.weight,
// mask_head.upsample.weight, mask_head.conv_logits.weight, ...).
//
// References: Girshick, "Fast R-CNN", ICCV 2015; He et al., "Mask R-CNN",
// ICCV 2017, https://arxiv.org/abs/1703.06870; mmdet's
// mmdet/models/roi_heads (Apache-2.0).
package roi
