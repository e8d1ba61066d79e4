"""Time torchvision's maskrcnn_resnet50_fpn training step (forward+backward)
on this machine, as the reference for dp's R50 Mask R-CNN figure.

Batch 2 of 800×1067 random images with 3 boxes and masks each, random
weights, 2 threads. Run: /usr/bin/python3 tools/reference/bench_maskrcnn_r50.py
"""
import time

import torch
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)
model = torchvision.models.detection.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=5,
                                                           min_size=800, max_size=1333)
model.train()
imgs = [torch.rand(3, 800, 1067) for _ in range(2)]
targets = []
for _ in imgs:
    boxes = torch.tensor([[100., 120., 300., 360.], [500., 200., 700., 500.], [800., 600., 1000., 780.]])
    masks = torch.zeros(3, 800, 1067, dtype=torch.uint8)
    for k, b in enumerate(boxes.int().tolist()):
        masks[k, b[1]:b[3], b[0]:b[2]] = 1
    targets.append({"boxes": boxes, "labels": torch.tensor([1, 2, 3]), "masks": masks})
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
times = []
for it in range(3):
    t0 = time.perf_counter()
    loss = sum(model(imgs, targets).values())
    opt.zero_grad()
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - t0)
print(f"torchvision maskrcnn_resnet50_fpn, batch 2, 800x1067, 2 threads: "
      f"{min(times[1:]):.1f} s per training step (first {times[0]:.1f} s)")
