"""Write checkpoint fixtures for package checkpoint into checkpoint/testdata.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 tools/reference/make_pth_fixtures.py

Files written:
  basic.safetensors    float32, int64, int32, uint8 and bool tensors plus
                       metadata, written by st.py; values follow closed forms
                       the Go test recomputes.
  wide.safetensors     F16, BF16 and F64 tensors (st.py writes only float32);
  wide_ref.safetensors the same values as float32.
  sd_zip.pth           torch.save(state_dict) in the zip format.
  sd_legacy.pth        the same, legacy (pre-1.6) format.
  sd_model.pth         {"model": state_dict}.
  sd_wrapped.pth       {"state_dict": {"module." + k: v}, "epoch": 3,
                        "meta": {...}, "optimizer": {...}}.
  sd_ref.safetensors   the state_dict's values as float32 (int64 kept I64).
  scripted.pt          a TorchScript archive, which readers must refuse.
  params.pth           nn.Parameter values beside pickled foreign objects
                       (argparse.Namespace, numpy scalars) that readers skip.
  bad_*.pth            a list, a dict without tensors, and names that
                       collide once "module." is removed: each an error.
"""
import argparse
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "checkpoint", "testdata")


def save_wide(path, tensors):
    """Write safetensors keeping F16/BF16/F64 (st.py casts to float32)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dtype = {torch.float16: "F16", torch.bfloat16: "BF16",
                 torch.float64: "F64", torch.float32: "F32"}[t.dtype]
        if t.dtype == torch.bfloat16:
            # numpy has no bfloat16: reinterpret the bits as int16.
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def basic():
    # Closed forms mirrored in checkpoint/safetensors_test.go.
    # No 0-d tensor here: st.py's np.ascontiguousarray turns it into [1].
    t = {
        "vec": (np.arange(5, dtype=np.float32) * 0.5 - 1),
        "mat": (np.arange(6, dtype=np.float32).reshape(2, 3) / 7),
        "conv.weight": (np.arange(2 * 3 * 2 * 2, dtype=np.float32)
                        .reshape(2, 3, 2, 2) * -0.25),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "steps": np.array([7, -3, 1 << 40], dtype=np.int64),
        "ids": np.array([[1, -2], [3, 4]], dtype=np.int32),
        "bytes": np.array([0, 200, 255], dtype=np.uint8),
        "flags": np.array([True, False, True]),
    }
    st.save(os.path.join(OUT, "basic.safetensors"), t,
            {"format": "pt", "epoch": 12})


def wide():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(3, 4, generator=g) * 100
    tensors = {
        "half": base.half(),
        "bf16": base.bfloat16(),
        "double": base.double() / 3,
        # Extremes of float16: smallest subnormal, largest finite, inf.
        "half_edge": torch.tensor([2.0 ** -24, -(2.0 ** -20), 65504.0,
                                   float("inf"), -0.0]).half(),
    }
    save_wide(os.path.join(OUT, "wide.safetensors"), tensors)
    st.save(os.path.join(OUT, "wide_ref.safetensors"),
            {k: v.float() for k, v in tensors.items()})


def model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, bias=False),
        torch.nn.BatchNorm2d(4),
        torch.nn.Linear(5, 2),
    )
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
        m[1].num_batches_tracked.fill_(7)
    sd = m.state_dict()
    w = sd["2.weight"]  # 2x5
    # A non-contiguous view sharing the Linear weight's storage (transposed,
    # with a storage offset), a float16 and a float64 tensor, and an int64
    # buffer that is not a scalar.
    sd["view"] = w.t()[1:4]            # shape 3x2, stride (1, 5), offset 1
    sd["half"] = (torch.arange(6).reshape(2, 3) / 3).half()
    sd["half_edge"] = torch.tensor([2.0 ** -24, -(2.0 ** -20), 65504.0,
                                    float("inf"), -0.0]).half()
    sd["bf16"] = (torch.arange(4) * 1.1).bfloat16()
    sd["double"] = torch.linspace(-1, 1, 4, dtype=torch.float64)
    sd["mask"] = torch.tensor([True, False, True])
    sd["index"] = torch.tensor([3, 1, 4, 1, 5], dtype=torch.int64)
    sd["step"] = torch.arange(10)[::3]  # int64, stride 3
    return m, sd


def pth():
    m, sd = model()
    assert not sd["view"].is_contiguous()
    torch.save(sd, os.path.join(OUT, "sd_zip.pth"))
    torch.save(sd, os.path.join(OUT, "sd_legacy.pth"),
               _use_new_zipfile_serialization=False)
    torch.save({"model": sd}, os.path.join(OUT, "sd_model.pth"))
    wrapped = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    torch.save({
        "meta": {"mmdet_version": "2.28.2", "iter": 40, "lr": 0.02,
                 "CLASSES": ["cat", "dog"]},
        "state_dict": wrapped,
        "epoch": 3,
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.02}]},
    }, os.path.join(OUT, "sd_wrapped.pth"))
    ref = {k: (v if v.dtype == torch.int64 else v.float())
           for k, v in sd.items()}
    # st.py stores 0-d tensors as [1]: the true shapes go in the metadata.
    st.save(os.path.join(OUT, "sd_ref.safetensors"), ref,
            {"order": ",".join(sd.keys()),
             "shapes": json.dumps({k: list(v.shape) for k, v in sd.items()})})
    torch.jit.script(m).save(os.path.join(OUT, "scripted.pt"))


def odd():
    w = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3) / 4)
    torch.save({
        "args": argparse.Namespace(lr=0.1, arch="snn_mlp_t"),
        "model": {"w": w, "b": torch.nn.Parameter(torch.tensor([-1.5]))},
        "best_acc": np.float64(81.5),
        "epoch": 299,
    }, os.path.join(OUT, "params.pth"))
    torch.save([torch.zeros(2)], os.path.join(OUT, "bad_list.pth"))
    torch.save({"epoch": 1, "meta": {"a": 1}},
               os.path.join(OUT, "bad_notensors.pth"))
    torch.save({"module.w": torch.zeros(1), "w": torch.ones(1)},
               os.path.join(OUT, "bad_dup.pth"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    basic()
    wide()
    pth()
    odd()
