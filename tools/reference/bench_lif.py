"""Time the SNN-MLP LIF neuron as PyTorch runs it on a CPU.

The official LIF kernels are CUDA-only; on a CPU the semantics can only be
run as the MindSpore port writes them: a Python loop over the `lif` steps of
a group, each step a few tensor ops on the strided slice x[..., step::lif, ...]
(see ../../shared/reference/snn-mlp.md, section 2.2). This script times that
loop, forward and forward+backward, on SNN-MLP-T's first-stage shape at
batch 1 (1x96x56x56) with 2 threads, for comparison with

    go test ./tensor -run XXX -bench LIF

Run: /usr/bin/python3 tools/reference/bench_lif.py
"""
import time

import torch

from lif_ref import lif_slices

torch.set_num_threads(2)


def bench(fn, reps=50):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main():
    torch.manual_seed(0)
    x = torch.rand(1, 96, 56, 56) * 3 - 1
    tau = torch.tensor([0.25], requires_grad=True)
    vth = torch.tensor([0.1], requires_grad=True)
    gy = torch.rand_like(x)
    for dim in (2, 3):
        with torch.no_grad():
            fwd = bench(lambda: lif_slices(x, tau, vth, 4, dim))
        xg = x.clone().requires_grad_(True)

        def fb():
            y = lif_slices(xg, tau, vth, 4, dim)
            y.backward(gy)
        both = bench(fb)
        print(f"torch {torch.__version__} slice loop dim={dim}: forward {fwd*1e3:.3f} ms, "
              f"forward+backward {both*1e3:.3f} ms")


if __name__ == "__main__":
    main()
