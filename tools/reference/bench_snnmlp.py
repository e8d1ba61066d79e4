"""Time SNN-MLP-T in PyTorch on the CPU with 2 threads, next to

    go test ./models -run XXX -bench SNNMLPT -benchtime 10x

Inference at batch 1 and a training step (forward, label-smoothed
cross-entropy, backward) at batch 4, both 224x224, with the model of
golden_snnmlp.py (the official network; the LIF as the official slice loop,
since the official kernels are CUDA-only) in train mode with drop path off.

Run: /usr/bin/python3 tools/reference/bench_snnmlp.py
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_snnmlp import SNNMLP  # noqa: E402

torch.set_num_threads(2)


def bench(fn, reps):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main():
    torch.manual_seed(0)
    m = SNNMLP(96, [2, 2, 6, 2], 1000)
    m.eval()
    x1 = torch.rand(1, 3, 224, 224) * 4 - 2
    with torch.no_grad():
        fwd = bench(lambda: m(x1), 10)
    m.train()
    x4 = torch.rand(4, 3, 224, 224) * 4 - 2
    y = torch.tensor([1, 2, 3, 4])

    def step():
        logits, _ = m(x4)
        F.cross_entropy(logits, y, label_smoothing=0.1).backward()
        m.zero_grad()
    fb = bench(step, 5)
    print(f"torch {torch.__version__}, 2 threads: SNN-MLP-T forward batch 1: {fwd*1e3:.1f} ms; "
          f"forward+backward batch 4: {fb*1e3:.0f} ms")


if __name__ == "__main__":
    main()
