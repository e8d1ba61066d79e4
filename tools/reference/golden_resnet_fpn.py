"""Parity goldens for dp's ResNet backbone and FPN neck.

Run from the repository root: /usr/bin/python3 tools/reference/golden_resnet_fpn.py

ResNet (backbone/resnet/testdata/resnet_golden.safetensors). torchvision's
ResNet class hard-codes the widths 64..512, which makes even ResNet-18 47 MB
of weights; the networks here subclass it and call its own _make_layer with
torchvision's BasicBlock and Bottleneck, changing only the base width (mmdet's
base_channels), so the layers, the block code and the state-dict names are
torchvision's:
  r18.*  BasicBlock [2,2,2,2], base width 4, evaluation mode (dp's
         norm_eval), input 2x3x61x90: r18.x, r18.out{0..3}. Its weights are
         backbone/resnet/testdata/resnet18_w4.pth, saved as torchvision's
         files are (torch.save of the state_dict, with a 10-class fc head).
  r50.*  Bottleneck, stage_blocks [1,1,1,1], base width 4, input 2x3x45x66,
         weights r50.param.<key>, and two training-mode runs with the
         upstream gradient r50.g{i} on out{i}, i.e. the loss sum_i
         sum(out_i * g_i):
           r50.train.*    every BatchNorm on batch statistics (norm_eval
                          false): out{i}, grad.x, grad.<param>, and the
                          running statistics after the step
                          (running.<key>);
           r50.frozen1.*  mmdet's frozen_stages=1 with norm_eval false: stem
                          and layer1 in eval mode without gradients, the rest
                          training: out{i}, grad.x, grad.<param> (trainable
                          ones only).
backbone/resnet/testdata/resnet50_keys.json: the state-dict keys and shapes of
torchvision.models.resnet50() in order (no weights).

FPN (necks/testdata/fpn_golden.safetensors): mmdet 3.x FPN
(mmdet/models/necks/fpn.py) restated below with ConvModule as a plain conv
(no norm, no activation) under ".conv", xavier-uniform weights and random
biases. For each case C: C.x{i} inputs, C.param.<key>, C.y{i} outputs,
C.g{i} upstream gradients, C.grad.x{i} and C.grad.<key> gradients of
sum_i sum(y_i * g_i). Cases are listed in FPN_CASES.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models.resnet as tvr

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
RESNET_DIR = os.path.join(ROOT, "backbone", "resnet", "testdata")


class SmallResNet(tvr.ResNet):
    """torchvision's ResNet with a base width other than 64 and no head."""

    def __init__(self, block, layers, base):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = base
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=2)

    def stages(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs


def randomize(model, gen):
    """Random weights and running statistics, so every path matters."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if t.dim() == 4:
                fan_in = t.shape[1] * t.shape[2] * t.shape[3]
                t.copy_(torch.randn(t.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif name.endswith("running_var") or name.endswith("weight"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            else:
                t.copy_(0.1 * torch.randn(t.shape, generator=gen))


def state(prefix, model):
    # num_batches_tracked is left out: st.save would store the 0-d tensor
    # as shape [1], and nothing reads it.
    return {f"{prefix}.param.{k}": v.clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def resnet_goldens(gen):
    out = {}
    r18 = SmallResNet(tvr.BasicBlock, [2, 2, 2, 2], 4)
    r18.fc = nn.Linear(32, 10)
    randomize(r18, gen)
    for m in r18.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(12345)  # an int64 0-d tensor in the file
    r18.eval()
    x = torch.randn(2, 3, 61, 90, generator=gen)
    torch.save(r18.state_dict(), os.path.join(RESNET_DIR, "resnet18_w4.pth"))
    out["r18.x"] = x
    with torch.no_grad():
        for i, y in enumerate(r18.stages(x)):
            out[f"r18.out{i}"] = y

    r50 = SmallResNet(tvr.Bottleneck, [1, 1, 1, 1], 4)
    randomize(r50, gen)
    out.update(state("r50", r50))
    x = torch.randn(2, 3, 45, 66, generator=gen)
    out["r50.x"] = x
    gs = None
    for case in ("train", "frozen1"):
        m = SmallResNet(tvr.Bottleneck, [1, 1, 1, 1], 4)
        m.load_state_dict(r50.state_dict())
        m.train()
        if case == "frozen1":
            # mmdet ResNet._freeze_stages with frozen_stages=1.
            for mod in (m.conv1, m.bn1, m.layer1):
                mod.eval()
                for p in mod.parameters():
                    p.requires_grad = False
        xi = x.clone().requires_grad_(True)
        ys = m.stages(xi)
        if gs is None:
            gs = [torch.randn(y.shape, generator=gen) for y in ys]
            for i, g in enumerate(gs):
                out[f"r50.g{i}"] = g
        loss = sum((y * g).sum() for y, g in zip(ys, gs))
        loss.backward()
        for i, y in enumerate(ys):
            out[f"r50.{case}.out{i}"] = y.detach()
        out[f"r50.{case}.grad.x"] = xi.grad
        for k, p in m.named_parameters():
            if p.grad is not None:
                out[f"r50.{case}.grad.{k}"] = p.grad
        if case == "train":
            for k, v in m.state_dict().items():
                if "running" in k:
                    out[f"r50.train.running.{k}"] = v.clone()
    return out


class ConvModule(nn.Module):
    """mmcv ConvModule without norm and activation: only .conv."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding)

    def forward(self, x):
        return self.conv(x)


class FPN(nn.Module):
    """mmdet 3.x FPN forward (norm_cfg=None, act_cfg=None)."""

    def __init__(self, in_channels, out_channels, num_outs, start_level=0, end_level=-1,
                 add_extra_convs=False, relu_before_extra_convs=False, upsample_cfg=None):
        super().__init__()
        self.in_channels = in_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(mode="nearest") if upsample_cfg is None else upsample_cfg
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            assert num_outs >= self.num_ins - start_level
        else:
            self.backbone_end_level = end_level + 1
            assert end_level < self.num_ins
            assert num_outs == end_level - start_level + 1
        self.start_level = start_level
        if add_extra_convs is True:
            add_extra_convs = "on_input"
        self.add_extra_convs = add_extra_convs
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(in_channels[i], out_channels, 1))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1))
        extra_levels = num_outs - self.backbone_end_level + start_level
        if add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                cin = out_channels
                if i == 0 and add_extra_convs == "on_input":
                    cin = in_channels[self.backbone_end_level - 1]
                self.fpn_convs.append(ConvModule(cin, out_channels, 3, stride=2, padding=1))

    def forward(self, inputs):
        assert len(inputs) == len(self.in_channels)
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        used = len(laterals)
        for i in range(used - 1, 0, -1):
            if "scale_factor" in self.upsample_cfg:
                laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                size = laterals[i - 1].shape[2:]
                laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=size, **self.upsample_cfg)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > len(outs):
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                if self.add_extra_convs == "on_input":
                    src = inputs[self.backbone_end_level - 1]
                elif self.add_extra_convs == "on_lateral":
                    src = laterals[-1]
                else:
                    src = outs[-1]
                outs.append(self.fpn_convs[used](src))
                for i in range(used + 1, self.num_outs):
                    if self.relu_before_extra_convs:
                        outs.append(self.fpn_convs[i](F.relu(outs[-1])))
                    else:
                        outs.append(self.fpn_convs[i](outs[-1]))
        return outs


IN_CHANNELS = [4, 8, 16, 32]
ODD_SIZES = [(15, 23), (8, 12), (4, 6), (2, 3)]
EVEN_SIZES = [(16, 24), (8, 12), (4, 6), (2, 3)]

# name -> (FPN keyword arguments, input sizes); out_channels 8. The Go test
# (necks/fpn_test.go) holds the same table.
FPN_CASES = {
    "maxpool": (dict(num_outs=5), ODD_SIZES),
    "on_input": (dict(num_outs=5, add_extra_convs="on_input"), ODD_SIZES),
    "on_lateral_relu": (dict(num_outs=6, add_extra_convs="on_lateral", relu_before_extra_convs=True), ODD_SIZES),
    "on_output_start1": (dict(num_outs=5, start_level=1, add_extra_convs="on_output", relu_before_extra_convs=True), ODD_SIZES),
    "end2": (dict(num_outs=3, end_level=2), ODD_SIZES),
    "scale2": (dict(num_outs=5, upsample_cfg=dict(mode="nearest", scale_factor=2)), EVEN_SIZES),
}


def fpn_goldens(gen):
    out = {}
    for name, (kw, sizes) in FPN_CASES.items():
        fpn = FPN(IN_CHANNELS, 8, **kw)
        with torch.no_grad():
            for m in fpn.modules():
                if isinstance(m, nn.Conv2d):
                    # xavier_uniform_ bound, drawn from gen
                    bound = (6.0 / (m.weight[0].numel() + m.weight.shape[0] * m.weight[0, 0].numel())) ** 0.5
                    m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound)
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        xs = [torch.randn(1, c, h, w, generator=gen).requires_grad_(True) for c, (h, w) in zip(IN_CHANNELS, sizes)]
        ys = fpn(xs)
        gs = [torch.randn(y.shape, generator=gen) for y in ys]
        sum((y * g).sum() for y, g in zip(ys, gs)).backward()
        for k, v in fpn.state_dict().items():
            out[f"{name}.param.{k}"] = v.clone()
        for k, p in fpn.named_parameters():
            out[f"{name}.grad.{k}"] = p.grad
        for i, x in enumerate(xs):
            out[f"{name}.x{i}"] = x.detach()
            if x.grad is not None:  # inputs below start_level are unused
                out[f"{name}.grad.x{i}"] = x.grad
        for i, (y, g) in enumerate(zip(ys, gs)):
            out[f"{name}.y{i}"] = y.detach()
            out[f"{name}.g{i}"] = g
    return out


def main():
    gen = torch.Generator().manual_seed(20261123)
    rdir = RESNET_DIR
    ndir = os.path.join(ROOT, "necks", "testdata")
    os.makedirs(rdir, exist_ok=True)
    os.makedirs(ndir, exist_ok=True)
    st.save(os.path.join(rdir, "resnet_golden.safetensors"), resnet_goldens(gen))
    st.save(os.path.join(ndir, "fpn_golden.safetensors"), fpn_goldens(gen))
    keys = [[k, list(v.shape)] for k, v in tvr.resnet50().state_dict().items()]
    with open(os.path.join(rdir, "resnet50_keys.json"), "w") as f:
        json.dump(keys, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
