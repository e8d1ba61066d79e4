"""Goldens for heads/detops from torchvision 0.14 (Debian python3-torchvision).

roi_align (aligned=True, and False) forward and input gradient for a fixed
upstream gradient, and nms keep indices, written to
heads/detops/testdata/detops.safetensors.
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "heads", "detops", "testdata")
torch.manual_seed(0)
out = {}

feat = torch.randn(2, 3, 13, 17)
# batch index, x1, y1, x2, y2 in image pixels (stride 4 => scale 0.25);
# includes boxes partly and wholly outside the map and a tiny one.
rois = torch.tensor([
    [0, 4.0, 6.0, 40.0, 30.0],
    [1, -10.0, -8.0, 20.0, 12.0],
    [0, 50.0, 40.0, 90.0, 70.0],
    [1, 10.3, 11.7, 11.1, 12.2],
    [0, 0.0, 0.0, 68.0, 52.0],
    [1, 60.0, 2.0, 75.0, 60.0],
])
out["feat"] = feat
out["rois"] = rois
for name, aligned, ratio, size in [("a0", True, 0, 7), ("a2", True, 2, 5), ("u0", False, 0, 7), ("m14", True, 0, 14)]:
    f = feat.clone().requires_grad_(True)
    y = torchvision.ops.roi_align(f, rois, output_size=size, spatial_scale=0.25, sampling_ratio=ratio, aligned=aligned)
    g = torch.randn_like(y)
    y.backward(g)
    out[f"{name}_y"] = y.detach()
    out[f"{name}_gy"] = g
    out[f"{name}_gx"] = f.grad

boxes = torch.rand(60, 2) * 100
wh = torch.rand(60, 2) * 40 + 2
b = torch.cat([boxes, boxes + wh], 1)
scores = torch.rand(60)
out["nms_boxes"] = b
out["nms_scores"] = scores
for thr in (0.3, 0.5, 0.7):
    keep = torchvision.ops.nms(b, scores, thr)
    out[f"nms_keep_{int(thr*10)}"] = keep.to(torch.int64)
idxs = torch.randint(0, 3, (60,))
out["bnms_idxs"] = idxs.to(torch.int64)
out["bnms_keep_5"] = torchvision.ops.batched_nms(b, scores, idxs, 0.5).to(torch.int64)
st.save(os.path.join(OUT, "detops.safetensors"), out)
