"""Golden values for dp's LIF operator (nn/testdata/lif_golden.safetensors).

The neuron is lif_ref.lif_slices, the official semantics in plain PyTorch;
autograd gives the gradients with the firing flags held constant, as the
official CUDA backward does. For each axis (2: H, 3: W) and group length
(4, 3) the file holds y_{axis}_{group}, gx_..., gtau_..., gvth_... for the
shared inputs x, gy, tau and vth.

Run from the repository root: /usr/bin/python3 tools/reference/golden_lif.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st  # noqa: E402
from lif_ref import lif_slices  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "nn", "testdata", "lif_golden.safetensors")


def main():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 7, 10, generator=g) * 2.5 - 1
    gy = torch.rand(2, 3, 7, 10, generator=g) * 2 - 1
    tau = torch.tensor([0.35])
    vth = torch.tensor([0.15])
    out = {"x": x, "gy": gy, "tau": tau, "vth": vth}
    for dim in (2, 3):
        for group in (4, 3):
            xs = x.clone().requires_grad_(True)
            ts = tau.clone().requires_grad_(True)
            vs = vth.clone().requires_grad_(True)
            y = lif_slices(xs, ts, vs, group, dim)
            y.backward(gy)
            k = f"{dim}_{group}"
            out["y_" + k] = y.detach()
            out["gx_" + k] = xs.grad
            out["gtau_" + k] = ts.grad
            out["gvth_" + k] = vs.grad
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    st.save(OUT, out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
