"""Goldens for package optim: torch.optim.SGD and AdamW over five steps.

Writes optim/testdata/optim_<name>.safetensors with the initial parameters
(p0, p1), the gradient of every step (g<step>_<param>) and the parameters
after the last step (want_p0, want_p1). Run with Debian's python3-torch.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "optim", "testdata")
STEPS = 5


def run(name, make_opt):
    torch.manual_seed(0)
    p0 = torch.randn(3, 4)
    p1 = torch.randn(5)
    grads = [[torch.randn(3, 4), torch.randn(5)] for _ in range(STEPS)]
    out = {"p0": p0.clone(), "p1": p1.clone()}
    params = [torch.nn.Parameter(p0.clone()), torch.nn.Parameter(p1.clone())]
    opt = make_opt(params)
    for s, (g0, g1) in enumerate(grads):
        params[0].grad = g0.clone()
        params[1].grad = g1.clone()
        out[f"g{s}_0"] = g0
        out[f"g{s}_1"] = g1
        opt.step()
    out["want_p0"] = params[0].detach()
    out["want_p1"] = params[1].detach()
    st.save(os.path.join(OUT, f"optim_{name}.safetensors"), out)


run("sgd", lambda p: torch.optim.SGD(p, lr=0.1))
run("sgd_momentum_wd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2, dampening=0.1))
run("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3))
run("adamw", lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.05))
run("adamw_betas", lambda p: torch.optim.AdamW(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.5))


def clip():
    torch.manual_seed(1)
    params = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))]
    for p in params:
        p.grad = torch.randn_like(p) * 3
    out = {"g0": params[0].grad.clone(), "g1": params[1].grad.clone()}
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm=2.0)
    out["norm"] = norm.reshape(1)
    out["want_g0"] = params[0].grad
    out["want_g1"] = params[1].grad
    st.save(os.path.join(OUT, "optim_clip.safetensors"), out)


clip()
