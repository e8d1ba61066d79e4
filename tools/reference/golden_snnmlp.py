"""Parity goldens for dp's SNN-MLP (models/testdata/snnmlp_*.safetensors).

The network below restates the official PyTorch model
(huawei-noah/Efficient-AI-Backbones, snnmlp_pytorch/models/snn_mlp.py): NCHW
throughout, GroupNorm(1, C) everywhere, 1x1 convs for every projection,
exact-erf GELU, two LIF neurons (lif1 along H into conv2_1, lif2 along W into
conv2_2) on the same input, Swin-order patch merging, final GroupNorm, average
pool and linear head. The LIF is lif_ref.lif_slices, the official semantics in
plain PyTorch. With dense=True it pads as the AS-MLP dense-prediction backbone
does: the image on the right/bottom to a multiple of the patch size, odd sizes
at patch merging by one zero row/column, and each stage output (taken before
merging) goes through its own GroupNorm(1, C_i) named norm{i}.

Weights and inputs are not drawn from torch's RNG, which Go cannot reproduce:
each tensor named K with n elements holds

    v[i] = float32(lo + (hi - lo) * u_i),  u_i = (mix(fnv1a64(K) + (i+1)*G) >> 40) / 2**24

where mix is splitmix64's finaliser and G = 0x9E3779B97F4A7C15, with (lo, hi)
chosen from the parameter's role (see fill_range). The Go tests compute the
same values bit for bit, so only outputs are stored.

Files (run from the repository root: /usr/bin/python3 tools/reference/golden_snnmlp.py):
  snnmlp_small.safetensors  embed_dim 8, depths [1,1,2,1], 10 classes: for
      inputs "224" (2x3x224x224) and "256x320" (1x3x256x320): logits.{in},
      stage{i}.{in} (stage outputs before merging, full); gradients of the
      loss sum(logits * probe.{in}) for the 224 input: grad.{param} for
      every parameter; dense mode at 1x3x100x130: dense.out{i}.
  snnmlp_t.safetensors  SNN-MLP-T (1000 classes, batch 1) at "224" and
      "256x320": logits.{in} in full, stage outputs subsampled
      (stage{i}.{in}: every 11th element of the flattened tensor), and for
      224 the gradients: grad.{param} in full for tau/Vth, every 1009th
      element otherwise.
  snnmlp_mini.pth, snnmlp_mini_model.pth, snnmlp_mini_badshape.pth,
  snnmlp_mini_input.npy, snnmlp_mini_features.safetensors: see main.
Both golden files also hold gabs.{lif} = sum |dL/dy| over the output of each LIF
layer for the gradient input: tau and Vth gradients are sums over every
element of such a map, so their float32 error scales with this sum rather
than with the (often cancelling) result; a membrane within rounding of the
threshold may also fire in one implementation and not the other, which moves
the Vth gradient by that element's |dL/dy|.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st  # noqa: E402
from lif_ref import lif_slices  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "models", "testdata")

# ---------------------------------------------------------------- the model


class LIFSpike(nn.Module):
    def __init__(self, lif, init_tau, init_vth, dim):
        super().__init__()
        self.lif, self.dim = lif, dim
        self.tau = nn.Parameter(torch.Tensor([init_tau]))
        self.Vth = nn.Parameter(torch.Tensor([init_vth]))

    def forward(self, x):
        y = lif_slices(x, self.tau, self.Vth, self.lif, self.dim)
        if y.requires_grad and hasattr(self, "name"):
            # Record sum |dL/dy|, the scale of the tau and Vth gradients.
            y.register_hook(lambda g: GABS.__setitem__(self.name, g.abs().sum().item()))
        return y


GABS = {}  # LIFSpike module name -> sum of |gradient at its output|


class LIFModule(nn.Module):
    def __init__(self, dim, lif, init_tau, init_vth):
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 1)
        self.conv2_1 = nn.Conv2d(dim, dim, 1)
        self.conv2_2 = nn.Conv2d(dim, dim, 1)
        self.conv3 = nn.Conv2d(dim, dim, 1)
        self.actn = nn.GELU()
        self.norm1 = nn.GroupNorm(1, dim)
        self.norm2 = nn.GroupNorm(1, dim)
        self.norm3 = nn.GroupNorm(1, dim)
        self.lif1 = LIFSpike(lif, init_tau, init_vth, 2)
        self.lif2 = LIFSpike(lif, init_tau, init_vth, 3)
        self.dw1 = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x):
        x = self.actn(self.norm1(self.conv1(x)))
        x = self.actn(self.norm2(self.dw1(x)))
        a = self.actn(self.conv2_1(self.lif1(x)))
        b = self.actn(self.conv2_2(self.lif2(x)))
        return self.conv3(self.norm3(a + b))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class LIFBlock(nn.Module):
    def __init__(self, dim, mlp_ratio, lif, init_tau, init_vth):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.lif_module = LIFModule(dim, lif, init_tau, init_vth)
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.lif_module(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, dense):
        super().__init__()
        self.reduction = nn.Conv2d(4 * dim, 2 * dim, 1, bias=False)
        self.norm = nn.GroupNorm(1, 4 * dim)
        self.dense = dense

    def forward(self, x):
        if self.dense:
            H, W = x.shape[2:]
            x = F.pad(x, (0, W % 2, 0, H % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2],
                       x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], 1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim, depth, mlp_ratio, lif, init_tau, init_vth, downsample, dense):
        super().__init__()
        self.blocks = nn.ModuleList([LIFBlock(dim, mlp_ratio, lif, init_tau, init_vth)
                                     for _ in range(depth)])
        self.downsample = PatchMerging(dim, dense) if downsample else None


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.norm = nn.GroupNorm(1, dim)


class SNNMLP(nn.Module):
    def __init__(self, embed_dim, depths, num_classes, mlp_ratio=4., lif=4,
                 init_tau=0.25, init_vth=0.1, patch=4, dense=False):
        super().__init__()
        self.patch, self.dense = patch, dense
        dims = [embed_dim * 2 ** i for i in range(len(depths))]
        self.patch_embed = PatchEmbed(dims[0], patch)
        self.layers = nn.ModuleList([
            BasicLayer(dims[i], depths[i], mlp_ratio, lif, init_tau, init_vth,
                       i < len(depths) - 1, dense) for i in range(len(depths))])
        if dense:
            for i, d in enumerate(dims):
                self.add_module(f"norm{i}", nn.GroupNorm(1, d))
        else:
            self.norm = nn.GroupNorm(1, dims[-1])
            self.head = nn.Linear(dims[-1], num_classes)

    def stages(self, x):
        if self.dense:
            H, W = x.shape[2:]
            x = F.pad(x, (0, (-W) % self.patch, 0, (-H) % self.patch))
        x = self.patch_embed.norm(self.patch_embed.proj(x))
        outs = []
        for i, layer in enumerate(self.layers):
            for blk in layer.blocks:
                x = blk(x)
            outs.append(getattr(self, f"norm{i}")(x) if self.dense else x)
            if layer.downsample is not None:
                x = layer.downsample(x)
        return outs

    def forward(self, x):
        outs = self.stages(x)
        x = self.norm(outs[-1]).mean((2, 3))
        return self.head(x), outs


# ------------------------------------------------ deterministic fill values

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def uniform(key, n, lo, hi):
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(key)) + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return (lo + (hi - lo) * u).astype(np.float32)


def fill_range(name, shape):
    """The (lo, hi) range of parameter `name`; the Go test has the same rule."""
    last = name.rsplit(".", 1)[-1]
    if last == "tau":
        return 0.1, 0.9
    if last == "Vth":
        return -0.05, 0.45
    if len(shape) == 1 and "norm" in name.rsplit(".", 2)[-2]:
        return (0.5, 1.5) if last == "weight" else (-0.2, 0.2)
    if last == "bias":
        return -0.1, 0.1
    b = 1.0 / math.sqrt(int(np.prod(shape[1:])))
    return -b, b


def fill(model):
    for name, mod in model.named_modules():
        if isinstance(mod, LIFSpike):
            mod.name = name
    with torch.no_grad():
        for name, p in model.named_parameters():
            lo, hi = fill_range(name, tuple(p.shape))
            p.copy_(torch.from_numpy(uniform(name, p.numel(), lo, hi)).reshape(p.shape))


def make_input(key, shape):
    return torch.from_numpy(uniform(key, int(np.prod(shape)), -2, 2)).reshape(shape)


# ------------------------------------------------------------------ goldens


def run(model, inputs, grad_of, sub=1, grad_sub=1):
    out = {}
    for key, shape in inputs:
        x = make_input("input." + key, shape)
        model.zero_grad()
        logits, stages = model(x)
        out["logits." + key] = logits.detach()
        for i, s in enumerate(stages):
            out[f"stage{i}.{key}"] = s.detach().reshape(-1)[::sub].clone()
        if key == grad_of:
            probe = torch.from_numpy(uniform("probe." + key, logits.numel(), -1, 1)).reshape(logits.shape)
            (logits * probe).sum().backward()
            for name, v in GABS.items():
                out["gabs." + name] = torch.tensor([v])
            for name, p in model.named_parameters():
                g = p.grad.reshape(-1)
                if name.rsplit(".", 1)[-1] not in ("tau", "Vth"):
                    g = g[::grad_sub]
                out["grad." + name] = g.clone()
    return out


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)

    small = SNNMLP(8, [1, 1, 2, 1], 10)
    fill(small)
    out = run(small, [("224", (2, 3, 224, 224)), ("256x320", (1, 3, 256, 320))], "224")
    dense = SNNMLP(8, [1, 1, 2, 1], 10, dense=True)
    fill(dense)
    with torch.no_grad():
        for i, s in enumerate(dense.stages(make_input("input.100x130", (1, 3, 100, 130)))):
            out[f"dense.out{i}"] = s
    st.save(os.path.join(OUT, "snnmlp_small.safetensors"), out)

    # Checkpoints written by torch.save for the loading tests: a mini
    # classifier (embed_dim 4, depths [1,1,1,1], 5 classes) filled as above,
    # as a plain state_dict, wrapped as {"model": ...} (main.py's format),
    # and with head.weight of the wrong shape.
    mini = SNNMLP(4, [1, 1, 1, 1], 5)
    fill(mini)
    sd = mini.state_dict()
    torch.save(sd, os.path.join(OUT, "snnmlp_mini.pth"))
    torch.save({"model": sd, "epoch": 299}, os.path.join(OUT, "snnmlp_mini_model.pth"))
    # dp features' end-to-end check: the mini classifier's outputs for a
    # 1x3x64x64 input stored as .npy.
    x = make_input("input.mini", (1, 3, 64, 64))
    np.save(os.path.join(OUT, "snnmlp_mini_input.npy"), x.numpy())
    with torch.no_grad():
        logits, stages = mini(x)
    st.save(os.path.join(OUT, "snnmlp_mini_features.safetensors"),
            {"logits": logits, "backbone.0": stages[-1]})
    bad = dict(sd)
    bad["head.weight"] = torch.zeros(6, 32)
    torch.save(bad, os.path.join(OUT, "snnmlp_mini_badshape.pth"))

    t = SNNMLP(96, [2, 2, 6, 2], 1000)
    fill(t)
    out = run(t, [("224", (1, 3, 224, 224)), ("256x320", (1, 3, 256, 320))], "224",
              sub=11, grad_sub=1009)
    st.save(os.path.join(OUT, "snnmlp_t.safetensors"), out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
