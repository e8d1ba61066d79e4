#!/usr/bin/python3
"""PyTorch and numpy figures for the shapes of dp's tensor benchmarks.

Prints lines in the format of `go test -bench` so the two outputs can be read
side by side (or fed to benchstat):

    BenchmarkSgemm/1024-2       <iters>  <ns/op> ns/op  <GFLOP/s> GFLOP/s

The -1/-2 suffix is the thread count, as Go's -cpu flag names it. Shapes match
tensor/gemm_bench_test.go and tensor/conv_bench_test.go:
  Sgemm/{256,512,1024,2048}   C = A @ B, square float32 (torch.mm; numpy matmul)
  Conv3x3                     64->64, 3x3, pad 1, 56x56, batch 8, with bias
  Depthwise7x7                96 channels, 7x7, pad 3, groups 96, 56x56, batch 8
  Pointwise/stage{1..4}       SNN-MLP-T's MLP expansions C->4C, 1x1, batch 4:
                              96@56x56, 192@28x28, 384@14x14, 768@7x7
"forward+backward" runs the forward pass and the gradients with respect to the
input, the weight and the bias.

torch.mm and numpy use the BLAS behind Debian's libblas.so.3: OpenBLAS once
`apt-get install libopenblas0-pthread` has run (the reference the SGEMM figures
are quoted against), the slow reference BLAS otherwise; the header line names it.

Usage: /usr/bin/python3 tools/reference/bench_torch.py [--threads 1,2] [--seconds 1] [--bench REGEXP]
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def timeit(fn, seconds):
    """Run fn until `seconds` have passed (at least 3 times); return (iters, s/op)."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= seconds and n >= 3:
            return n, el / n


PATTERN = re.compile("")


def wanted(name):
    """Reports whether the figure `name` matches --bench."""
    return PATTERN.search(name) is not None


def line(name, threads, iters, sec, gflop):
    print(f"{name + '-' + str(threads) if threads > 1 else name:<44}"
          f"{iters:>8} {sec * 1e9:>16.0f} ns/op {gflop / sec:>12.2f} GFLOP/s", flush=True)


def sgemm(threads, seconds):
    for n in (256, 512, 1024, 2048):
        if not wanted(f"TorchSgemm/{n}"):
            continue
        a, b = torch.rand(n, n), torch.rand(n, n)
        c = torch.empty(n, n)
        it, s = timeit(lambda: torch.mm(a, b, out=c), seconds)
        line(f"BenchmarkTorchSgemm/{n}", threads, it, s, 2 * n ** 3 / 1e9)
    for n in (256, 512, 1024, 2048):
        if not wanted(f"NumpySgemm/{n}"):
            continue
        a = np.random.rand(n, n).astype(np.float32)
        b = np.random.rand(n, n).astype(np.float32)
        c = np.empty((n, n), np.float32)
        it, s = timeit(lambda: np.matmul(a, b, out=c), seconds)
        line(f"BenchmarkNumpySgemm/{n}", threads, it, s, 2 * n ** 3 / 1e9)


def conv(name, threads, seconds, n, c, h, w, k, ksize, pad, groups):
    x = torch.rand(n, c, h, w)
    wt = torch.rand(k, c // groups, ksize, ksize)
    bias = torch.rand(k)
    oh = h + 2 * pad - ksize + 1
    flop = 2 * n * k * oh * oh * (c // groups) * ksize * ksize / 1e9

    def fwd():
        with torch.no_grad():
            F.conv2d(x, wt, bias, padding=pad, groups=groups)

    xg = x.clone().requires_grad_()
    wg = wt.clone().requires_grad_()
    bg = bias.clone().requires_grad_()
    dy = torch.rand(n, k, oh, oh)

    def fwdbwd():
        xg.grad = wg.grad = bg.grad = None
        F.conv2d(xg, wg, bg, padding=pad, groups=groups).backward(dy)

    if wanted(f"Torch{name}/forward"):
        it, s = timeit(fwd, seconds)
        line(f"BenchmarkTorch{name}/forward", threads, it, s, flop)
    if wanted(f"Torch{name}/forward+backward"):
        it, s = timeit(fwdbwd, seconds)
        line(f"BenchmarkTorch{name}/forward+backward", threads, it, s, 3 * flop)


def blas_name():
    """The BLAS library numpy's process has loaded, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        return ", ".join(sorted(os.path.basename(l) for l in libs if "/" in l)) or "BLAS unknown"
    except OSError:
        return "BLAS unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--seconds", type=float, default=1.0, help="minimum time per figure")
    ap.add_argument("--bench", default="", help="only the figures whose name matches this regexp")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    global PATTERN
    PATTERN = re.compile(args.bench)
    if not args.child:
        # The BLAS under torch.mm and numpy (OpenBLAS where Debian's
        # libopenblas0 is installed) fixes its thread count when it loads, so
        # each thread count runs in a child process with it set.
        print(f"# torch {torch.__version__} (mkldnn {torch.backends.mkldnn.is_available()}), "
              f"numpy {np.__version__} ({blas_name()})", flush=True)
        for t in args.threads.split(","):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
            subprocess.run([sys.executable, __file__, "--child", t, "--seconds", str(args.seconds),
                            "--bench", args.bench], env=env, check=True)
        return
    t = args.child
    torch.set_num_threads(t)
    sgemm(t, args.seconds)
    conv("Conv3x3", t, args.seconds, 8, 64, 56, 56, 64, 3, 1, 1)
    conv("Depthwise7x7", t, args.seconds, 8, 96, 56, 56, 96, 7, 3, 96)
    for i, (c, size) in enumerate([(96, 56), (192, 28), (384, 14), (768, 7)]):
        conv(f"Pointwise/stage{i + 1}", t, args.seconds, 4, c, size, size, 4 * c, 1, 0, 1)


if __name__ == "__main__":
    main()
