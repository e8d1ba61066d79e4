// Package snnmlp implements SNN-MLP, the MLP backbone whose token mixer is a
// pair of leaky integrate-and-fire neurons scanning along H and along W.
//
// Paper: Wenshuo Li, Hanting Chen, Jianyuan Guo, Ziyang Zhang, Yunhe Wang,
// "Brain-inspired Multilayer Perceptron with Spiking Neurons", CVPR 2022,
// https://arxiv.org/abs/2203.14679.
//
// Code and weights: huawei-noah/Efficient-AI-Backbones, snnmlp_pytorch/
// (https://github.com/huawei-noah/Efficient-AI-Backbones), Apache License
// 2.0, Copyright (c) 2022 Huawei Technologies Co., Ltd. The released
// ImageNet-1k weights snnmlp_{tiny_81.88,small_83.30,base_83.59}.pt are
// plain state_dicts whose keys equal this package's parameter names.
//
// The network is channels-first from start to finish: every projection is a
// 1×1 convolution and every norm is GroupNorm(1, C), which normalises each
// sample over C×H×W. A block is
//
//	x = x + LIFModule(GroupNorm(x))
//	x = x + Mlp(GroupNorm(x))
//
// and the LIF module is conv1 → GN → GELU → depthwise 3×3 → GN → GELU, then
// the same tensor through lif1 (along H) → conv2_1 → GELU and lif2 (along
// W) → conv2_2 → GELU, summed, GN, conv3. Stages of depths d_i at widths
// C·2^i are joined by Swin-style patch merging.
//
// For dense prediction there is no official code; the package follows the
// AS-MLP dense-prediction backbone, from which SNN-MLP's code derives: the
// input is padded on the right and bottom to a multiple of the patch size,
// odd sizes are padded by one zero row or column at patch merging, each
// stage's output is taken before merging (strides 4, 8, 16, 32) and, with
// out_norms, passes through its own GroupNorm(1, C_i) named norm{i}.
// Classification (dense: false) keeps the official unpadded behaviour.
//
// Importing the package registers the backbone as "SNNMLP" in
// backbone.Registry.
package snnmlp
