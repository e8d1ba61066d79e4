// Package resnet implements the ResNet backbones (ResNet-18/34/50/101/152)
// with the parameter names of torchvision's models, for detection and
// segmentation.
//
// Paper: Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun, "Deep Residual
// Learning for Image Recognition", CVPR 2016, https://arxiv.org/abs/1512.03385.
//
// Code and weights: pytorch/vision, torchvision/models/resnet.py
// (https://github.com/pytorch/vision), BSD 3-Clause licence; the ImageNet
// weights (resnet18-f37072fd.pth, resnet50-0676ba61.pth, ...) are plain
// state_dicts whose keys equal this package's parameter names, so they load
// by name with init.checkpoint, fc.weight and fc.bias being reported as
// unexpected. The detection options (out_indices, frozen_stages, norm_eval,
// style, base_channels, stage_blocks) follow open-mmlab/mmdetection's
// mmdet/models/backbones/resnet.py, Apache License 2.0.
//
// The network is the stem (7×7 stride-2 conv, BatchNorm, ReLU, 3×3
// stride-2 max pool) and four stages of residual blocks of widths
// b, 2b, 4b, 8b (b = base_channels, 64); a stage after the first halves the
// resolution in its first block, so the stages' outputs have strides 4, 8,
// 16 and 32. ResNet-18 and -34 use BasicBlock (two 3×3 convs), the deeper
// ones Bottleneck (1×1, 3×3, 1×1 with 4× expansion); in the default
// "pytorch" style the stride sits on the 3×3 conv, as torchvision's ResNet
// V1.5, while "caffe" puts it on the first 1×1 conv.
//
// For detection, mmdet's defaults apply: frozen_stages 1 freezes the stem
// and the first stage (no gradients, BatchNorm statistics frozen) and
// norm_eval keeps every BatchNorm on its running statistics while its
// weight and bias still train.
//
// Importing the package registers the backbone as "ResNet" in
// backbone.Registry.
package resnet
