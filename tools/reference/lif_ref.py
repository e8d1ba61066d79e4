"""SNN-MLP's LIF neuron in plain PyTorch, following the official semantics.

The official PyTorch code (huawei-noah/Efficient-AI-Backbones,
snnmlp_pytorch/models/snn_cuda.py) runs the neuron as CuPy CUDA kernels; the
MindSpore port (mindspore-ai/models, research/cv/snn_mlp) writes the same
recurrence as a loop over strided slices. Both are restated here so that
autograd differentiates them with the firing flags held constant, which is
exactly the official custom backward.
"""
import torch


def lif_slices(x, tau, vth, lif, dim):
    """The slice loop: step t of every group at once, x[..., t::lif, ...].

    Groups are contiguous runs of `lif` positions along `dim` (2: H, 3: W)
    starting at 0; the trailing L % lif positions pass through unchanged.
    """
    if lif == -1:
        return x
    L = x.shape[dim]
    full = L // lif * lif
    steps = []
    u = None
    fire = None
    for t in range(lif):
        idx = [slice(None)] * x.dim()
        idx[dim] = slice(t, full, lif)
        xs = x[tuple(idx)]
        if u is None:
            u = xs
        else:
            u = tau * (u * (~fire)) + xs
        fire = u > vth
        steps.append(torch.where(fire, u, vth.expand_as(u)))
    # Interleave the steps back: position k*lif + t comes from steps[t][k].
    y = torch.stack(steps, dim=dim + 1)
    shape = list(x.shape)
    shape[dim] = full
    y = y.reshape(shape)
    if full < L:
        y = torch.cat([y, x.narrow(dim, full, L - full)], dim)
    return y
