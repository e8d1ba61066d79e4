"""Write PyTorch goldens for dp's segmentation heads into heads/seg/testdata.

Run from the repository root with Debian's PyTorch 1.13 (mmseg is not
needed):

    /usr/bin/python3 tools/reference/golden_seg.py

The heads below re-implement mmsegmentation's UPerHead (with PPM), FPNHead
and FCNHead in plain PyTorch, with the same module names, so their
state_dict keys are mmseg's. Weights and BatchNorm statistics are random.
Each case "<head>" stores, under keys prefixed "<head>/":

  sd/<key>        the head's state_dict (running stats before any forward)
                  without the num_batches_tracked counters
  x0, x1, ...     the input feature maps (N x C_i x H_i x W_i)
  y_eval          logits in eval mode (running statistics)
  labels          an N x H x W label map (uint8, 255 = ignored pixels)
  class_weight    per-class loss weights
  y_train         logits in train mode (batch statistics, dropout 0)
  loss            the mmseg loss: logits resized (bilinear, align_corners
                  False) to the labels' size, cross-entropy with ignore
                  index 255 and class weights, summed and divided by all
                  N*H*W pixels, times loss_weight
  grad_x<i>       d loss / d x_i
  grad/<key>      d loss / d parameter
  running_mean_after/<key>  running means of every BN after the train forward
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st import save  # noqa: E402

OUT = os.path.join("heads", "seg", "testdata")


def resize(x, size, align_corners=False):
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)


class ConvModule(nn.Module):
    """conv (no bias) + BatchNorm2d + ReLU with mmcv's attribute names."""

    def __init__(self, cin, cout, k, padding=0, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=padding, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Head(nn.Module):
    def __init__(self, channels, num_classes, dropout):
        super().__init__()
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.dropout = nn.Dropout2d(dropout)

    def cls_seg(self, x):
        return self.conv_seg(self.dropout(x))


class UPerHead(Head):
    def __init__(self, in_channels, channels, num_classes, pool_scales=(1, 2, 3, 6), dropout=0.0):
        super().__init__(channels, num_classes, dropout)
        self.psp_modules = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvModule(in_channels[-1], channels, 1))
            for s in pool_scales)
        self.bottleneck = ConvModule(in_channels[-1] + len(pool_scales) * channels, channels, 3, padding=1)
        self.lateral_convs = nn.ModuleList(ConvModule(c, channels, 1) for c in in_channels[:-1])
        self.fpn_convs = nn.ModuleList(ConvModule(channels, channels, 3, padding=1) for _ in in_channels[:-1])
        self.fpn_bottleneck = ConvModule(len(in_channels) * channels, channels, 3, padding=1)

    def forward(self, inputs):
        x = inputs[-1]
        psp = [x] + [resize(m(x), x.shape[2:]) for m in self.psp_modules]
        laterals = [l(inputs[i]) for i, l in enumerate(self.lateral_convs)]
        laterals.append(self.bottleneck(torch.cat(psp, 1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals) - 1)]
        outs.append(laterals[-1])
        for i in range(len(outs) - 1, 0, -1):
            outs[i] = resize(outs[i], outs[0].shape[2:])
        return self.cls_seg(self.fpn_bottleneck(torch.cat(outs, 1)))


class Upsample(nn.Module):
    def forward(self, x):
        return resize(x, [2 * s for s in x.shape[2:]])


class FPNHead(Head):
    def __init__(self, in_channels, channels, num_classes, feature_strides, dropout=0.0):
        super().__init__(channels, num_classes, dropout)
        self.scale_heads = nn.ModuleList()
        for i, s in enumerate(feature_strides):
            n = max(1, int(np.log2(s) - np.log2(feature_strides[0])))
            layers = []
            for k in range(n):
                layers.append(ConvModule(in_channels[i] if k == 0 else channels, channels, 3, padding=1))
                if s != feature_strides[0]:
                    layers.append(Upsample())
            self.scale_heads.append(nn.Sequential(*layers))

    def forward(self, inputs):
        out = self.scale_heads[0](inputs[0])
        for i in range(1, len(inputs)):
            out = out + resize(self.scale_heads[i](inputs[i]), out.shape[2:])
        return self.cls_seg(out)


class FCNHead(Head):
    def __init__(self, in_channels, channels, num_classes, num_convs=2, concat_input=True, dropout=0.0):
        super().__init__(channels, num_classes, dropout)
        self.convs = nn.Sequential(*[ConvModule(in_channels if i == 0 else channels, channels, 3, padding=1)
                                     for i in range(num_convs)])
        self.concat_input = concat_input
        if concat_input:
            self.conv_cat = ConvModule(in_channels + channels, channels, 3, padding=1)

    def forward(self, inputs):
        x = inputs[0]
        y = self.convs(x)
        if self.concat_input:
            y = self.conv_cat(torch.cat([x, y], 1))
        return self.cls_seg(y)


def randomize(head):
    for name, t in head.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        if name.endswith("running_var"):
            t.copy_(torch.rand_like(t) + 0.5)
        elif name.endswith("bn.weight"):
            t.copy_(torch.rand_like(t) + 0.5)
        else:
            t.copy_(torch.randn_like(t) * (0.3 if "conv" in name else 0.1))


def seg_loss(logits, labels, weight, loss_weight):
    logits = resize(logits, labels.shape[1:])
    per = F.cross_entropy(logits, labels.long(), weight=weight, reduction="none", ignore_index=255)
    return loss_weight * per.sum() / labels.numel()


def case(store, name, head, shapes, img, num_classes, loss_weight):
    randomize(head)
    for k, v in head.state_dict().items():
        if not k.endswith("num_batches_tracked"):  # 0-d int64: not stored
            store[f"{name}/sd/{k}"] = v.clone()
    xs = [torch.randn(s) for s in shapes]
    for i, x in enumerate(xs):
        store[f"{name}/x{i}"] = x
    head.eval()
    with torch.no_grad():
        store[f"{name}/y_eval"] = head(xs)
    n = shapes[0][0]
    labels = torch.randint(0, num_classes, (n,) + img, dtype=torch.uint8)
    labels[torch.rand(labels.shape) < 0.2] = 255
    weight = torch.rand(num_classes) + 0.5
    store[f"{name}/labels"] = labels
    store[f"{name}/class_weight"] = weight
    head.train()
    leaves = [x.clone().requires_grad_(True) for x in xs]
    y = head(leaves)
    loss = seg_loss(y, labels, weight, loss_weight)
    loss.backward()
    store[f"{name}/y_train"] = y.detach()
    store[f"{name}/loss"] = loss.detach().reshape(1)
    for i, x in enumerate(leaves):
        store[f"{name}/grad_x{i}"] = x.grad
    for k, p in head.named_parameters():
        store[f"{name}/grad/{k}"] = p.grad
    for k, v in head.state_dict().items():
        if k.endswith("running_mean"):
            store[f"{name}/running_mean_after/{k}"] = v.clone()


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    s = {}
    # A 2-image batch of 88x72 pixels: feature maps at strides 4..32 (ceil).
    img = (88, 72)
    strides = [4, 8, 16, 32]
    sizes = [(-(-img[0] // st), -(-img[1] // st)) for st in strides]
    uper_in = [4, 6, 8, 10]
    case(s, "uper", UPerHead(uper_in, 8, 5), [(2, c) + hw for c, hw in zip(uper_in, sizes)], img, 5, 1.0)
    case(s, "fpn", FPNHead([6] * 4, 5, 4, strides), [(2, 6) + hw for hw in sizes], img, 4, 1.0)
    case(s, "fcn", FCNHead(6, 5, 3), [(2, 6) + sizes[2]], img, 3, 0.4)
    save(os.path.join(OUT, "heads.safetensors"), s)


if __name__ == "__main__":
    main()
