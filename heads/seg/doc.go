// Package seg holds the semantic-segmentation decode heads of dp, as
// mmsegmentation defines them (open-mmlab/mmsegmentation, Apache-2.0,
// mmseg/models/decode_heads):
//
//   - UPerHead: UperNet's head (Xiao et al., "Unified Perceptual Parsing for
//     Scene Understanding", ECCV 2018, https://arxiv.org/abs/1807.10221): a
//     pyramid pooling module (PSPNet, https://arxiv.org/abs/1612.01105) on
//     the coarsest map, an FPN top-down path over the others, all levels
//     fused at the finest resolution.
//   - FCNHead: a stack of 3×3 ConvModules (Long et al., FCN,
//     https://arxiv.org/abs/1411.4038), used as UperNet's auxiliary head.
//   - FPNHead: the head of Semantic FPN (Kirillov et al., "Panoptic Feature
//     Pyramid Networks", CVPR 2019, https://arxiv.org/abs/1901.02446): one
//     scale head per FPN level, each upsampled ×2 per level down to stride 4,
//     summed.
//
// Every head ends in mmseg's cls_seg: channel-wise dropout (Dropout2d) and a
// 1×1 convolution conv_seg to the classes. Parameter names are mmseg's
// state-dict keys (psp_modules.0.1.conv.weight, lateral_convs.0.conv.weight,
// scale_heads.1.0.bn.running_mean, conv_seg.weight, ...), so a trained mmseg
// head loads by name.
//
// The loss is mmseg's: the logits are resized to the label size (bilinear,
// align_corners as configured), then cross-entropy with ignore index 255 and
// optional class weights, averaged over all pixels, ignored ones included
// (mmseg's CrossEntropyLoss with avg_non_ignore=False), times loss_weight.
//
// Heads are built from configs through Registry (type UPerHead, FCNHead or
// FPNHead, options as mmseg's keys); SyncBN norm configs build BatchNorm2d,
// since dp trains in one process.
package seg
