"""Goldens for heads/rpn and heads/roi from PyTorch 1.13 / torchvision 0.14.

The reference functions below follow mmdet 3.x (AnchorGenerator,
MaxIoUAssigner, DeltaXYWHBBoxCoder, RPNHead / AnchorHead losses and
proposals, SingleRoIExtractor, Shared2FCBBoxHead loss and multiclass_nms,
FCNMaskHead with PolygonMasks/BitmapMasks.crop_and_resize targets and
_do_paste_mask) and the COCO API's polygon rasteriser; mmdet, mmcv and
pycocotools are not installed. Sampling is made deterministic: the RPN
case samples every anchor (a sample larger than the anchors), and the RoI
cases are fed fixed positive/negative RoIs.

Writes heads/rpn/testdata/rpn.safetensors and heads/roi/testdata/roi.safetensors.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EPS = float(torch.finfo(torch.float32).eps)


# ---------------------------------------------------------------- boxes
def overlaps(a, b):
    """bbox_overlaps(a, b), mode iou, eps 1e-6: [len(a), len(b)]."""
    area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = torch.max(area1[:, None] + area2[None, :] - inter, torch.tensor([1e-6]))
    return inter / union


def assign(priors, gts, pos_thr, neg_thr, min_pos):
    """MaxIoUAssigner (match_low_quality, gt_max_assign_all): 1-based gt
    index per prior, 0 negative, -1 ignored."""
    n = priors.shape[0]
    if gts.shape[0] == 0:
        return torch.zeros(n, dtype=torch.long)
    ov = overlaps(gts, priors)
    out = torch.full((n,), -1, dtype=torch.long)
    mx, arg = ov.max(dim=0)
    gmx, _ = ov.max(dim=1)
    out[(mx >= 0) & (mx < neg_thr)] = 0
    pos = mx >= pos_thr
    out[pos] = arg[pos] + 1
    for i in range(gts.shape[0]):
        if gmx[i] >= min_pos:
            out[ov[i, :] == gmx[i]] = i + 1
    return out


def encode(p, g, stds):
    px, py = (p[:, 0] + p[:, 2]) * 0.5, (p[:, 1] + p[:, 3]) * 0.5
    pw, ph = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    gx, gy = (g[:, 0] + g[:, 2]) * 0.5, (g[:, 1] + g[:, 3]) * 0.5
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    d = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], -1)
    return d / torch.tensor(stds)


def decode(p, d, stds, max_shape):
    d = d * torch.tensor(stds)
    pxy = (p[:, :2] + p[:, 2:]) * 0.5
    pwh = p[:, 2:] - p[:, :2]
    dxy_wh = pwh * d[:, :2]
    r = abs(math.log(16 / 1000))
    dwh = d[:, 2:].clamp(min=-r, max=r)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    b = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], -1)
    b[:, 0::2] = b[:, 0::2].clamp(min=0, max=max_shape[1])
    b[:, 1::2] = b[:, 1::2].clamp(min=0, max=max_shape[0])
    return b


def batched_nms(boxes, scores, idxs, thr):
    keep = torchvision.ops.batched_nms(boxes, scores, idxs, thr)
    return keep[scores[keep].argsort(descending=True, stable=True)]


# ---------------------------------------------------------------- anchors
def base_anchors(base, scales, ratios):
    scales, ratios = torch.tensor(scales), torch.tensor(ratios)
    hr = torch.sqrt(ratios)
    wr = 1 / hr
    ws = (base * wr[:, None] * scales[None, :]).view(-1)
    hs = (base * hr[:, None] * scales[None, :]).view(-1)
    return torch.stack([-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs], -1)


def grid_anchors(base, h, w, stride):
    sx = torch.arange(0, w) * stride
    sy = torch.arange(0, h) * stride
    xx = sx.repeat(len(sy))
    yy = sy.view(-1, 1).repeat(1, len(sx)).view(-1)
    shifts = torch.stack([xx, yy, xx, yy], -1).float()
    return (base[None] + shifts[:, None]).view(-1, 4)


def valid_flags(h, w, stride, img_h, img_w, na):
    vh, vw = min(int(math.ceil(img_h / stride)), h), min(int(math.ceil(img_w / stride)), w)
    vx = torch.zeros(w, dtype=torch.bool)
    vy = torch.zeros(h, dtype=torch.bool)
    vx[:vw] = True
    vy[:vh] = True
    v = vx.repeat(len(vy)) & vy.view(-1, 1).repeat(1, len(vx)).view(-1)
    return v[:, None].expand(v.size(0), na).reshape(-1)


# ---------------------------------------------------------------- RPN
def rpn_golden():
    torch.manual_seed(1)
    out = {}
    C, Fc, strides, scales, ratios = 6, 5, [4, 8], [2.0], [0.5, 1.0, 2.0]
    na = len(scales) * len(ratios)
    sizes = [(8, 10), (4, 5)]
    img_shapes = [(30, 37), (32, 40)]
    gts = [torch.tensor([[3.0, 4.0, 15.0, 20.0], [20.0, 2.0, 34.0, 11.0]]),
           torch.tensor([[8.5, 9.0, 30.0, 28.0]])]
    conv = torch.nn.Conv2d(C, Fc, 3, padding=1)
    cls = torch.nn.Conv2d(Fc, na, 1)
    reg = torch.nn.Conv2d(Fc, 4 * na, 1)
    for m in (conv, cls, reg):
        torch.nn.init.normal_(m.weight, 0, 0.3)
        torch.nn.init.normal_(m.bias, 0, 0.3)
    feats = [torch.randn(2, C, h, w) for h, w in sizes]
    for name, m in (("rpn_conv", conv), ("rpn_cls", cls), ("rpn_reg", reg)):
        out[f"{name}.weight"], out[f"{name}.bias"] = m.weight.detach(), m.bias.detach()
    for l, f in enumerate(feats):
        out[f"feat{l}"] = f
    for i, g in enumerate(gts):
        out[f"gt{i}"] = g
    out["img_shapes"] = torch.tensor(img_shapes, dtype=torch.float32)
    # Forward.
    fl = [f.clone().requires_grad_(True) for f in feats]
    cls_out, reg_out = [], []
    for f in fl:
        y = F.relu(conv(f))
        cls_out.append(cls(y))
        reg_out.append(reg(y))
    # Targets: every valid anchor sampled.
    bases = [base_anchors(s, scales, ratios) for s in strides]
    labels, lweights, btargets, bweights = [], [], [], []
    avg = 0
    for i in range(2):
        anchors = torch.cat([grid_anchors(bases[l], *sizes[l], strides[l]) for l in range(2)])
        valid = torch.cat([valid_flags(*sizes[l], strides[l], *img_shapes[i], na) for l in range(2)])
        a = anchors[valid]
        g = assign(a, gts[i], 0.7, 0.3, 0.3)
        lab = torch.zeros(len(anchors))
        lw = torch.zeros(len(anchors))
        bt = torch.zeros(len(anchors), 4)
        bw = torch.zeros(len(anchors), 4)
        vi = valid.nonzero().view(-1)
        pos, neg = vi[g > 0], vi[g == 0]
        lab[pos] = 1
        lw[pos] = 1
        lw[neg] = 1
        bt[pos] = encode(anchors[pos], gts[i][g[g > 0] - 1], [1, 1, 1, 1])
        bw[pos] = 1
        avg += max(len(pos), 1) + max(len(neg), 1)
        labels.append(lab)
        lweights.append(lw)
        btargets.append(bt)
        bweights.append(bw)
        out[f"num_pos{i}"] = torch.tensor([float(len(pos))])
    # Flatten the outputs as mmdet: per level (N, H, W, A), images stacked.
    off = [0, sizes[0][0] * sizes[0][1] * na, sizes[0][0] * sizes[0][1] * na + sizes[1][0] * sizes[1][1] * na]
    lc, lb = 0, 0
    for l in range(2):
        c = cls_out[l].permute(0, 2, 3, 1).reshape(2, -1)
        r = reg_out[l].permute(0, 2, 3, 1).reshape(2, -1, 4)
        for i in range(2):
            s = slice(off[l], off[l + 1])
            lc = lc + (F.binary_cross_entropy_with_logits(c[i], labels[i][s], reduction="none") * lweights[i][s]).sum()
            lb = lb + ((r[i] - btargets[i][s]).abs() * bweights[i][s]).sum()
    loss_cls = lc / (avg + EPS)
    loss_bbox = lb / (avg + EPS)
    (loss_cls + loss_bbox).backward()
    out["avg_factor"] = torch.tensor([float(avg)])
    out["loss_cls"] = loss_cls.detach().view(1)
    out["loss_bbox"] = loss_bbox.detach().view(1)
    for name, m in (("rpn_conv", conv), ("rpn_cls", cls), ("rpn_reg", reg)):
        out[f"grad/{name}.weight"], out[f"grad/{name}.bias"] = m.weight.grad, m.bias.grad
    for l, f in enumerate(fl):
        out[f"grad/feat{l}"] = f.grad
    # Proposals (nms_pre 20, max_per_img 15, nms 0.7, min_bbox_size 0).
    nms_pre, max_per = 20, 15
    for i in range(2):
        boxes, scores, ids = [], [], []
        for l in range(2):
            c = cls_out[l][i].detach().permute(1, 2, 0).reshape(-1)
            r = reg_out[l][i].detach().permute(1, 2, 0).reshape(-1, 4)
            sc = c.sigmoid()
            pri = grid_anchors(bases[l], *sizes[l], strides[l])
            if 0 < nms_pre < sc.shape[0]:
                ranked, inds = sc.sort(descending=True, stable=True)
                sc, r, pri = ranked[:nms_pre], r[inds[:nms_pre]], pri[inds[:nms_pre]]
            boxes.append(decode(pri, r, [1, 1, 1, 1], img_shapes[i]))
            scores.append(sc)
            ids.append(torch.full((sc.shape[0],), l, dtype=torch.long))
        b, s, d = torch.cat(boxes), torch.cat(scores), torch.cat(ids)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        v = (w > 0) & (h > 0)
        b, s, d = b[v], s[v], d[v]
        keep = batched_nms(b, s, d, 0.7)[:max_per]
        out[f"proposals{i}"] = b[keep]
        out[f"proposal_scores{i}"] = s[keep]
    st.save(os.path.join(ROOT, "heads", "rpn", "testdata", "rpn.safetensors"), out)


# ---------------------------------------------------------------- RoI
def map_levels(rois, n, finest=56):
    scale = torch.sqrt((rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1]))
    lv = torch.floor(torch.log2(scale / finest + 1e-6))
    return lv.clamp(min=0, max=n - 1).long()


def extract(feats, rois, strides, size):
    """SingleRoIExtractor with torchvision roi_align (aligned, adaptive)."""
    lv = map_levels(rois[:, 1:], len(strides))
    out = feats[0].new_zeros(rois.shape[0], feats[0].shape[1], size, size)
    for l, s in enumerate(strides):
        m = lv == l
        if m.any():
            out[m] = torchvision.ops.roi_align(feats[l], rois[m], size, 1.0 / s, 0, True)
    return out


def rle_fr_poly(xy, h, w):
    """The COCO API's rleFrPoly, returning a column-major bitmap."""
    k = len(xy) // 2
    scale = 5.0
    x = [int(scale * xy[2 * j] + .5) for j in range(k)] + [0]
    y = [int(scale * xy[2 * j + 1] + .5) for j in range(k)] + [0]
    x[k], y[k] = x[0], y[0]
    u, v = [], []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        s = (ye - ys) / dx if dx >= dy else (xe - xs) / dy
        if dx >= dy:
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + .5))
        else:
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + .5))
    px, py = [], []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + .5) / scale - .5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
        yd = (yd + .5) / scale - .5
        yd = 0 if yd < 0 else (h if yd > h else yd)
        px.append(int(xd))
        py.append(int(math.ceil(yd)))
    a = sorted([px[j] * h + py[j] for j in range(len(px))] + [h * w])
    bits = np.zeros(h * w, dtype=np.uint8)
    # Boundary points toggle the value; runs between toggles alternate.
    prev, val = 0, 0
    for t in a:
        bits[prev:t] = val
        if t != prev:
            pass
        val ^= 1
        prev = t
    return bits.reshape(w, h).T  # row-major h×w


def polys_to_bitmap(polys, h, w):
    m = np.zeros((h, w), dtype=np.uint8)
    for p in polys:
        m |= rle_fr_poly(p, h, w)
    return m


def roi_golden():
    torch.manual_seed(2)
    out = {}
    C, S, fc, K = 4, 7, 16, 3
    strides = [4, 8]
    feats = [torch.randn(2, C, 16, 20), torch.randn(2, C, 8, 10)]
    gts = [(torch.tensor([[4.0, 6.0, 40.0, 50.0], [30.0, 10.0, 76.0, 60.0]]), torch.tensor([2, 0])),
           (torch.tensor([[10.0, 12.0, 70.0, 58.0]]), torch.tensor([1]))]
    # Fixed samples: positives (box, gt index) then negatives, per image.
    samples = [
        ([[4.0, 6.0, 40.0, 50.0], [30.0, 10.0, 76.0, 60.0], [6.5, 5.0, 38.0, 47.5], [28.0, 14.0, 70.0, 63.0]], [0, 1, 0, 1],
         [[50.0, 40.0, 60.0, 62.0], [0.0, 0.0, 12.0, 9.0], [60.0, 0.0, 79.0, 20.0]]),
        ([[10.0, 12.0, 70.0, 58.0], [14.0, 10.0, 66.0, 60.0]], [0, 0],
         [[0.0, 40.0, 20.0, 63.0], [70.0, 2.0, 79.5, 30.0], [-20.0, -30.0, 110.0, 100.0]]),
    ]
    shared0, shared1 = torch.nn.Linear(C * S * S, fc), torch.nn.Linear(fc, fc)
    fc_cls, fc_reg = torch.nn.Linear(fc, K + 1), torch.nn.Linear(fc, 4 * K)
    for m in (shared0, shared1, fc_cls, fc_reg):
        torch.nn.init.normal_(m.weight, 0, 0.2)
        torch.nn.init.normal_(m.bias, 0, 0.2)
    names = (("shared_fcs.0", shared0), ("shared_fcs.1", shared1), ("fc_cls", fc_cls), ("fc_reg", fc_reg))
    for name, m in names:
        out[f"bbox/{name}.weight"], out[f"bbox/{name}.bias"] = m.weight.detach(), m.bias.detach()
    for l, f in enumerate(feats):
        out[f"feat{l}"] = f
    for i, (b, lab) in enumerate(gts):
        out[f"gt{i}"], out[f"gt_labels{i}"] = b, lab.float()
    rois, labels, targets = [], [], []
    stds = [0.1, 0.1, 0.2, 0.2]
    for i, (pos, posgt, neg) in enumerate(samples):
        pos_t, neg_t = torch.tensor(pos), torch.tensor(neg)
        out[f"pos{i}"], out[f"pos_gt{i}"], out[f"neg{i}"] = pos_t, torch.tensor(posgt).float(), neg_t
        for b in torch.cat([pos_t, neg_t]):
            rois.append(torch.cat([torch.tensor([float(i)]), b]))
        gi = torch.tensor(posgt)
        labels.append(torch.cat([gts[i][1][gi], torch.full((len(neg),), K)]))
        t = torch.zeros(len(pos) + len(neg), 4)
        t[:len(pos)] = encode(pos_t, gts[i][0][gi], stds)
        targets.append(t)
    rois = torch.stack(rois)
    labels, targets = torch.cat(labels), torch.cat(targets)
    fl = [f.clone().requires_grad_(True) for f in feats]
    x = extract(fl, rois, strides, S).flatten(1)
    x = F.relu(shared1(F.relu(shared0(x))))
    cls, reg = fc_cls(x), fc_reg(x)
    R = rois.shape[0]
    loss_cls = F.cross_entropy(cls, labels, reduction="none").sum() / (R + EPS)
    pos = labels < K
    pred = reg.view(R, -1, 4)[pos, labels[pos]]
    loss_bbox = (pred - targets[pos]).abs().sum() / (R + EPS)
    (loss_cls + loss_bbox).backward()
    out["bbox/loss_cls"], out["bbox/loss_bbox"] = loss_cls.detach().view(1), loss_bbox.detach().view(1)
    for name, m in names:
        out[f"bbox/grad/{name}.weight"], out[f"bbox/grad/{name}.bias"] = m.weight.grad, m.bias.grad
    for l, f in enumerate(fl):
        out[f"bbox/grad/feat{l}"] = f.grad
    # Prediction on the same RoIs as proposals: softmax, per-class decode
    # clipped to (63, 79), score_thr 0.05, batched NMS 0.5, max 100.
    img_shapes = [(63, 79), (60, 75)]
    out["img_shapes"] = torch.tensor(img_shapes, dtype=torch.float32)
    scores = F.softmax(cls.detach(), -1)
    for i in range(2):
        m = rois[:, 0] == i
        sc, rg, rb = scores[m], reg.detach()[m], rois[m, 1:]
        n = rb.shape[0]
        boxes = decode(rb.repeat_interleave(K, 0), rg.reshape(-1, 4), stds, img_shapes[i]).view(n, K, 4)
        s = sc[:, :-1]
        labs = torch.arange(K).expand_as(s)
        boxes, s, labs = boxes.reshape(-1, 4), s.reshape(-1), labs.reshape(-1)
        v = s > 0.05
        boxes, s, labs = boxes[v], s[v], labs[v]
        keep = batched_nms(boxes, s, labs, 0.5)[:100]
        out[f"det_boxes{i}"], out[f"det_scores{i}"], out[f"det_labels{i}"] = boxes[keep], s[keep], labs[keep].float()

    # ---- masks: targets from polygons and a bitmap, loss on a small head.
    Hm, Wm, M = 40, 50, 28
    polys = [[[5.0, 4.0, 30.0, 6.0, 26.0, 33.0, 8.0, 30.0]],
             [[20.5, 10.0, 45.0, 12.5, 44.0, 37.0], [22.0, 30.0, 30.0, 30.0, 26.0, 38.0]]]
    bitmap = np.zeros((Hm, Wm), dtype=np.uint8)
    yy, xx = np.mgrid[:Hm, :Wm]
    bitmap[((xx - 25) ** 2 / 144 + (yy - 20) ** 2 / 64) <= 1] = 1
    mboxes = np.array([[4.0, 3.0, 31.0, 34.0], [3.3, 5.7, 20.2, 25.1], [19.0, 9.0, 47.0, 40.0],
                       [-3.0, 20.0, 30.0, 45.0], [12.0, 11.0, 38.0, 29.0], [14.5, 9.5, 36.2, 31.7]], dtype=np.float32)
    mgt = [0, 0, 1, 1, 2, 2]
    for k, p in enumerate(polys):
        for j, q in enumerate(p):
            out[f"mask/poly{k}_{j}"] = torch.tensor(q)
    out["mask/bitmap"] = torch.from_numpy(bitmap.astype(np.float32))
    out["mask/boxes"] = torch.from_numpy(mboxes)
    out["mask/gt"] = torch.tensor(mgt).float()
    tg = []
    for b, g in zip(mboxes, mgt):
        b = b.copy()
        b[[0, 2]] = np.clip(b[[0, 2]], 0, Wm)
        b[[1, 3]] = np.clip(b[[1, 3]], 0, Hm)
        if g < 2:
            x1, y1, x2, y2 = b
            w, h = np.maximum(x2 - x1, 1), np.maximum(y2 - y1, 1)
            hs, ws = M / max(h, 0.1), M / max(w, 0.1)
            rp = []
            for q in polys[g]:
                q = np.array(q, dtype=np.float64)
                q[0::2] = (q[0::2] - b[0]) * ws
                q[1::2] = (q[1::2] - b[1]) * hs
                rp.append(list(q))
            tg.append(polys_to_bitmap(rp, M, M).astype(np.float32))
        else:
            r = torchvision.ops.roi_align(torch.from_numpy(bitmap.astype(np.float32))[None, None],
                                          torch.tensor([[0.0, *b]]), (M, M), 1.0, 0, True)
            tg.append((r[0, 0] >= 0.5).numpy().astype(np.float32))
    mtargets = torch.from_numpy(np.stack(tg))
    out["mask/targets"] = mtargets
    Cm, Co, Km = 4, 6, 3
    convs = [torch.nn.Conv2d(Cm, Co, 3, padding=1), torch.nn.Conv2d(Co, Co, 3, padding=1)]
    up = torch.nn.ConvTranspose2d(Co, Co, 2, stride=2)
    logits_conv = torch.nn.Conv2d(Co, Km, 1)
    mnames = (("convs.0.conv", convs[0]), ("convs.1.conv", convs[1]), ("upsample", up), ("conv_logits", logits_conv))
    for name, m in mnames:
        torch.nn.init.normal_(m.weight, 0, 0.3)
        torch.nn.init.normal_(m.bias, 0, 0.1)
        out[f"mask/{name}.weight"], out[f"mask/{name}.bias"] = m.weight.detach(), m.bias.detach()
    xm = torch.randn(len(mboxes), Cm, 14, 14, requires_grad=True)
    mlabels = torch.tensor([2, 0, 1, 1, 0, 2])
    out["mask/x"], out["mask/labels"] = xm.detach(), mlabels.float()
    y = xm
    for c in convs:
        y = F.relu(c(y))
    y = logits_conv(F.relu(up(y)))
    sel = y[torch.arange(len(mboxes)), mlabels]
    loss_mask = F.binary_cross_entropy_with_logits(sel, mtargets, reduction="mean")
    loss_mask.backward()
    out["mask/loss"] = loss_mask.detach().view(1)
    out["mask/grad/x"] = xm.grad
    for name, m in mnames:
        out[f"mask/grad/{name}.weight"], out[f"mask/grad/{name}.bias"] = m.weight.grad, m.bias.grad

    # ---- paste (_do_paste_mask, skip_empty, one box at a time).
    ph, pw = 37, 45
    probs = torch.rand(5, 1, M, M)
    probs[3] = 0.5  # exactly at the threshold inside the box
    pboxes = torch.tensor([[3.2, 4.7, 30.9, 20.1], [-5.0, -3.0, 12.0, 40.0], [20.0, 10.0, 50.0, 45.0],
                           [10.0, 10.0, 20.0, 22.0], [7.25, 30.5, 9.75, 36.0]])
    out["paste/probs"], out["paste/boxes"] = probs[:, 0], pboxes
    pasted = torch.zeros(5, ph, pw)
    for i in range(5):
        b = pboxes[i:i + 1]
        x0i, y0i = torch.clamp(b.min(dim=0).values.floor()[:2] - 1, min=0).to(dtype=torch.int32)
        x1i = torch.clamp(b[:, 2].max().ceil() + 1, max=pw).to(dtype=torch.int32)
        y1i = torch.clamp(b[:, 3].max().ceil() + 1, max=ph).to(dtype=torch.int32)
        x0, y0, x1, y1 = torch.split(b, 1, dim=1)
        iy = torch.arange(y0i, y1i).to(torch.float32) + 0.5
        ix = torch.arange(x0i, x1i).to(torch.float32) + 0.5
        iy = (iy - y0) / (y1 - y0) * 2 - 1
        ix = (ix - x0) / (x1 - x0) * 2 - 1
        gx = ix[:, None, :].expand(1, iy.size(1), ix.size(1))
        gy = iy[:, :, None].expand(1, iy.size(1), ix.size(1))
        grid = torch.stack([gx, gy], dim=3)
        v = F.grid_sample(probs[i:i + 1], grid, align_corners=False)
        pasted[i, y0i:y1i, x0i:x1i] = v[0, 0]
    out["paste/values"] = pasted
    out["paste/shape"] = torch.tensor([float(ph), float(pw)])
    st.save(os.path.join(ROOT, "heads", "roi", "testdata", "roi.safetensors"), out)


if __name__ == "__main__":
    os.makedirs(os.path.join(ROOT, "heads", "rpn", "testdata"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "heads", "roi", "testdata"), exist_ok=True)
    rpn_golden()
    roi_golden()
